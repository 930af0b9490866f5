"""The one error type of the storage layer.

Every database failure a user can cause or meet (a file that is not a database, a locked or
read-only file, a full disk, a database from a newer app) becomes a ``StorageError`` whose
message names the file and the problem, so the CLI and the GUI show one line, not a traceback.
"""

from __future__ import annotations

from aqa_core.errors import AQAError


class StorageError(AQAError):
    """A sessions database cannot be opened, read or written; nothing already saved is lost."""
