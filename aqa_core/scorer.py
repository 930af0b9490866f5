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
from aqa_core.calibration import LEVELS, Calibration
from aqa_core.clips import DEFAULT_SCHEME, DiveClips, load_dive_clips
from aqa_core.decoding import assess_uncertainty, check_decoding, estimate, point, probabilities, uncertainty_scale
from aqa_core.dive_finder import detected_window
from aqa_core.errors import AQAError
from aqa_core.familiarity import FeatureSummary
from aqa_core.heads.panel import clip_final, panel_estimate, panel_paths
from aqa_core.result import ClipEstimate, DiveInfo, Estimate, Familiarity, JudgeEstimate, ScoreResult
from aqa_core.runtime import Runtime, choose_runtime


class ScoringCancelled(AQAError):
    """The user cancelled scoring; nothing was produced."""


class NonFiniteScores(AQAError):
    """Features, logits or probabilities hold NaN or infinity: no score exists, so none is shown."""


def _finite_probabilities(logits: torch.Tensor, what: str, model: str) -> np.ndarray:
    """Softmax of ``logits``, refusing NaN/infinity in the logits or the result (argmax of NaN is bin 0)."""
    values = logits.cpu().numpy()
    dists = probabilities(values) if np.isfinite(values).all() else None
    if dists is None or not np.isfinite(dists).all():
        raise NonFiniteScores(f"model '{model}' gave NaN or infinite {what}; no score can be given (check the bundle and the video)")
    return dists


ClipCallback = Callable[[ClipEstimate], None]


def calibrated(est: Estimate, interval: Callable[[str], tuple[float, float]]) -> Estimate:
    """``est`` with calibrated intervals at every level; low/high become the calibrated 95% one."""
    intervals = {level: interval(level) for level in LEVELS}
    return dataclasses.replace(est, intervals=intervals, low=intervals["0.95"][0], high=intervals["0.95"][1])


def dive_estimates(
    aggregate: np.ndarray, values: np.ndarray, dive: DiveInfo, decoding: str, head_kind: str, calibration: Calibration | None = None
) -> tuple[list[JudgeEstimate], Estimate]:
    """Pooled ``(paths, bins)`` probabilities of the serving paths -> judges and final, calibrated when possible.

    One function for the scorer and the trainer's evaluation, so a model is judged exactly as it scores.
    """
    judges: list[JudgeEstimate] = []
    if head_kind == "musdl":
        panel = panel_estimate(aggregate, values, dive, decoding)
        ests = panel.judges
        if calibration is not None and calibration.judge_q:
            ests = [calibrated(e, lambda level, e=e: calibration.judge_interval(e.score, e.std, level)) for e in ests]
        judges = [
            JudgeEstimate(index=i, estimate=est, distribution=aggregate[i].tolist(), dropped=dropped)
            for i, (est, dropped) in enumerate(zip(ests, panel.dropped, strict=True))
        ]
        final = panel.final
    else:
        final = estimate(aggregate[0], values, decoding)
    scale = uncertainty_scale(head_kind, dive, calibrated=True)  # a USDL head predicts the final itself, DD included
    if calibration is not None:
        final = calibrated(final, lambda level: calibration.final_interval(final.score, final.std, scale, level))
    return judges, final


class Scorer:
    def __init__(self, bundle: ModelBundle, runtime: Runtime | None = None, decoding: str = "argmax") -> None:
        self.bundle = bundle
        self.decoding = check_decoding(decoding)
        self.runtime = runtime or choose_runtime()
        self.model = self.runtime.prepare_module(build_model(bundle))
        self.values = self.model.head.bin_values.cpu().numpy().astype(np.float64)
        fitted = bundle.fitted
        self.calibration = Calibration.from_dict(fitted["calibration"]) if "calibration" in fitted else None
        self.familiarity = FeatureSummary.from_dict(fitted["familiarity"]) if "familiarity" in fitted else None

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
        if not torch.isfinite(features).all():
            raise NonFiniteScores(f"{video_label}: the backbone gave NaN or infinite clip features; no score can be given")
        clips = self._clip_estimates(features, 0, frame_indices, dive)
        with torch.inference_mode():
            pooled = self.model.pooled_logits(features[None])[0]
        aggregate = _finite_probabilities(pooled, "pooled logits", self.bundle.name)[paths]
        judges, final = dive_estimates(aggregate, self.values, dive, self.decoding, self.head_kind, self.calibration)
        familiarity = None
        if self.familiarity is not None:
            distance = float(self.familiarity.distance(features.cpu().numpy()))
            summary = self.familiarity
            familiarity = Familiarity(distance, summary.threshold, distance > summary.threshold, summary.validation_max)
        bounds = self.calibration.level_bounds if self.calibration is not None else None
        scale = uncertainty_scale(self.head_kind, dive, bounds is not None)
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
            uncertainty=assess_uncertainty(final, scale, [j.estimate.score for j in judges], bounds, familiarity),
            decoding=self.decoding,
            timings={"head": head_s, "total": head_s},
            device=str(self.runtime.device),
            precision=self.runtime.precision,
            familiarity=familiarity,
            level_bounds=bounds,
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
        dists = _finite_probabilities(logits, "clip logits", self.bundle.name)[:, self._serving_paths(dive)]
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


def _check(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise ScoringCancelled("scoring cancelled")
