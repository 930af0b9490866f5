"""Hostile model bundles: corrupt, oversized, edited or inconsistent ones are refused with one line,
and nothing non-finite is ever presented as a score.

A tiny-backbone bundle is written per test; cases that need an I3D bundle copy the shipped demo
(``resources/models/demo_musdl``), whose weights are never changed. "Resealed" edits recompute the
manifest hash as a forger would, to reach the checks behind the fingerprint.
"""

from __future__ import annotations

import json
import shutil
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from hostile_support import assert_refused, sparse_file
from safetensors.torch import load_file, save_file

from aqa_core.backbones.i3d import PREPROCESSING as I3D_PREPROCESSING
from aqa_core.bundle import ModelBundle, bundle_from_model, build_model, default_bundle_path, load_bundle, manifest_sha256, save_bundle
from aqa_core.errors import BundleError
from aqa_core.methods import Method, build_method
from aqa_core.result import DiveInfo
from aqa_core.runtime import choose_runtime
from aqa_core.scorer import NonFiniteScores, Scorer
from aqa_core.weights import CONVERTED_SHA256, i3d_weights_path

CONFIGS = Path(__file__).resolve().parent.parent / "configs" / "models"
CARD = {"dataset": "unit test", "synthetic": True, "validation": {"rho": 0.88}}
CPU = choose_runtime("cpu", "float32", threads=1)
DIVE = DiveInfo(event="individual", panel_size=7, dive_number="107B", height=10.0, difficulty=3.0)


def tiny_model(seed: int = 1) -> Method:
    torch.manual_seed(seed)
    return build_method(json.loads((CONFIGS / "musdl_tiny.json").read_text()), with_backbone=False)


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    return save_bundle(bundle_from_model(tiny_model(), "t", "1", CARD), tmp_path / "tiny")


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    source = default_bundle_path()
    assert source is not None, "the shipped demo bundle is missing"
    return Path(shutil.copytree(source, tmp_path / "demo"))


def manifest(folder: Path) -> dict:
    return json.loads((folder / "bundle.json").read_text())


def write(folder: Path, data: dict, reseal: bool) -> None:
    if reseal:
        data["fingerprint"]["manifest_sha256"] = manifest_sha256(data)
    (folder / "bundle.json").write_text(json.dumps(data))


# --- the shipped demo bundle ----------------------------------------------------------------


def test_demo_bundle_carries_its_records() -> None:
    data = manifest(default_bundle_path())
    assert data["data_card"]["backbone"] == {"name": "i3d", "pretrained": True, "weights_sha256": CONVERTED_SHA256, "preprocessing": I3D_PREPROCESSING.description}
    assert set(data["fingerprint"]) == {"weights_sha256", "manifest_sha256"}
    assert load_bundle(default_bundle_path()).name == "demo_musdl"


@pytest.mark.skipif(not i3d_weights_path().is_file(), reason="the I3D weights are not installed")
def test_demo_bundle_scores_finite_on_the_installed_backbone() -> None:
    scorer = Scorer(load_bundle(default_bundle_path()), CPU)
    features = torch.from_numpy(np.random.default_rng(0).standard_normal((10, 1024)).astype(np.float32))
    result = scorer.score_features(features, DIVE, [[i] for i in range(10)], (0, 102), "features")
    assert np.isfinite(result.final.score) and 0 <= result.final.score <= 90


@pytest.mark.skipif(not i3d_weights_path().is_file(), reason="the I3D weights are not installed")
def test_installed_backbone_other_than_the_trained_one_is_refused(demo: Path) -> None:
    data = manifest(demo)
    data["data_card"]["backbone"]["weights_sha256"] = "0" * 64
    write(demo, data, reseal=True)
    bundle = load_bundle(demo)
    expected = "model bundle 'demo_musdl' was trained on I3D weights 000000000000…, the installed ones are 8bd40f270aae…; run `aqa-judge weights install` or retrain the model"
    assert_refused(lambda: build_model(bundle), expected, BundleError)


# --- manifest bytes ---------------------------------------------------------------------------

