"""The analysis cache: keys by content, results survive a restart, DD changes match a fresh analysis."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from aqa_core.bundle import bundle_from_model
from aqa_core.methods import build_method
from aqa_core.rules import make_dive_info
from aqa_core.runtime import choose_runtime
from aqa_core.scorer import Scorer
from aqa_core.files import file_sha256
from app.analysis_cache import AnalysisCache, adapt_to_dive, cache_key

CONFIGS = Path(__file__).resolve().parent.parent / "configs" / "models"
CPU = choose_runtime("cpu", "float32", threads=1)


def scorer(config: str) -> Scorer:
    torch.manual_seed(0)
    model = build_method(json.loads((CONFIGS / config).read_text()))
    return Scorer(bundle_from_model(model, config, "0", {"synthetic": True}), CPU)


def test_the_key_follows_the_content_not_the_name(tmp_path, tiny_video) -> None:  # noqa: ANN001
    path = tiny_video(count=10)
    copy = tmp_path / "copy.mp4"
    copy.write_bytes(Path(path).read_bytes())
    other = tiny_video(count=11, name="other.mp4")
    assert file_sha256(path) == file_sha256(copy) != file_sha256(other)
    assert cache_key(file_sha256(path), "f1", None) != cache_key(file_sha256(path), "f1", (0, 5))
    assert cache_key(file_sha256(path), "f1", None) != cache_key(file_sha256(path), "f2", None)


@pytest.mark.parametrize("config", ["musdl_tiny.json", "usdl_tiny.json"])
def test_a_dd_change_matches_a_fresh_analysis_and_survives_a_restart(tmp_path, tiny_video, config) -> None:  # noqa: ANN001
    path = tiny_video(count=30)
    engine = scorer(config)
    first = engine.score(path, make_dive_info("individual", 7, "107B", 10.0, None))
    cache = AnalysisCache(tmp_path / "cache")
    cache.put("k", first)
    reloaded = AnalysisCache(tmp_path / "cache").get("k")  # a new process reads it from disk
    assert reloaded == first
    other = make_dive_info("individual", 7, "305C", 3.0, None)
    adapted = adapt_to_dive(reloaded, other, str(path))
    fresh = engine.score(path, other)
    assert adapted is not None and adapted.dive == fresh.dive
    assert adapted.final.score == pytest.approx(fresh.final.score)
    assert (adapted.final.low, adapted.final.high) == pytest.approx((fresh.final.low, fresh.final.high))
    assert adapted.uncertainty.level == fresh.uncertainty.level
    assert [c.score for c in adapted.clips] == pytest.approx([c.score for c in fresh.clips])


def test_another_panel_needs_a_fresh_analysis(tiny_video) -> None:  # noqa: ANN001
    path = tiny_video(count=30)
    result = scorer("musdl_tiny.json").score(path, make_dive_info("individual", 7, "107B", 10.0, None))
    assert adapt_to_dive(result, make_dive_info("individual", 5, "107B", 10.0, None), str(path)) is None
