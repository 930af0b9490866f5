"""``aqa-judge sessions export|import|export-dataset``: moving review sessions between clubs and into training.

The storage layer (SQLAlchemy, Alembic) is imported inside the handlers so other commands start fast.
Every name, path or conflict printed here comes from a file, so it goes through ``terminal_safe``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from app.storage.session_values import POLICIES
from cli.safe_text import terminal_safe


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("sessions", help="export or import review sessions, or export a training dataset")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    export = verbs.add_parser("export", help="write every dive and analysis to JSON (complete) or CSV (one row per dive)")
    _db_option(export)
    export.add_argument("--format", choices=("json", "csv"), default=None, help="default: from OUT's suffix")
    export.add_argument("out", type=Path, metavar="OUT")
    export.set_defaults(handler=_export)

    imp = verbs.add_parser("import", help="merge a JSON or CSV session export; dives already present are skipped, conflicts reported")
    _db_option(imp)
    imp.add_argument(
        "--on-conflict", choices=POLICIES, default="keep-both",
        help="a uuid already stored with other content: keep both (default), keep the stored one, or replace it with the file's",
    )  # fmt: skip
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
    from app.storage.database import default_database_path, open_database
    from app.storage.exporters import export_session

    fmt = args.format or ("csv" if args.out.suffix.lower() == ".csv" else "json")
    path = args.db or default_database_path()
    existed = path.is_file() and path.stat().st_size > 0
    with open_database(args.db) as db:
        count = export_session(db, args.out, fmt)
        where = "the default database" if args.db is None else "database"
        print(terminal_safe(f"exported {count} dives from {where} {db.path} to {args.out}"))
    if count == 0:
        why = "it did not exist, so an empty one was created" if not existed else "it holds no dives"
        print(terminal_safe(f"nothing to export: {why}; give --db FILE to read another sessions database"))
    return 0


def _import(args: argparse.Namespace) -> int:
    from app.storage.database import open_database
    from app.storage.exporters import import_session

    with open_database(args.db) as db:
        report = import_session(db, args.file, args.on_conflict)
        print(terminal_safe(f"imported {args.file} into {db.path}"))
    print(
        f"imported {report.dives_added} new dives ({report.dives_already_present} already present, {report.dives_replaced} replaced, "
        f"{report.dives_skipped} skipped), {report.analyses_added} analyses, {report.notes_added} notes"
    )
    for conflict in report.conflicts:
        print(terminal_safe(f"conflict: {conflict.describe()}"))
    return 0


def _export_dataset(args: argparse.Namespace) -> int:
    from app.storage.database import open_database
    from app.storage.exporters import export_dataset

    with open_database(args.db) as db:
        count = export_dataset(db, args.out_dir, args.videos)
    print(f"wrote {count} dives to {args.out_dir / 'annotations.csv'}")
    return 0
