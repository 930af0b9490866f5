"""Review sessions in SQLite: schema (models), opening and migrating (database), user actions
(repository), export/import (exporters), and the Qt bridge that keeps queries off the GUI
thread (background). Entry points: ``database.open_database(path)``, ``repository.Repository``.
"""
