"""``Scorer``: a dive video (or its clips, or cached clip features) + a model bundle -> ``ScoreResult``.

Batching versus live feedback. Nobody watching (the CLI, evaluation): all clips go through the
backbone in one batch. Someone watching (the app's live curve, ``on_clip``) or able to cancel:
``stream`` decodes the window in one sequential pass and yields each clip's estimate as soon as
that clip's frames are decoded and its backbone call is done, so the first curve waits for 16
frames and one clip (and, when the dive is found, for the decode to pass its entry), and the
others follow one by one, not all together. Clip by clip also lets a
cancel take effect after the clip in flight. The final result is computed from the same features
as the streamed clips, so the live curve ends where the final score is.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from time import perf_counter
from typing import Any

import torch

from aqa_core.bundle import ModelBundle, build_model
from aqa_core.calibration import Calibration
from aqa_core.clips import DiveClips, clip_protocol, iter_dive_clips, iter_found_dive_clips, load_dive_clips
from aqa_core.decoding import assess_uncertainty, check_decoding, damaged
from aqa_core.dive_finder import detected_window
from aqa_core.errors import AQAError, BundleError, ConfigError
from aqa_core.familiarity import FeatureSummary
from aqa_core.inference.engines import Engine, TorchEngine
from aqa_core.methods.base import NonFiniteScores
from aqa_core.result import ClipEstimate, Damage, DiveInfo, Familiarity, ScoreResult
from aqa_core.runtime import Runtime, choose_runtime
from aqa_core.video_check import DamageCheck

__all__ = ["NonFiniteScores", "Scorer", "ScoringCancelled"]


class ScoringCancelled(AQAError):
    """The user cancelled scoring; nothing was produced."""


ClipCallback = Callable[[ClipEstimate], None]


class Scorer:
    """``runtime`` places the heads (and the backbone, unless ``engine`` runs it); see ``measured``."""

    def __init__(
        self, bundle: ModelBundle, runtime: Runtime | None = None, decoding: str = "argmax", backbone_weights: str | Path | None = None,
        engine: Callable[[Runtime, torch.nn.Module], Engine] | None = None, with_backbone: bool = True,
    ) -> None:
        """``backbone_weights``: the C3D / R(2+1)D weights file, when not where the bundle's config names it.

        ``with_backbone=False`` (with an ``engine`` that runs the backbone itself) builds the heads only.
        """
        self.bundle = bundle
        self.decoding = check_decoding(decoding)
        try:  # the clips the backbone was trained on: its declared preprocessing, the bundle's segmentation
            self.scheme, self.preprocessing = clip_protocol(bundle.config)
        except (ConfigError, ValueError) as exc:
            raise BundleError(f"model bundle '{bundle.name}': {exc}") from None
        self.runtime = runtime or choose_runtime()
        self.model = self.runtime.prepare_module(build_model(bundle, backbone_weights, with_backbone=with_backbone or engine is None))
        backbone = self.model.backbone
        self.engine: Engine | None = engine(self.runtime, self.model) if engine else TorchEngine(backbone, self.runtime) if backbone else None
        self.choice: Any = None  # the measured engine choice (aqa_core.inference.choice.Choice), when ``measured`` built it
        self.fingerprint = bundle.fingerprint
        fitted = bundle.fitted
        self.calibration = Calibration.from_dict(fitted["calibration"]) if "calibration" in fitted else None
        self.familiarity = FeatureSummary.from_dict(fitted["familiarity"]) if "familiarity" in fitted else None

    def warm_up(self) -> None:
        """One backbone call on a blank clip, so the first real clip does not pay the kernels' first-call set-up.

        The desk does this when a model is chosen, off the GUI thread, so the first curve of the
        first video comes after one clip's work, not after the model's construction.
        """
        crop = self.preprocessing.crop
        with torch.inference_mode():
            self._backbone(torch.zeros(1, 3, self.scheme.clip_len, crop, crop))

    @classmethod
    def measured(cls, bundle: ModelBundle, decoding: str = "argmax", device: str | None = None, threads: int | None = None,
                 progress: Callable[[str], None] | None = None, measure: bool = True,
                 backbone_weights: str | Path | None = None) -> Scorer:
        """A scorer whose backbone runs on the engine measured fastest here among those that agree with float32.

        The first call for a bundle on a machine measures (tens of seconds); later ones read the
        cache. ``measure=False`` never measures: without a cached choice the backbone runs float32
        PyTorch and ``choice.measured`` is empty. A cached engine that runs without the PyTorch
        backbone (OpenVINO) is built without it: the heads alone, about a second sooner.
        """
        from aqa_core.inference.choice import cached_engine_without_backbone, chosen_engine

        ready = cached_engine_without_backbone(bundle, device, threads)
        if ready is not None:
            scorer = cls(bundle, choose_runtime(device, "float32", threads), decoding, backbone_weights,
                         engine=lambda _runtime, _model: ready[0], with_backbone=False)
            scorer.choice = ready[1]
            return scorer
        chosen: list[Any] = []

        def engine(runtime: Runtime, model: torch.nn.Module) -> Engine:
            built, choice = chosen_engine(model, bundle, decoding, device, threads, progress, measure)
            chosen.append(choice)
            return built

        scorer = cls(bundle, choose_runtime(device, "float32", threads), decoding, backbone_weights, engine=engine)
        scorer.choice = chosen[0]
        return scorer

    @property
    def method(self) -> str:
        return self.model.name

    def score(
        self,
        video: str | Path,
        dive: DiveInfo,
        window: tuple[int, int] | None = None,
        on_clip: ClipCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> ScoreResult:
        """Decode the dive window, cut it into the bundle's clips and score them.

        With ``on_clip`` or ``cancel`` this is ``stream`` (each clip reported as it is scored).
        """
        if on_clip is not None or cancel is not None:
            for item in self.stream(video, dive, window=window, cancel=cancel):
                if isinstance(item, ScoreResult):
                    return item
                if on_clip is not None:
                    on_clip(item)
            raise AssertionError("stream ended without a result")  # unreachable: stream always ends with one
        self._serving_paths(dive)  # refuse an impossible panel before decoding anything
        _check(cancel)
        start = perf_counter()
        if window is None:  # the detected dive, not the whole file (the whole file when none is found)
            window = detected_window(video)
        check = DamageCheck(video, window)  # beside the decoding and the backbone, on a process of its own
        try:
            clips = load_dive_clips(video, window, scheme=self.scheme, preprocessing=self.preprocessing)
        except BaseException:
            check.stop()
            raise
        decode_s = perf_counter() - start
        result = self.score_clips(clips, dive, str(video), on_clip=on_clip, cancel=cancel, damage_check=check)
        timings = {"decode": decode_s, **result.timings, "total": decode_s + result.timings["total"]}
        return dataclasses.replace(result, timings=timings)

    def stream(
        self,
        video: str | Path,
        dive: DiveInfo,
        window: tuple[int, int] | None = None,
        cancel: threading.Event | None = None,
    ) -> Iterator[ClipEstimate | ScoreResult]:
        """Every clip's ``ClipEstimate`` as soon as it is scored, in order, then the ``ScoreResult``.

        Decoding and the backbone alternate clip by clip (``iter_dive_clips``), so the first
        estimate comes after the first clip's frames, not the window's; without ``window`` the
        dive is found in the same decode (``iter_found_dive_clips``: up to a few frames past its
        entry, not the whole file) and the result's ``dive_window`` is ``detected_window``'s.
        ``cancel`` is checked before every clip and before the head.
        """
        self._serving_paths(dive)  # refuse an impossible panel before decoding anything
        _check(cancel)
        decode_s = 0.0
        if window is None:  # the detected dive (the whole file when none is found), found in the same decode as its clips
            clips = iter_found_dive_clips(video, scheme=self.scheme, preprocessing=self.preprocessing)
        else:
            clips = iter_dive_clips(video, window, scheme=self.scheme, preprocessing=self.preprocessing)
        features: list[torch.Tensor] = []
        frame_indices: list[list[int]] = []
        backbone_s, span = 0.0, (0, 0)
        check: DamageCheck | None = None  # started once the first clip is delivered (it names the window)
        try:
            while True:
                started = perf_counter()
                clip = next(clips, None)
                decode_s += perf_counter() - started
                if clip is None:
                    break
                _check(cancel)
                span = clip.window
                started = perf_counter()
                with torch.inference_mode():
                    feats = self._backbone(clip.clip[None])
                backbone_s += perf_counter() - started
                features.append(feats)
                frame_indices.append(clip.frame_indices)
                yield from self._clip_estimates(feats, clip.index, frame_indices, dive)
                if check is None:  # after the first curve: the child's start would share its cores with clip 0's backbone
                    check = DamageCheck(video, span)
            _check(cancel)
            result = self.score_features(torch.cat(features), dive, frame_indices, span, str(video))
            damage = check.result() if check is not None else None
        finally:
            if check is not None:
                check.stop()  # a cancelled, failed or abandoned stream leaves no child behind
        total = decode_s + backbone_s + result.timings["total"]
        result = dataclasses.replace(result, timings={"decode": decode_s, "backbone": backbone_s, **result.timings, "total": total})
        yield _with_damage(result, damage)

    def score_clips(
        self,
        clips: DiveClips,
        dive: DiveInfo,
        video_label: str,
        on_clip: ClipCallback | None = None,
        cancel: threading.Event | None = None,
        damage_check: DamageCheck | None = None,
    ) -> ScoreResult:
        """Backbone over the clips (one by one when someone watches, see module docstring), then the head.

        ``damage_check``: the check of the clips' window for decoding errors, started by the caller
        when the window was known (it runs beside the backbone); its answer goes into the result.
        """
        try:
            self._serving_paths(dive)
            count = len(clips.clips)
            bounds = list(range(count + 1)) if on_clip or cancel else [0, count]
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
            damage = damage_check.result() if damage_check is not None else None
        finally:
            if damage_check is not None:
                damage_check.stop()  # a failed or cancelled analysis leaves no child behind
        timings = {"backbone": backbone_s, **result.timings, "total": backbone_s + result.timings["total"]}
        return _with_damage(dataclasses.replace(result, timings=timings), damage)

    def score_features(
        self,
        features: torch.Tensor,
        dive: DiveInfo,
        frame_indices: Sequence[Sequence[int]],
        window: tuple[int, int],
        video_label: str,
    ) -> ScoreResult:
        """Score ``(N, D)`` clip features without the backbone (stored analyses, trainer evaluation)."""
        self._serving_paths(dive)
        start = perf_counter()
        features = features.to(self.runtime.device, torch.float32)
        if not torch.isfinite(features).all():
            raise NonFiniteScores(f"{video_label}: the backbone gave NaN or infinite clip features; no score can be given")
        clips = self._clip_estimates(features, 0, frame_indices, dive)
        with torch.inference_mode(), self._refusing_non_finite():
            prediction = self.model.predict({"features": features[None], "dives": [dive]}, self.decoding, self.calibration)[0]
        judges, final = prediction.judges, prediction.final
        familiarity = None
        if self.familiarity is not None:
            distance = float(self.familiarity.distance(features.cpu().numpy()))
            summary = self.familiarity
            familiarity = Familiarity(distance, summary.threshold, distance > summary.threshold, summary.validation_max)
        bounds = self.calibration.level_bounds if self.calibration is not None else None
        scale = self.model.uncertainty_scale(dive, bounds is not None)
        head_s = perf_counter() - start
        return ScoreResult(
            video=video_label,
            model_name=self.bundle.name,
            model_version=self.bundle.version,
            head=self.method,
            dive=dive,
            dive_window=(int(window[0]), int(window[1])),
            bins=self.model.values.tolist(),
            clips=clips,
            aggregate=prediction.distributions.tolist(),
            judges=judges,
            final=final,
            uncertainty=assess_uncertainty(final, scale, [j.estimate.score for j in judges], bounds, familiarity),
            decoding=self.decoding,
            timings={"head": head_s, "total": head_s},
            device=engine_label(self.engine) if self.engine else str(self.runtime.device),
            precision=self.engine.precision if self.engine else self.runtime.precision,
            familiarity=familiarity,
            level_bounds=bounds,
            model_fingerprint=self.fingerprint,
            judge_samples=prediction.samples,
            recognised_dive=prediction.recognised,
            exemplar_votes=prediction.exemplars,
            counted_marks=self.model.counted,
            commentary=prediction.commentary,
        )

    def _serving_paths(self, dive: DiveInfo) -> list[int]:
        """Which of the method's outputs answer for this panel (the method refuses an impossible one)."""
        return self.model.serving_paths(dive)

    @contextlib.contextmanager
    def _refusing_non_finite(self) -> Iterator[None]:
        """The method's NaN refusal, naming this bundle: nothing non-finite is ever shown as a score."""
        try:
            yield
        except NonFiniteScores as exc:
            raise NonFiniteScores(f"model '{self.bundle.name}' {exc}; no score can be given (check the bundle and the video)") from None

    def _backbone(self, clips: torch.Tensor) -> torch.Tensor:
        if self.engine is None:
            return self.model.features(clips)  # a method built without its backbone says so
        return self.engine.features(clips)

    def _clip_estimates(
        self, features: torch.Tensor, first: int, frame_indices: Sequence[Sequence[int]], dive: DiveInfo
    ) -> list[ClipEstimate]:
        """Each clip's own distributions (the head on that clip's feature) and point score."""
        with torch.inference_mode(), self._refusing_non_finite():
            scores = self.model.clip_scores(features, dive, self.decoding)
        estimates = []
        for offset, (dists, score) in enumerate(scores):
            frames = frame_indices[first + offset]
            estimates.append(ClipEstimate(first + offset, int(frames[0]), int(frames[-1]), dists.tolist(), score))
        return estimates


def _with_damage(result: ScoreResult, damage: Damage | None) -> ScoreResult:
    """The result of a damaged window says so: its caveat, and an uncertainty of "high" with the reason first."""
    if damage is None:
        return result
    return dataclasses.replace(result, damage=damage, uncertainty=damaged(result.uncertainty, damage))


def engine_label(engine: Engine) -> str:
    """What ``ScoreResult.device`` records: the device, and the runtime when it is not PyTorch ("cpu, openvino")."""
    runtime = engine.name.split(" ", 1)[0]
    return str(engine.device) if runtime == "pytorch" else f"{engine.device}, {runtime}"


def _check(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise ScoringCancelled("scoring cancelled")
