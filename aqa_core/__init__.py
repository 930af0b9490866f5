"""AQA engine: everything that turns a dive video into scores. Imports neither Qt nor a database."""

__version__ = "0.1.0"
