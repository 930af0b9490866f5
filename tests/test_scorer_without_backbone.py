"""A cached OpenVINO choice scores without building the PyTorch backbone, and scores as the backbone does.

``Scorer.measured`` skips reading and folding the I3D's 50 MB of weights when the cached engine is
OpenVINO's saved model, which is named by the same verified weights hash as the choice. Here on the
tiny backbone standing in for the I3D (its "installed weights hash" patched), so the conversion
takes a second instead of a minute.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from aqa_core.bundle import ModelBundle, bundle_from_model
from aqa_core.clips import DiveClips
from aqa_core.inference import choice as choice_module
from aqa_core.inference.choice import Choice, cache_key, store_choice
from aqa_core.methods import build_method
from aqa_core.result import DiveInfo
from aqa_core.runtime import choose_runtime
from aqa_core.scorer import Scorer

CONFIG = Path(__file__).resolve().parent.parent / "configs" / "models" / "musdl_tiny.json"
WEIGHTS_SHA = "d" * 64
CLIP_SHAPE = (3, 16, 32, 32)
DIVE = DiveInfo(event="individual", panel_size=7, dive_number="107B", height=10.0, difficulty=3.0)


@pytest.fixture
def bundle(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> ModelBundle:
    """The tiny bundle, treated as running the installed I3D whose weights hash is WEIGHTS_SHA."""
    torch.manual_seed(0)
    tiny = bundle_from_model(build_method(json.loads(CONFIG.read_text())), "tiny", "0", {"dataset": "none", "synthetic": True, "intended_use": "tests"})
    monkeypatch.setattr(choice_module, "installed_backbone_sha256", lambda config, keys: WEIGHTS_SHA)
    return tiny


def _cache_openvino_choice(bundle: ModelBundle) -> Path:
    """Convert the tiny backbone as the chooser would and cache OpenVINO float32 as this machine's choice."""
    from aqa_core.inference.openvino_engine import ensure_converted
    from aqa_core.registry import BACKBONES

    path = ensure_converted(BACKBONES.build(bundle.config["backbone"]).eval(), WEIGHTS_SHA, CLIP_SHAPE)
    runtime = choose_runtime("cpu", "float32", threads=1)
    choice = Choice("openvino float32 clip by clip", "float32", 0.5, 1.0, "test", "test cpu")
    store_choice(cache_key(WEIGHTS_SHA, bundle.fingerprint, runtime.device, runtime.threads), choice)
    return path


def _clips() -> DiveClips:
    clips = torch.rand(3, *CLIP_SHAPE, generator=torch.Generator().manual_seed(7)) * 2 - 1
    return DiveClips(clips, [list(range(i * 16, i * 16 + 16)) for i in range(3)], (0, 47), None)


def test_a_cached_openvino_choice_builds_no_pytorch_backbone_and_scores_as_it(bundle: ModelBundle) -> None:
    pytest.importorskip("openvino")
    saved = _cache_openvino_choice(bundle)
    scorer = Scorer.measured(bundle, "expectation", "cpu", threads=1)
    assert scorer.model.backbone is None and scorer.choice.cached
    assert (scorer.engine.name, scorer.engine.precision) == ("openvino float32 clip by clip", "float32")
    with_backbone = Scorer(bundle, choose_runtime("cpu", "float32", threads=1), "expectation")
    assert with_backbone.model.backbone is not None
    got, expected = scorer.score_clips(_clips(), DIVE, "a.mp4"), with_backbone.score_clips(_clips(), DIVE, "a.mp4")
    assert got.final.score == pytest.approx(expected.final.score, abs=1e-3)
    assert [c.score for c in got.clips] == pytest.approx([c.score for c in expected.clips], abs=1e-3)

    shutil.rmtree(saved.parent)  # no saved model: the PyTorch backbone is built after all
    fallback = Scorer.measured(bundle, "expectation", "cpu", threads=1, measure=False)
    assert fallback.model.backbone is not None and fallback.engine.name.startswith("pytorch ")
