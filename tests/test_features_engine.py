"""Training's feature extraction runs on the faster float32 engine (OpenVINO where it wins on the first
dive), and what it caches is PyTorch float32's features within float noise, under the same keys."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from aqa_core.dive_finder import detected_window
from aqa_core.inference import openvino_engine
from trainer.datasets import DiveRecord
from trainer.features import FEATURE_ATOL, FEATURE_RTOL, extract_features

MUSDL_I3D = Path(__file__).resolve().parent.parent / "configs" / "models" / "musdl_i3d.json"


class Recorder:
    """The part of ProgressStream extraction calls, keeping every event."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def emit(self, event: str, **fields: Any) -> None:
        self.events.append({"event": event, **fields})

    def bar(self, *args: Any, **kwargs: Any) -> None: ...
    def advance(self) -> None: ...
    def close_bar(self) -> None: ...


@pytest.mark.slow
@pytest.mark.weights
@pytest.mark.shared
def test_extraction_on_the_faster_float32_engine_caches_pytorchs_features(
    shared_clips: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("openvino")
    config = json.loads(MUSDL_I3D.read_text())
    records = [DiveRecord(key=video.stem, split="train", final_score=0.0, video=video, window=detected_window(video)) for video in shared_clips]
    progress = Recorder()
    chosen = extract_features(records, config, tmp_path / "chosen", progress)
    why = next(event["engine"] for event in progress.events if "engine" in event)
    # the second dive ran on whichever was faster on the first; OpenVINO float32 is about 1.8x PyTorch's speed here
    assert why.startswith(("OpenVINO float32 (", "PyTorch float32 (OpenVINO float32 took")), why
    monkeypatch.setattr(openvino_engine, "openvino_available", lambda: False)
    pytorch = extract_features(records, config, tmp_path / "pytorch")
    np.testing.assert_allclose(chosen, pytorch, rtol=FEATURE_RTOL, atol=FEATURE_ATOL)
    assert sorted(p.name for p in (tmp_path / "chosen").glob("*.npy")) == sorted(p.name for p in (tmp_path / "pytorch").glob("*.npy"))
