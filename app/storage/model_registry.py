"""The club's model registry: every bundle trained here or loaded by the desk, which one is active, and comparing two.

An entry is keyed by the bundle's content fingerprint (bundle.json's ``fingerprint``, the hash
of its manifest, which covers the weights' hash): the same bundle copied to another folder is one
entry (its new place is recorded), and a different bundle that reuses a name and version is refused
rather than silently taking the old entry's history. The figures compared are the ones the data
card recorded on the run's own test split, never recomputed here; two models are only called
comparable when they were tested on the same dataset file's same test dives.

Managing bundles: a rename is the registry's display name only (the bundle, and the analyses
naming it, keep its name and version); deleting never touches the desk's active model, removes
the bundle's files only where the app itself put them (its runs and imported models) and keeps
the entry, marked deleted, so stored analyses still find their model's data card. Export copies
a bundle to a folder or a ``.zip`` atomically (nothing half-written under the chosen name);
import takes such a file or folder, checks it as the desk's loader would, and refuses a
duplicate by its fingerprint.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from app.storage.database import Database
from app.storage.errors import StorageError
from app.storage.models import ModelEntry, utc_now
from aqa_core.files import size_text
from aqa_core.option_names import model_label

MANIFEST = "bundle.json"  # aqa_core.bundle.MANIFEST (not imported: that module imports torch)
WEIGHTS = "weights.safetensors"  # aqa_core.bundle.WEIGHTS
BUNDLE_FILES = (MANIFEST, WEIGHTS)  # what a bundle is: exported, imported, deleted
MAX_MANIFEST_BYTES = 4 << 20
MAX_IMPORT_BYTES = 1 << 30  # far above any heads-only bundle: a bigger archive is not one
MAX_DISPLAY_NAME = 200
# (data card test key, label, how to show it)
COMPARED: tuple[tuple[str, str, str], ...] = (
    ("rho", "Spearman ρ", "{:.3f}"),
    ("rl2", "relative ℓ2", "{:.3f}"),
    ("final_mae", "final-score MAE (points)", "{:.2f}"),
    ("judge_mae_mean", "judge MAE (marks)", "{:.2f}"),
    ("coverage", "interval coverage", "coverage"),
    ("unfamiliar_rate", "unfamiliar-footage rate", "{:.0%}"),
)


@dataclass(frozen=True)
class ModelRow:
    id: int
    name: str
    version: str
    fingerprint: str | None
    path: str | None
    data_card: dict[str, Any]
    active: bool
    registered_at: datetime
    display_name: str | None = None
    deleted: bool = False

    @property
    def label(self) -> str:
        """What people call it: the club's display name, else the bundle's name and version."""
        return self.display_name or model_label(self.name, self.version)

    @property
    def test(self) -> dict[str, Any]:
        return self.data_card.get("test") or {}


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """bundle.json of a bundle folder: name, version, data card, fingerprint; one line naming the file if unreadable."""
    path = Path(folder) / MANIFEST
    try:
        if path.stat().st_size > MAX_MANIFEST_BYTES:
            raise StorageError(f"{path}: larger than any model manifest ({MAX_MANIFEST_BYTES >> 20} MiB); not registering it")
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise StorageError(f"{path}: cannot read the model manifest ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise StorageError(f"{path}: not a model manifest ({exc})") from None
    fingerprint = manifest.get("fingerprint") if isinstance(manifest, dict) else None
    if not isinstance(fingerprint, dict) or not isinstance(fingerprint.get("manifest_sha256"), str):
        raise StorageError(f"{path}: the bundle has no content fingerprint (written before fingerprints); retrain or reseal it")
    return manifest


def register_bundle(db: Database, folder: str | Path) -> int:
    """The entry of the bundle in ``folder`` (new, or the existing one with its place updated)."""
    manifest = read_manifest(folder)
    fingerprint = manifest["fingerprint"]["manifest_sha256"]
    name, version = str(manifest.get("name", "model")), str(manifest.get("version", "?"))
    where = str(Path(folder).resolve())
    with db.transaction("registering the model") as session:
        entry = session.scalar(select(ModelEntry).where(ModelEntry.fingerprint == fingerprint))
        if entry is None:
            named = session.scalar(select(ModelEntry).where(ModelEntry.name == name, ModelEntry.version == version))
            if named is not None and named.fingerprint not in (None, fingerprint):
                raise StorageError(f"{where}: a different model is already registered as {name} {version}; give this one another version")
            entry = named or ModelEntry(name=name, version=version)
            session.add(entry)
        entry.deleted_at = None  # registered again (imported anew, or its folder opened): listed again
        entry.fingerprint = fingerprint
        entry.path = where
        entry.data_card_json = json.dumps(manifest.get("data_card") or {})
        session.flush()
        return entry.id


def list_models(db: Database, deleted: bool = False) -> list[ModelRow]:
    """The entries, newest first; ``deleted``: also those whose bundle was deleted (their records stay)."""
    query = select(ModelEntry).order_by(ModelEntry.registered_at.desc(), ModelEntry.id.desc())
    if not deleted:
        query = query.where(ModelEntry.deleted_at.is_(None))
    with db.reading("listing the models") as session:
        return [_row(e) for e in session.scalars(query)]


def model_of(db: Database, name: str, version: str) -> ModelRow | None:
    """The entry an analysis names (deleted ones too: the analysis keeps its model's record)."""
    with db.reading("finding an analysis's model") as session:
        entry = session.scalar(select(ModelEntry).where(ModelEntry.name == name, ModelEntry.version == version))
        return None if entry is None else _row(entry)


def rename(db: Database, entry_id: int, display_name: str) -> ModelRow:
    """The club's name for an entry; blank goes back to the bundle's name and version. The bundle is untouched."""
    text = " ".join(display_name.split())
    if len(text) > MAX_DISPLAY_NAME:
        raise StorageError(f"a model's name has at most {MAX_DISPLAY_NAME} characters, this one {len(text)}")
    with db.transaction("renaming the model") as session:
        entry = _entry(session, db, entry_id)
        taken = session.scalar(select(ModelEntry).where(ModelEntry.display_name == text, ModelEntry.id != entry_id,
                                                        ModelEntry.deleted_at.is_(None))) if text else None
        if taken is not None:
            raise StorageError(f"another model is already called '{text}'")
        entry.display_name = text or None
        session.flush()
        return _row(entry)


def delete_model(db: Database, entry_id: int, owned: Path) -> tuple[ModelRow, Path | None]:
    """Delete an entry's bundle: (the entry, now marked deleted; the folder removed, or None when left in place).

    The desk's active model is refused (choose another first: the desk is never left without
    the model it shows). Files go only when the bundle lies inside ``owned`` (the app's data
    folder: its training runs and imported models); a folder the user opened from elsewhere is
    theirs and stays. The row stays either way, so analyses made with it keep their model record.
    """
    with db.transaction("deleting the model") as session:
        entry = _entry(session, db, entry_id)
        if entry.active:
            raise StorageError(f"{_row(entry).label} is the desk's model; make another one active before deleting it")
        folder = Path(entry.path) if entry.path else None
        removed = folder if folder is not None and folder.resolve().is_relative_to(Path(owned).resolve()) and folder.is_dir() else None
        entry.deleted_at = utc_now()
        session.flush()
        row = _row(entry)
    if removed is not None:  # after the commit: a failed removal leaves files, never a listed entry without them
        shutil.rmtree(removed, ignore_errors=True)
    return row, removed


def export_bundle(folder: str | Path, target: str | Path) -> Path:
    """Copy the bundle in ``folder`` to ``target``: a ``.zip`` file, else a new folder. Atomic: all or nothing there.

    The copy is made beside the target under a temporary name and renamed into place, so a
    full disk or a crash never leaves a half bundle under the name the user chose.
    """
    source, target = Path(folder), Path(target)
    read_manifest(source)  # only a real, fingerprinted bundle leaves
    missing = [name for name in BUNDLE_FILES if not (source / name).is_file()]
    if missing:
        raise StorageError(f"{source}: not a whole model bundle ({', '.join(missing)} missing)")
    if target.exists():
        raise StorageError(f"{target}: already exists; pick a new name")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
        try:
            if target.suffix.lower() == ".zip":
                archive = partial / target.name
                with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as out:
                    for name in BUNDLE_FILES:
                        out.write(source / name, name)
                os.replace(archive, target)
            else:
                copied = partial / "bundle"
                copied.mkdir()
                for name in BUNDLE_FILES:
                    shutil.copy2(source / name, copied / name)
                os.replace(copied, target)
        finally:
            shutil.rmtree(partial, ignore_errors=True)
    except OSError as exc:
        raise StorageError(f"{target}: cannot write the exported model ({exc.strerror or exc})") from None
    return target


def import_bundle(db: Database, source: str | Path, models_dir: str | Path) -> ModelRow:
    """A bundle someone sent (a ``.zip`` or a folder) into ``models_dir``, checked as the desk loads it, then registered.

    One line naming the file for anything wrong: not a zip, stray or missing members, an archive
    far larger than a bundle, a manifest or weights the bundle loader refuses. A bundle whose
    fingerprint is already listed is refused as a duplicate (naming the entry).
    """
    source, models_dir = Path(source), Path(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".import-", dir=models_dir))
    try:
        if source.is_dir():
            for name in BUNDLE_FILES:
                if not (source / name).is_file():
                    raise StorageError(f"{source}: not a model bundle ({name} missing)")
                shutil.copy2(source / name, staging / name)
        else:
            _unpack(source, staging)
        _check_loadable(staging, source)
        manifest = read_manifest(staging)
        fingerprint = manifest["fingerprint"]["manifest_sha256"]
        with db.reading("looking for the same model") as session:
            same = session.scalar(select(ModelEntry).where(ModelEntry.fingerprint == fingerprint, ModelEntry.deleted_at.is_(None)))
            if same is not None:
                raise StorageError(f"{source}: this model is already in the list as '{_row(same).label}'")
        place = models_dir / f"{_safe(str(manifest.get('name', 'model')))}-{_safe(str(manifest.get('version', '')))}-{fingerprint[:12]}"
        if place.exists():
            shutil.rmtree(place)  # a deleted entry's leftover copy of this very content
        os.replace(staging, place)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    entry_id = register_bundle(db, place)
    return next(row for row in list_models(db) if row.id == entry_id)


