"""The club's model registry: every bundle trained here or loaded by the desk, which one is active, and comparing two.

An entry is keyed by the bundle's content fingerprint (bundle.json's ``fingerprint``, the hash
of its manifest, which covers the weights' hash): the same bundle copied to another folder is one
entry (its new place is recorded), and a different bundle that reuses a name and version is refused
rather than silently taking the old entry's history. The figures compared are the ones the data
card recorded on the run's own test split, never recomputed here; two models are only called
comparable when they were tested on the same dataset file's same test dives.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from app.storage.database import Database
from app.storage.errors import StorageError
from app.storage.models import ModelEntry

MANIFEST = "bundle.json"  # aqa_core.bundle.MANIFEST (not imported: that module imports torch)
MAX_MANIFEST_BYTES = 4 << 20
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

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}"

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
        entry.fingerprint = fingerprint
        entry.path = where
        entry.data_card_json = json.dumps(manifest.get("data_card") or {})
        session.flush()
        return entry.id


def list_models(db: Database) -> list[ModelRow]:
    with db.reading("listing the models") as session:
        return [_row(e) for e in session.scalars(select(ModelEntry).order_by(ModelEntry.registered_at.desc(), ModelEntry.id.desc()))]


def activate(db: Database, entry_id: int) -> ModelRow:
    """Make ``entry_id`` the desk's model (and no other). Stored analyses keep the model they name."""
    with db.transaction("choosing the desk's model") as session:
        entry = session.get(ModelEntry, entry_id)
        if entry is None:
            raise StorageError(f"{db.path}: no model entry {entry_id}")
        session.execute(update(ModelEntry).values(active=False))
        entry.active = True
        session.flush()
        return _row(entry)


def active_model(db: Database) -> ModelRow | None:
    with db.reading("finding the desk's model") as session:
        entry = session.scalar(select(ModelEntry).where(ModelEntry.active.is_(True)))
        return None if entry is None else _row(entry)


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
                    bool(entry.active), entry.registered_at)
