"""``aqa-judge sessions export|import|export-dataset``: moving review sessions between clubs and into training.

The storage layer (SQLAlchemy, Alembic) is imported inside the handlers so other commands start fast.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("sessions", help="export or import review sessions, or export a training dataset")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    export = verbs.add_parser("export", help="write every dive and analysis to JSON (complete) or CSV (one row per dive)")
    _db_option(export)
    export.add_argument("--format", choices=("json", "csv"), default=None, help="default: from OUT's suffix")
    export.add_argument("out", type=Path, metavar="OUT")
    export.set_defaults(handler=_export)

    imp = verbs.add_parser("import", help="merge a JSON or CSV session export; dives already present are skipped")
    _db_option(imp)
    imp.add_argument("file", type=Path, metavar="FILE")
    imp.set_defaults(handler=_import)

    dataset = verbs.add_parser("export-dataset", help="write dives with real judges' scores in the trainer's own layout")
    _db_option(dataset)
    dataset.add_argument("out_dir", type=Path, metavar="OUT_DIR")
    dataset.add_argument("--videos", type=Path, action="append", default=[], metavar="FOLDER", help="where to look for moved videos")
    dataset.set_defaults(handler=_export_dataset)


def _db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", type=Path, default=None, help="sessions database (default: the one in the user data folder)")


def _export(args: argparse.Namespace) -> int:
    from app.storage.database import open_database
    from app.storage.exporters import export_session

    fmt = args.format or ("csv" if args.out.suffix.lower() == ".csv" else "json")
    with open_database(args.db) as db:
        count = export_session(db, args.out, fmt)
    print(f"exported {count} dives to {args.out}")
    return 0


def _import(args: argparse.Namespace) -> int:
    from app.storage.database import open_database
    from app.storage.exporters import import_session

    with open_database(args.db) as db:
        report = import_session(db, args.file)
    print(f"imported {report.dives_added} new dives ({report.dives_already_present} already present), {report.analyses_added} analyses")
    return 0


def _export_dataset(args: argparse.Namespace) -> int:
    from app.storage.database import open_database
    from app.storage.exporters import export_dataset

    with open_database(args.db) as db:
        count = export_dataset(db, args.out_dir, args.videos)
    print(f"wrote {count} dives to {args.out_dir / 'annotations.csv'}")
    return 0