def _unpack(source: Path, staging: Path) -> None:
    """A bundle archive's two members into ``staging``, nothing else accepted (no paths, no bombs)."""
    try:
        with zipfile.ZipFile(source) as archive:
            infos = archive.infolist()
            names = sorted(info.filename for info in infos)
            if names != sorted(BUNDLE_FILES):
                raise StorageError(f"{source}: not a model bundle archive (it holds {', '.join(names[:4]) or 'nothing'}; "
                                   f"a bundle holds exactly {' and '.join(BUNDLE_FILES)})")
            total = sum(info.file_size for info in infos)
            if total > MAX_IMPORT_BYTES:
                raise StorageError(f"{source}: unpacks to {size_text(total)}, more than any model bundle ({size_text(MAX_IMPORT_BYTES)})")
            for info in infos:
                with archive.open(info) as member, (staging / info.filename).open("wb") as out:
                    shutil.copyfileobj(member, out)
    except FileNotFoundError:
        raise StorageError(f"{source}: no such file") from None
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError) as exc:  # RuntimeError: "encrypted"
        raise StorageError(f"{source}: not a readable model bundle archive ({exc})") from None


def _check_loadable(folder: Path, source: Path) -> None:
    """The bundle loader's own checks (manifest, fingerprint, weights' shapes and hash); its message names the sent file."""
    from aqa_core.bundle import load_bundle  # torch: this runs on a worker, never on the GUI thread
    from aqa_core.errors import AQAError

    try:
        load_bundle(folder)
    except AQAError as exc:
        raise StorageError(f"{source}: {str(exc).replace(str(folder) + os.sep, '')}") from None


