"""Entry point of ``aqa-judge``.

Each command group lives in its own module with a ``register(subparsers)`` function, so the
engine, trainer and app commands grow independently. Handlers return an exit code; an
``AQAError`` (every bad input, bounded readers included) is printed as one plain line (no
traceback) and exits with status 2. Running out of memory or stack on an input is the same kind
of refusal. Any other exception is a bug: it is still one line, with exit status 70, and
``AQA_JUDGE_DEBUG=1`` shows its traceback. Every printed message goes through ``terminal_safe``
because it can quote a file's contents.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys
from collections.abc import Sequence

from aqa_core.errors import AQAError
from cli.safe_text import terminal_safe

EXIT_REFUSED = 2
EXIT_BUG = 70  # EX_SOFTWARE

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
    "cli.video_check_commands",  # video-check
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aqa-judge", description="AQA Judge Assistant: diving scores from video.")
    parser.add_argument("--self-test", action="store_true",
                        help="check this install headless (imports, window, database, scoring, one training step) and exit")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def _one_line_unraisable(unraisable: sys.UnraisableHookArgs) -> None:
    """An exception in a destructor (NumPy freeing an array a corrupt file half-built) is one line too."""
    print(f"aqa-judge: ignored {type(unraisable.exc_value).__name__} while cleaning up: {terminal_safe(unraisable.exc_value)}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; ``argv`` None: the process's own command line (the ``aqa-judge`` entry point), which exits next.

    Before that exit the heap is frozen (``gc.freeze``): the interpreter's last garbage
    collections then skip every object PyTorch and OpenVINO made, a few tenths of a second each
    ``score`` waited for after printing its result. Nothing else is skipped: atexit handlers
    run and the standard streams are flushed as always. Called with arguments (the tests)
    nothing is frozen.
    """
    status = run_command(argv)
    if argv is None:
        gc.freeze()
    return status


def run_command(argv: Sequence[str] | None) -> int:
    if not os.environ.get("AQA_JUDGE_DEBUG"):
        sys.unraisablehook = _one_line_unraisable
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.self_test:
        from cli.self_test import run_self_test

        return run_self_test()
    if args.command is None:
        parser.error("a COMMAND is required (or --self-test)")
    try:
        return int(args.handler(args) or 0)
    except AQAError as exc:
        print(f"aqa-judge {args.command}: {terminal_safe(exc)}", file=sys.stderr)
        return EXIT_REFUSED
    except (MemoryError, RecursionError) as exc:
        print(f"aqa-judge {args.command}: the input needs more {'memory' if isinstance(exc, MemoryError) else 'nesting'} than any real file; refusing it", file=sys.stderr)
        return EXIT_REFUSED
    except KeyboardInterrupt:
        print("aqa-judge: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - a bug; still one line for the user
        if os.environ.get("AQA_JUDGE_DEBUG"):
            raise
        print(f"aqa-judge {args.command}: internal error ({type(exc).__name__}: {terminal_safe(exc)}); please report it, AQA_JUDGE_DEBUG=1 shows the traceback", file=sys.stderr)
        return EXIT_BUG


if __name__ == "__main__":
    sys.exit(main())
