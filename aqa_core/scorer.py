"""``Scorer``: a dive video (or its clips, or cached clip features) + a model bundle -> ``ScoreResult``.

Batching versus live feedback. I3D on a CPU is much cheaper per clip in a batch: measured on
this project's 2-core AVX512 machine (bf16, loaded), one clip alone took 2.2-5.4 s, ten together
11.6-13.0 s, so scoring clip by clip would make the whole dive about twice as slow. Without a
per-clip callback all clips therefore go through the backbone in one batch. With ``on_clip`` (the
app's live curve) or ``cancel``, the first clip runs alone, so the first curve appears after
about a tenth of the work, and the rest follow in one batch (about 10% slower in total than one
batch). The price is that ``cancel`` is only checked before, between and after those two
forwards, so a cancel can wait for the second batch to finish.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from time import perf_counter

import numpy as np
import torch

from aqa_core.bundle import ModelBundle, build_model
from aqa_core.clips import DEFAULT_SCHEME, DiveClips, load_dive_clips
from aqa_core.dive_finder import detected_window
from aqa_core.decoding import assess_uncertainty, check_decoding, estimate, point, probabilities
from aqa_core.errors import AQAError
from aqa_core.heads.panel import clip_final, panel_estimate, panel_paths
from aqa_core.result import ClipEstimate, DiveInfo, Estimate, JudgeEstimate, ScoreResult
from aqa_core.rules.panel import SYNCHRO_MULTIPLIER
from aqa_core.runtime import Runtime, choose_runtime


class ScoringCancelled(AQAError):
    """The user cancelled scoring; nothing was produced."""


ClipCallback = Callable[[ClipEstimate], None]


class Scorer:
    def __init__(self, bundle: ModelBundle, runtime: Runtime | None = None, decoding: str = "argmax") -> None:
        self.bundle = bundle
        self.decoding = check_decoding(decoding)
        self.runtime = runtime or choose_runtime()
        self.model = self.runtime.prepare_module(build_model(bundle))
        self.values = self.model.head.bin_values.cpu().numpy().astype(np.float64)

    @property
    def head_kind(self) -> str:
        return self.model.head_kind

    def score(
        self,
        video: str | Path,
        dive: DiveInfo,
        window: tuple[int, int] | None = None,
        on_clip: ClipCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> ScoreResult:
        """Decode the dive window, cut it into the bundle's clips and score them."""
        self._serving_paths(dive)  # refuse an impossible panel before decoding anything
        _check(cancel)
        start = perf_counter()
        if window is None:  # the detected dive, not the whole file (the whole file when none is found)
            window = detected_window(video)
        clips = load_dive_clips(video, window, scheme=self.bundle.config.get("segmentation", DEFAULT_SCHEME))
        decode_s = perf_counter() - start
        result = self.score_clips(clips, dive, str(video), on_clip=on_clip, cancel=cancel)
        timings = {"decode": decode_s, **result.timings, "total": decode_s + result.timings["total"]}
        return dataclasses.replace(result, timings=timings)

    def score_clips(
        self,
        clips: DiveClips,
        dive: DiveInfo,
        video_label: str,
        on_clip: ClipCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> ScoreResult:
        """Backbone over the clips (first clip alone when someone watches, see module docstring), then the head."""
        self._serving_paths(dive)
        count = len(clips.clips)
        bounds = [0, 1, count] if (on_clip or cancel) and count > 1 else [0, count]
        features, backbone_s = [], 0.0
        with torch.inference_mode():
            for first, stop in zip(bounds, bounds[1:]):
                _check(cancel)
                start = perf_counter()
                feats = self._backbone(clips.clips[first:stop])
                backbone_s += perf_counter() - start
                features.append(feats)
                if on_clip:
                    for clip in self._clip_estimates(feats, first, clips.frame_indices, dive):
                        on_clip(clip)
        _check(cancel)
        result = self.score_features(torch.cat(features), dive, clips.frame_indices, clips.window, video_label)
        timings = {"backbone": backbone_s, **result.timings, "total": backbone_s + result.timings["total"]}
        return dataclasses.replace(result, timings=timings)

    def score_features(
        self,
        features: torch.Tensor,
        dive: DiveInfo,
        frame_indices: Sequence[Sequence[int]],
        window: tuple[int, int],
        video_label: str,
    ) -> ScoreResult:
        """Score ``(N, D)`` clip features without the backbone (stored analyses, trainer evaluation)."""
        paths = self._serving_paths(dive)
        start = perf_counter()
        features = features.to(self.runtime.device, torch.float32)
        clips = self._clip_estimates(features, 0, frame_indices, dive)
        with torch.inference_mode():
            pooled = self.model.pooled_logits(features[None])[0]
        aggregate = probabilities(pooled.cpu().numpy())[paths]
        judges: list[JudgeEstimate] = []
        if self.head_kind == "musdl":
            panel = panel_estimate(aggregate, self.values, dive, self.decoding)
            judges = [
                JudgeEstimate(index=i, estimate=est, distribution=aggregate[i].tolist(), dropped=dropped)
                for i, (est, dropped) in enumerate(zip(panel.judges, panel.dropped, strict=True))
            ]
            final: Estimate = panel.final
        else:
            final = estimate(aggregate[0], self.values, self.decoding)
        head_s = perf_counter() - start
        return ScoreResult(
            video=video_label,
            model_name=self.bundle.name,
            model_version=self.bundle.version,
            head=self.head_kind,
            dive=dive,
            dive_window=(int(window[0]), int(window[1])),
            bins=self.values.tolist(),
            clips=clips,
            aggregate=aggregate.tolist(),
            judges=judges,
            final=final,
            uncertainty=assess_uncertainty(final, self._scale(dive), [j.estimate.score for j in judges]),
            decoding=self.decoding,
            timings={"head": head_s, "total": head_s},
            device=str(self.runtime.device),
            precision=self.runtime.precision,
        )

    def _serving_paths(self, dive: DiveInfo) -> list[int]:
        """Which head paths answer for this panel: all of them for USDL, see heads.panel for MUSDL."""
        if self.head_kind == "musdl":
            return panel_paths(self.model.head.paths, dive)
        return list(range(self.model.head.paths))

    def _backbone(self, clips: torch.Tensor) -> torch.Tensor:
        with self.runtime.autocast():
            features = self.model.features(self.runtime.prepare_input(clips))
        return features.float()

    def _clip_estimates(
        self, features: torch.Tensor, first: int, frame_indices: Sequence[Sequence[int]], dive: DiveInfo
    ) -> list[ClipEstimate]:
        """Each clip's own distributions (the head on that clip's feature) and point score."""
        with torch.inference_mode():
            logits = self.model.clip_logits(features.float())
        dists = probabilities(logits.cpu().numpy())[:, self._serving_paths(dive)]
        estimates = []
        for offset, clip in enumerate(dists):
            index = first + offset
            frames = frame_indices[index]
            if self.head_kind == "musdl":
                score = clip_final(clip, self.values, dive, self.decoding)
            else:
                score = point(clip[0], self.values, self.decoding)
            estimates.append(ClipEstimate(index, int(frames[0]), int(frames[-1]), clip.tolist(), score))
        return estimates

    def _scale(self, dive: DiveInfo) -> float:
        """DD x multiplier: how far one point of the kept judges' sum moves the final score."""
        return dive.difficulty * (float(SYNCHRO_MULTIPLIER) if dive.event == "synchronised" else 1.0)


def _check(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise ScoringCancelled("scoring cancelled")