def _safe(text: str) -> str:
    """A bundle's name as part of a folder name: letters, digits, dot, dash and underscore only."""
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in text)[:60] or "model"


def _entry(session: Any, db: Database, entry_id: int) -> ModelEntry:
    entry = session.get(ModelEntry, entry_id)
    if entry is None:
        raise StorageError(f"{db.path}: no model entry {entry_id}")
    return entry


def activate(db: Database, entry_id: int) -> ModelRow:
    """Make ``entry_id`` the desk's model (and no other). Stored analyses keep the model they name."""
    with db.transaction("choosing the desk's model") as session:
        entry = _entry(session, db, entry_id)
        if entry.deleted_at is not None:
            raise StorageError(f"{_row(entry).label}: its bundle was deleted")
        session.execute(update(ModelEntry).values(active=False))
        entry.active = True
        session.flush()
        return _row(entry)


def active_model(db: Database) -> ModelRow | None:
    with db.reading("finding the desk's model") as session:
        entry = session.scalar(select(ModelEntry).where(ModelEntry.active.is_(True)))
        return None if entry is None else _row(entry)


def desk_model(db: Database, default: Path | None) -> tuple[Any, str | None]:
    """At start-up: (the bundle the desk should score with, or None; a message for people, or None).

    The shipped default (demo) model is registered, so it is in the list like any other. The
    active entry is loaded with the desk's own loader; when there is none, or its bundle is gone
    or broken, the default is loaded instead, made active (the list then says what the desk
    really uses) and the message says why. Runs on a worker: loading imports torch.
    """
    from aqa_core.bundle import load_bundle
    from aqa_core.errors import AQAError, BundleError

    default_id, message = None, None
    if default is not None:
        try:
            default_id = register_bundle(db, default)
        except StorageError as exc:  # the desk still scores with it; the list just lacks it
            message = f"The default model is not in the list ({exc})"
    active = active_model(db)
    if active is not None and active.id != default_id:
        try:
            if not active.path:
                raise BundleError("no bundle folder is recorded for it")
            return load_bundle(active.path), message
        except AQAError as exc:
            message = f"The desk's model {active.label} cannot be loaded ({exc})"
    if default is None:
        return None, message and f"{message}; no default model is installed"
    bundle = load_bundle(default)
    if default_id is not None:
        activate(db, default_id)
    return bundle, message and f"{message}; the desk uses the default model {model_label(bundle.name, bundle.version)} instead"


