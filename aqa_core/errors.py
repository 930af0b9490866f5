"""User-facing error types.

Every failure a judge or a club volunteer can cause (a bad file, missing weights, an impossible
score) is raised as an ``AQAError`` whose message names the file or value and the problem, so
the CLI and the GUI can show it as one line instead of a traceback.
"""

from __future__ import annotations


class AQAError(Exception):
    """Base of all errors that are shown to the user as a plain message."""


class VideoError(AQAError):
    """A video file is missing, empty, not a video, truncated or undecodable."""


class WeightsError(AQAError):
    """Backbone weights are missing, corrupt or of the wrong shape."""


class BundleError(AQAError):
    """A model bundle is missing, of an unknown format version, or does not match its config."""


class RuleError(AQAError):
    """Scores, panel sizes, dive numbers or difficulties that the diving rules refuse."""


class DatasetError(AQAError):
    """A dataset file or row that a reader refuses (the message names file, row and reason)."""
