"""Entry point of ``aqa-judge``.

Each command group lives in its own module with a ``register(subparsers)`` function, so the
engine, trainer and app commands grow independently. Handlers return an exit code; an
``AQAError`` is printed as one plain line (no traceback) and exits with status 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from aqa_core.errors import AQAError

COMMAND_MODULES = (
    "cli.weights_commands",  # weights install, doctor
    "cli.rules_commands",  # final-score, dd
    "cli.score_commands",  # score
    "cli.data_commands",  # make-demo-data
    "cli.trainer_commands",  # train, evaluate
    "cli.app_commands",  # app
    "cli.session_commands",  # sessions export/import
    "cli.dataset_commands",  # dataset check
    "cli.find_dive_commands",  # find-dive
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aqa-judge", description="AQA Judge Assistant: diving scores from video.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except AQAError as exc:
        print(f"aqa-judge {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("aqa-judge: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
