"""User-facing error types.

Every failure a judge or a club volunteer can cause (a bad file, missing weights, an impossible
score) is raised as an ``AQAError`` whose message names the file or value and the problem, so
the CLI and the GUI can show it as one line instead of a traceback.
"""

from __future__ import annotations

import re

_LINE_BREAKS = re.compile(r"\s*[\r\n\v\f\x85\u2028\u2029]+\s*")


class AQAError(Exception):
    """Base of all errors that are shown to the user as a plain message.

    The message is kept to one line (line breaks inside it, often from a library's own message,
    become spaces), so every place that shows it shows exactly one line.
    """

    def __init__(self, message: object = "", *args: object) -> None:
        super().__init__(_LINE_BREAKS.sub(" ", str(message)), *args)


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


class ConfigError(AQAError):
    """A model or training config that names an unknown part or gives a part a wrong argument."""


class ResultSchemaError(AQAError, ValueError):
    """A stored score result written in a newer schema than this version reads.

    A ValueError too, so the places that already treat an unreadable stored result as a miss (the
    analysis cache scores again) or refuse it with its reason (sessions import) do so with this line.
    """