def same_test_dives(a: ModelRow, b: ModelRow) -> bool:
    """Both tested on the same dataset file (its content hash) and the same number of test dives."""
    card_a, card_b = a.data_card, b.data_card
    return (
        bool(card_a.get("dataset_sha256")) and card_a.get("dataset_sha256") == card_b.get("dataset_sha256")
        and (card_a.get("split_sizes") or {}).get("test") == (card_b.get("split_sizes") or {}).get("test")
    )


def compare(a: ModelRow, b: ModelRow) -> list[tuple[str, str, str]]:
    """Rows (figure, a, b) of the two data cards' test figures, side by side; "—" where a card has none."""
    rows = [("model", a.label, b.label), ("test dives", *(str((m.data_card.get("split_sizes") or {}).get("test", "—")) for m in (a, b)))]
    rows.append(("dataset", *(str(m.data_card.get("dataset", "—")) for m in (a, b))))
    for key, label, fmt in COMPARED:
        rows.append((label, _shown(a.test.get(key), fmt), _shown(b.test.get(key), fmt)))
    return rows


def _shown(value: Any, fmt: str) -> str:
    if value is None:
        return "—"
    if fmt == "coverage":
        return ", ".join(f"{float(level):.0%}: {share:.0%}" for level, share in sorted(value.items()))
    return fmt.format(value)


def _row(entry: ModelEntry) -> ModelRow:
    return ModelRow(entry.id, entry.name, entry.version, entry.fingerprint, entry.path, json.loads(entry.data_card_json or "{}"),
                    bool(entry.active), entry.registered_at, entry.display_name, entry.deleted_at is not None)
