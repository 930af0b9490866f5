"""``aqa-judge final-score`` and ``aqa-judge dd``: the diving rules at the command line.

Scores arrive as text and are validated by the rules (not by argparse), so a mistyped award is
reported as "J6: judge score '8.3' is not on the half-point grid" rather than a usage error.
"""

from __future__ import annotations

import argparse

from aqa_core.rules import HEIGHTS, apply_panel_rule, judge_labels, make_dive_info, parse_dive, table_entries
from aqa_core.rules import difficulty as lookup_difficulty


def register(subparsers: argparse._SubParsersAction) -> None:
    final = subparsers.add_parser(
        "final-score",
        help="points of one dive from the judges' awards and the DD",
        description="Apply the FINA drop rule to a panel's awards and multiply by the DD "
        "(x 0.6 in synchronised events). Synchronised panels are given as E1..E4/E6 then S1..S5.",
    )
    final.add_argument("scores", nargs="+", metavar="SCORE", help="the awards in panel order (5, 7, 9 or 11)")
    final.add_argument("--event", default="individual", help="individual (default) or synchronised")
    final.add_argument("--dd", help="degree of difficulty; instead of --dive/--height")
    final.add_argument("--dive", help="FINA dive number, to look the DD up (with --height)")
    final.add_argument("--height", type=float, help="board or platform height in metres")
    final.add_argument("--verbose", action="store_true", help="also show which awards count")
    final.set_defaults(handler=final_score)

    dd = subparsers.add_parser("dd", help="describe a dive number and look up its DD")
    dd.add_argument("dive", help="FINA dive number, e.g. 5253B")
    dd.add_argument("--height", type=float, help=f"height in metres ({', '.join(f'{h:g}' for h in HEIGHTS)}); all listed heights when left out")
    dd.set_defaults(handler=show_dd)


def final_score(args: argparse.Namespace) -> int:
    sheet = make_dive_info(args.event, len(args.scores), args.dive, args.height, args.dd)
    outcome = apply_panel_rule(args.scores, sheet.event, sheet.difficulty)
    if args.verbose:
        labels = judge_labels(sheet.event, len(args.scores))
        marks = [f"{label}={float(score):g}" for label, score in zip(labels, args.scores)]
        print("kept:    " + " ".join(marks[i] for i in outcome.kept))
        print("dropped: " + " ".join(marks[i] for i in outcome.dropped))
        factor = f" x {outcome.multiplier:g}" if outcome.multiplier != 1.0 else ""
        print(f"{outcome.kept_sum:g} x DD {sheet.difficulty:g}{factor} =")
    print(f"{outcome.final:.2f}")
    return 0


def show_dd(args: argparse.Namespace) -> int:
    dive = parse_dive(args.dive)
    if args.height is not None:
        print(f"{dive.code}  {dive.describe()}  {args.height:g} m  DD {lookup_difficulty(dive.code, args.height):.1f}")
        return 0
    entries = table_entries(dive.code)
    listed = "  ".join(f"{h:g} m: {dd:.1f}" for h, dd in entries.items()) or "not in the DD table"
    print(f"{dive.code}  {dive.describe()}  {listed}")
    return 0