MANIFEST_BYTES: dict[str, tuple[Callable[[bytes], bytes], str]] = {
    "empty": (lambda b: b"", r"^{m}: not valid JSON \(Expecting value: line 1 column 1 \(char 0\)\)$"),
    "not JSON": (lambda b: b"{not json", r"^{m}: not valid JSON \(.+\)$"),
    "cut in half": (lambda b: b[: len(b) // 2], r"^{m}: not valid JSON \(.+\)$"),
    "latin-1": (lambda b: b"\xff\xfe" + b, r"^{m}: not UTF-8 text \(invalid start byte at byte 0\)$"),
    "a list": (lambda b: b"[1, 2]", "{m}: expected a JSON object"),
    "a string": (lambda b: b'"bundle"', "{m}: expected a JSON object"),
    "null": (lambda b: b"null", "{m}: expected a JSON object"),
    "100k open brackets": (lambda b: b"[" * 100_000, "{m}: JSON nested 100000 levels deep (at most 32); refusing it"),
    "100k nested objects": (lambda b: b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "{m}: JSON nested 100000 levels deep (at most 32); refusing it"),
    "33 levels": (lambda b: b"[" * 33 + b"]" * 33, "{m}: JSON nested 33 levels deep (at most 32); refusing it"),
    "deep inside the card": (lambda b: b.replace(b'"dataset"', b'"deep": ' + b"[" * 40 + b"]" * 40 + b', "dataset"', 1), "{m}: JSON nested 42 levels deep (at most 32); refusing it"),
    "5000-digit number": (lambda b: b'{"format_version": 1' + b"0" * 5000 + b"}", r"^{m}: not valid JSON \(.+\)$"),
    "brackets in strings do not count": (lambda b: b'{"x": "' + b"[" * 1000 + b'"}', "{m}: format_version None is not supported (this program reads versions 1 and 2)"),
}


@pytest.mark.parametrize("name", MANIFEST_BYTES)
def test_bad_manifest_bytes(tiny: Path, name: str) -> None:
    change, expected = MANIFEST_BYTES[name]
    path = tiny / "bundle.json"
    path.write_bytes(change(path.read_bytes()))
    expected = expected.replace("{m}", str(path).replace(".", r"\.") if expected.startswith("^") else str(path))
    assert_refused(lambda: load_bundle(tiny), expected, BundleError)


def test_sparse_manifest_is_refused_before_reading(tiny: Path) -> None:
    path = sparse_file(tiny / "bundle.json", 1 << 30)
    assert_refused(lambda: load_bundle(tiny), f"{path}: 1.0 GiB is too large for a bundle manifest (at most 4.0 MiB)", BundleError)


def test_byte_order_mark_is_read(tiny: Path) -> None:
    path = tiny / "bundle.json"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert load_bundle(tiny).name == "t"


def test_missing_folder_and_manifest(tmp_path: Path) -> None:
    assert_refused(lambda: load_bundle(tmp_path / "none"), f"{tmp_path / 'none'}: model bundle folder not found", BundleError)
    (tmp_path / "empty").mkdir()
    path = tmp_path / "empty" / "bundle.json"
    assert_refused(lambda: load_bundle(tmp_path / "empty"), f"{path}: missing; a model bundle folder holds bundle.json and weights.safetensors", BundleError)


# --- manifest content ---------------------------------------------------------------------------


@pytest.mark.parametrize("version", [0, 3, "1", None, True, 1.0, [1], {"v": 1}])
def test_format_versions(tiny: Path, version: object) -> None:
    data = manifest(tiny)
    data["format_version"] = version
    write(tiny, data, reseal=True)
    assert_refused(lambda: load_bundle(tiny), f"{tiny / 'bundle.json'}: format_version {version!r} is not supported (this program reads versions 1 and 2)", BundleError)


@pytest.mark.parametrize("key,kind", [("name", "str"), ("version", "str"), ("config", "dict"), ("data_card", "dict"), ("tensors", "dict")])
@pytest.mark.parametrize("value", ["missing", 7, None, ["x"]])
def test_missing_or_mistyped_keys(tiny: Path, key: str, kind: str, value: object) -> None:
    data = manifest(tiny)
    if value == "missing":
        del data[key]
    else:
        data[key] = value
    write(tiny, data, reseal=True)
    assert_refused(lambda: load_bundle(tiny), f"{tiny / 'bundle.json'}: '{key}' is missing or not a {kind}", BundleError)


SHOWN_TEXT = {
    "escape in the name": (("name",), "t\x1b[2J", "the name, version or data card holds control characters ('t\\x1b[2J'); refusing it"),
    "bell in the version": (("version",), "1\x07", "the name, version or data card holds control characters ('1\\x07'); refusing it"),
    "escape in the card": (("data_card", "dataset"), "demo\x1b]0;owned\x07", "the name, version or data card holds control characters ('demo\\x1b]0;owned\\x07'); refusing it"),
    "bidi override in a card key": (("data_card", "\u202eevil"), "x", "the name, version or data card holds control characters ('\\u202eevil'); refusing it"),
    "newline in the card": (("data_card", "intended_use"), "a\nb", "the name, version or data card holds control characters ('a\\nb'); refusing it"),
    "name of 201 characters": (("name",), "n" * 201, "'name' must be 1 to 200 characters, not 201"),
    "empty name": (("name",), "", "'name' must be 1 to 200 characters, not 0"),
    "version of 61 characters": (("version",), "v" * 61, "'version' must be 1 to 60 characters, not 61"),
}


@pytest.mark.parametrize("name", SHOWN_TEXT)
def test_text_shown_beside_scores_is_short_and_printable(tiny: Path, name: str) -> None:
    keys, value, reason = SHOWN_TEXT[name]
    data = manifest(tiny)
    node = data
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = value
    write(tiny, data, reseal=True)
    assert_refused(lambda: load_bundle(tiny), f"{tiny / 'bundle.json'}: {reason}", BundleError)


def test_bundle_without_fingerprint_is_refused_with_the_policy(tiny: Path) -> None:
    data = manifest(tiny)
    del data["fingerprint"]
    write(tiny, data, reseal=False)
    expected = (
        f"{tiny / 'bundle.json'}: has no fingerprint (written before bundles recorded the hashes of their weights and backbone), "
        "so what it would score cannot be checked; retrain it with `aqa-judge train`"
    )
    assert_refused(lambda: load_bundle(tiny), expected, BundleError)


@pytest.mark.parametrize("fingerprint", ["abc", 1, [], {}, {"weights_sha256": "a"}, {"weights_sha256": 1, "manifest_sha256": "b"}])
def test_malformed_fingerprint(tiny: Path, fingerprint: object) -> None:
    data = manifest(tiny)
    data["fingerprint"] = fingerprint
    write(tiny, data, reseal=False)
    assert_refused(lambda: load_bundle(tiny), f"{tiny / 'bundle.json'}: 'fingerprint' must hold weights_sha256 and manifest_sha256 strings", BundleError)


EDITS: dict[str, Callable[[dict], None]] = {
    "validation rho raised": lambda d: d["data_card"]["validation"].update(rho=0.99),
    "synthetic flag dropped": lambda d: d["data_card"].pop("synthetic"),
    "backbone swapped to i3d": lambda d: d["config"].update(backbone={"name": "i3d", "pretrained": True}),
    "backbone record edited": lambda d: d["data_card"]["backbone"].update(name="i3d"),
    "renamed": lambda d: d.update(name="judge-pro"),
    "bins changed": lambda d: d["config"]["head"].update(bins=41),
    "tensor list edited": lambda d: d["tensors"].clear(),
    "key added": lambda d: d.update(extra=1),
    "decoding changed": lambda d: d["config"].update(decoding="expectation"),
}


@pytest.mark.parametrize("name", EDITS)
def test_edits_after_writing_are_refused(tiny: Path, name: str) -> None:
    data = manifest(tiny)
    EDITS[name](data)
    write(tiny, data, reseal=False)
    expected = f"{tiny / 'bundle.json'}: was edited after the bundle was written (its content no longer matches its fingerprint); its data card may not describe this model"
    assert_refused(lambda: load_bundle(tiny), expected, BundleError)


def _backbone_case(name: str, data: dict) -> str:
    card, config = data["data_card"], data["config"]
    if name == "tiny backbone, card says i3d":
        config["backbone"] = {"name": "tiny", "feature_dim": 1024}
        return "config builds backbone 'tiny' (pretrained False) but the data card's figures were measured on 'i3d' (pretrained True); refusing it"
    if name == "pretrained false, card says pretrained":
        config["backbone"]["pretrained"] = False
        return "config builds backbone 'i3d' (pretrained False) but the data card's figures were measured on 'i3d' (pretrained True); refusing it"
    if name == "pretrained false in both":
        config["backbone"]["pretrained"] = card["backbone"]["pretrained"] = False
        return "an I3D backbone without its Kinetics-400 weights gives random features; refusing it"
    if name == "i3d without a weights hash":
        card["backbone"]["weights_sha256"] = None
        return "an I3D backbone without its Kinetics-400 weights gives random features; refusing it"
    if name == "other preprocessing":
        card["backbone"]["preprocessing"] = "rgb x/255"
        return f"trained on preprocessing 'rgb x/255', this program does {I3D_PREPROCESSING.description!r}"
    if name == "card names no backbone":
        del card["backbone"]
    elif name == "card backbone is a string":
        card["backbone"] = "i3d"
    elif name == "card backbone has an extra key":
        card["backbone"]["fine_tuned"] = True
    elif name == "config backbone missing":
        del config["backbone"]
        return "config.backbone is missing or not an object"
    elif name == "config backbone is a list":
        config["backbone"] = ["i3d"]
        return "config.backbone is missing or not an object"
    return "the data card does not name the backbone the model was trained on (data_card.backbone with name, pretrained, weights_sha256, preprocessing)"


BACKBONE_CASES = (
    "tiny backbone, card says i3d", "pretrained false, card says pretrained", "pretrained false in both", "i3d without a weights hash",
    "other preprocessing", "card names no backbone", "card backbone is a string", "card backbone has an extra key",
    "config backbone missing", "config backbone is a list",
)  # fmt: skip


@pytest.mark.parametrize("name", BACKBONE_CASES)
def test_a_bundle_only_runs_on_the_backbone_its_card_names(demo: Path, name: str) -> None:
    data = manifest(demo)
    reason = _backbone_case(name, data)
    write(demo, data, reseal=True)
    assert_refused(lambda: load_bundle(demo), f"{demo / 'bundle.json'}: {reason}", BundleError)


# --- weights ------------------------------------------------------------------------------------


def _first(state: dict[str, torch.Tensor]) -> str:
    return sorted(state)[0]


WEIGHT_CHANGES: dict[str, tuple[Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]], str]] = {
    "relabelled int32": (lambda s: {k: v.to(torch.int32) for k, v in s.items()}, "tensor {t} is int32, a bundle stores float32"),
    "float16": (lambda s: {k: v.half() for k, v in s.items()}, "tensor {t} is float16, a bundle stores float32"),
    "bfloat16": (lambda s: {k: v.bfloat16() for k, v in s.items()}, "tensor {t} is bfloat16, a bundle stores float32"),
    "float64": (lambda s: {k: v.double() for k, v in s.items()}, "tensor {t} is float64, a bundle stores float32"),
    "all NaN": (lambda s: {k: torch.full_like(v, float("nan")) for k, v in s.items()}, "tensor {t} holds NaN or infinity"),
    "one NaN": (lambda s: {**s, _first(s): s[_first(s)].clone().view(-1).index_fill_(0, torch.tensor([0]), float("nan")).view_as(s[_first(s)])}, "tensor {t} holds NaN or infinity"),
    "infinity": (lambda s: {**s, _first(s): torch.full_like(s[_first(s)], float("inf"))}, "tensor {t} holds NaN or infinity"),
    "other values": (lambda s: {k: v + 0.001 for k, v in s.items()}, "the weights are not the ones this bundle was written with (content hash differs from bundle.json's fingerprint)"),
    "zeros": (lambda s: {k: torch.zeros_like(v) for k, v in s.items()}, "the weights are not the ones this bundle was written with (content hash differs from bundle.json's fingerprint)"),
    "negated": (lambda s: {k: -v for k, v in s.items()}, "the weights are not the ones this bundle was written with (content hash differs from bundle.json's fingerprint)"),
    "missing tensor": (lambda s: {k: v for k, v in list(s.items())[1:]}, "tensors do not match the config (missing tensor {t})"),
    "extra tensor": (lambda s: {**s, "zzz.evil": torch.zeros(1)}, "tensors do not match the config (unexpected tensor zzz.evil)"),
}


