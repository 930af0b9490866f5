"""The ``aqa-judge`` command line: a thin layer that dispatches to aqa_core, trainer and app."""
