"""Managing bundles in the registry: rename, delete (never the active one; records kept), export, import, and the desk's model at start-up."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from app.storage.database import open_database
from app.storage.errors import StorageError
from app.storage.model_registry import (
    activate,
    active_model,
    delete_model,
    desk_model,
    export_bundle,
    import_bundle,
    list_models,
    model_of,
    register_bundle,
    rename,
)
from aqa_core.bundle import load_bundle
from tests.test_model_registry import TEST_A, TEST_B, bundle


@pytest.fixture
def db(tmp_path: Path):  # noqa: ANN201
    with open_database(tmp_path / "club.sqlite") as database:
        yield database


def test_rename_is_the_registrys_name_only(db, tmp_path: Path) -> None:  # noqa: ANN001
    a = bundle(tmp_path / "a", 0, "1", TEST_A)
    before = (a / "bundle.json").read_bytes()
    first, second = register_bundle(db, a), register_bundle(db, bundle(tmp_path / "b", 1, "2", TEST_B))
    renamed = rename(db, first, "  Club   model\tspring ")
    assert renamed.label == "Club model spring" and (renamed.name, renamed.version) == ("tiny-app-7", "1")
    assert (a / "bundle.json").read_bytes() == before  # the bundle, and the analyses naming it, are untouched
    with pytest.raises(StorageError, match="another model is already called 'Club model spring'"):
        rename(db, second, "Club model spring")
    with pytest.raises(StorageError, match="at most 200 characters"):
        rename(db, second, "x" * 201)
    assert rename(db, first, "   ").label == "tiny-app-7 v1"  # blank: back to the bundle's own name


def test_delete_never_the_active_one_and_the_record_stays(db, tmp_path: Path) -> None:  # noqa: ANN001
    owned = tmp_path / "home"
    mine = bundle(owned / "training_runs" / "r1" / "bundle", 0, "1", TEST_A)  # trained by the app
    theirs = bundle(tmp_path / "elsewhere", 1, "2", TEST_B)  # a folder the user opened
    mine_id, theirs_id = register_bundle(db, mine), register_bundle(db, theirs)
    activate(db, mine_id)
    with pytest.raises(StorageError, match="tiny-app-7 v1 is the desk's model; make another one active before deleting it"):
        delete_model(db, mine_id, owned)
    assert mine.is_dir() and len(list_models(db)) == 2
    row, removed = delete_model(db, theirs_id, owned)
    assert removed is None and theirs.is_dir()  # not ours to remove
    with pytest.raises(StorageError, match="its bundle was deleted"):
        activate(db, theirs_id)
    activate(db, mine_id)
    assert [r.id for r in list_models(db)] == [mine_id]
    assert model_of(db, "tiny-app-7", "2").deleted and model_of(db, "tiny-app-7", "2").test == TEST_B  # analyses keep their record
    assert [r.id for r in list_models(db, deleted=True)] == [theirs_id, mine_id]
    register_bundle(db, theirs)  # opened again: listed again, the same entry
    assert {r.id for r in list_models(db)} == {mine_id, theirs_id}
    second = bundle(owned / "training_runs" / "r2" / "bundle", 2, "3", TEST_B)
    _, removed = delete_model(db, register_bundle(db, second), owned)
    assert removed == second and not second.exists()


def test_export_to_a_zip_and_a_folder_then_import_elsewhere(db, tmp_path: Path) -> None:  # noqa: ANN001
    a = bundle(tmp_path / "a", 0, "1", TEST_A)
    sent = export_bundle(a, tmp_path / "out" / "club.zip")
    with zipfile.ZipFile(sent) as archive:
        assert sorted(archive.namelist()) == ["bundle.json", "weights.safetensors"]
    folder = export_bundle(a, tmp_path / "out" / "copy")
    assert (folder / "weights.safetensors").read_bytes() == (a / "weights.safetensors").read_bytes()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["club.zip", "copy"]  # no temporary left behind
    with pytest.raises(StorageError, match="club.zip: already exists"):
        export_bundle(a, sent)

    with open_database(tmp_path / "other.sqlite") as other:  # the club that received the file
        row = import_bundle(other, sent, tmp_path / "models")
        assert row.label == "tiny-app-7 v1" and row.test == TEST_A
        assert Path(row.path).parent == tmp_path / "models"
        assert load_bundle(row.path).state_dict.keys() == load_bundle(a).state_dict.keys()
        with pytest.raises(StorageError, match="club.zip: this model is already in the list as 'tiny-app-7 v1'"):
            import_bundle(other, sent, tmp_path / "models")
        with pytest.raises(StorageError, match="copy: this model is already in the list"):
            import_bundle(other, folder, tmp_path / "models")
        assert len(list_models(other)) == 1
        assert [p.name for p in (tmp_path / "models").iterdir()] == [Path(row.path).name]  # no staging left


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_a_broken_bundle_file_is_one_line(db, tmp_path: Path) -> None:  # noqa: ANN001
    a = bundle(tmp_path / "a", 0, "1", TEST_A)
    manifest, weights = (a / "bundle.json").read_bytes(), (a / "weights.safetensors").read_bytes()
    models = tmp_path / "models"
    cases = {
        "text.zip": (b"not a zip at all", "text.zip: not a readable model bundle archive"),
        "extra.zip": ({"bundle.json": manifest, "weights.safetensors": weights, "../evil.sh": b"rm"}, "extra.zip: not a model bundle archive"),
        "half.zip": ({"bundle.json": manifest}, "half.zip: not a model bundle archive .*holds bundle.json"),
        "bad_weights.zip": ({"bundle.json": manifest, "weights.safetensors": b"\x00" * 64}, "bad_weights.zip: .*weights.safetensors"),
        "edited.zip": ({"bundle.json": manifest.replace(b'"version": "1"', b'"version": "9"'), "weights.safetensors": weights},
                       "edited.zip: .*fingerprint"),
    }
    for name, (content, message) in cases.items():
        path = tmp_path / name
        path.write_bytes(content) if isinstance(content, bytes) else _zip(path, content)
        with pytest.raises(StorageError, match=message) as caught:
            import_bundle(db, path, models)
        assert "\n" not in str(caught.value) and str(tmp_path / "models") not in str(caught.value)  # names the file sent
    with pytest.raises(StorageError, match="nothing.zip: no such file"):
        import_bundle(db, tmp_path / "nothing.zip", models)
    assert list_models(db) == [] and list(models.iterdir()) == []


def test_the_desk_model_at_start_up(db, tmp_path: Path) -> None:  # noqa: ANN001
    default = bundle(tmp_path / "default", 0, "demo", TEST_A)
    loaded, message = desk_model(db, default)  # first start: the default is registered and becomes the active one
    assert (loaded.version, message) == ("demo", None) and active_model(db).version == "demo"
    club = register_bundle(db, bundle(tmp_path / "club", 1, "club", TEST_B))
    activate(db, club)
    loaded, message = desk_model(db, default)
    assert (loaded.version, message) == ("club", None) and len(list_models(db)) == 2  # the default is not registered twice
    (tmp_path / "club" / "weights.safetensors").write_bytes(b"broken")
    loaded, message = desk_model(db, default)
    assert loaded.version == "demo" and active_model(db).version == "demo"
    assert message.startswith("The desk's model tiny-app-7 club cannot be loaded (") and "weights.safetensors" in message
    assert message.endswith("; the desk uses the default model tiny-app-7 demo instead")
    activate(db, club)
    (tmp_path / "club" / "bundle.json").unlink()
    loaded, message = desk_model(db, None)  # no default installed either: no model, and why
    assert loaded is None and "cannot be loaded" in message and message.endswith("no default model is installed")