@pytest.mark.parametrize("name", WEIGHT_CHANGES)
def test_bad_weights_are_refused(tiny: Path, name: str) -> None:
    change, reason = WEIGHT_CHANGES[name]
    path = tiny / "weights.safetensors"
    state = load_file(str(path))
    save_file(change(state), str(path))
    assert_refused(lambda: load_bundle(tiny), f"{path}: {reason.replace('{t}', _first(state))}", BundleError)


WEIGHT_BYTES: dict[str, Callable[[bytes], bytes]] = {
    "empty": lambda b: b"",
    "half": lambda b: b[: len(b) // 2],
    "header length 2**63": lambda b: struct.pack("<Q", 2**63) + b[8:],
    "header length past the end": lambda b: struct.pack("<Q", len(b)) + b[8:],
    "header not JSON": lambda b: b[:8] + b"]" + b[9:],
    "random": lambda b: np.random.default_rng(0).bytes(len(b)),
}


@pytest.mark.parametrize("name", WEIGHT_BYTES)
def test_corrupt_weight_files(tiny: Path, name: str) -> None:
    path = tiny / "weights.safetensors"
    path.write_bytes(WEIGHT_BYTES[name](path.read_bytes()))
    assert_refused(lambda: load_bundle(tiny), rf"^{path}: unreadable or corrupt safetensors file \(.+\)$", BundleError)


def test_huge_weights_file_is_refused_before_reading(tiny: Path) -> None:
    path = sparse_file(tiny / "weights.safetensors", 300 << 20)
    assert_refused(lambda: load_bundle(tiny), f"{path}: 300.0 MiB is too large for a bundle's heads (at most 256.0 MiB)", BundleError)


def test_missing_weights(tiny: Path) -> None:
    (tiny / "weights.safetensors").unlink()
    assert_refused(lambda: load_bundle(tiny), f"{tiny / 'weights.safetensors'}: missing", BundleError)


# --- scoring: nothing non-finite becomes a score ------------------------------------------------


def _scorer(scale: float | None = None, fill: float | None = None) -> Scorer:
    model = tiny_model()
    state = model.trainable_state_dict()
    if scale is not None or fill is not None:
        state = {k: (torch.full_like(v, fill) if fill is not None else v * scale) if "path_mlps" in k else v for k, v in state.items()}
    bundle = ModelBundle("t", "1", dict(model.config), dict(CARD), state)
    return Scorer(bundle, CPU)


def _features(value: float | None = None) -> torch.Tensor:
    features = torch.randn(10, 64)
    if value is not None:
        features[3, 5] = value
    return features


NON_FINITE = {
    "NaN feature": (dict(), float("nan"), "v: the backbone gave NaN or infinite clip features; no score can be given"),
    "infinite feature": (dict(), float("inf"), "v: the backbone gave NaN or infinite clip features; no score can be given"),
    "-infinite feature": (dict(), float("-inf"), "v: the backbone gave NaN or infinite clip features; no score can be given"),
    "NaN head weights": (dict(fill=float("nan")), None, "model 't' gave NaN or infinite clip logits; no score can be given (check the bundle and the video)"),
    "overflowing head weights": (dict(scale=1e38), None, "model 't' gave NaN or infinite clip logits; no score can be given (check the bundle and the video)"),
    "infinite head weights": (dict(fill=float("inf")), None, "model 't' gave NaN or infinite clip logits; no score can be given (check the bundle and the video)"),
}


@pytest.mark.parametrize("name", NON_FINITE)
def test_non_finite_scoring_raises(name: str) -> None:
    options, value, expected = NON_FINITE[name]
    scorer = _scorer(**options)
    assert_refused(lambda: scorer.score_features(_features(value), DIVE, [[i] for i in range(10)], (0, 102), "v"), expected, NonFiniteScores)


def test_finite_scoring_is_a_correct_result() -> None:
    result = _scorer().score_features(_features(), DIVE, [[i] for i in range(10)], (0, 102), "v")
    assert np.isfinite(result.final.score) and all(np.isfinite(j.estimate.score) for j in result.judges)
