"""Frozen-backbone feature cache: run the backbone once per dive, train heads on the cache.

One ``.npy`` file per dive, named by a hash of the dive's pixels (file bytes, or the names and
bytes of its own frame images) + window + backbone config + segmentation, written atomically.
Re-running skips every dive already cached, so an interrupted extraction resumes where it
stopped, and changing the backbone or the segmentation can never mix stale features into a run.

Before the first dive is hashed or extracted, every record's pixels are checked again
(``check_pixels``): a frame deleted or a video replaced since the dataset was read fails now,
with every such dive named, not hours into the run.

Extraction dominates training time on a CPU, so the backbone runs on the faster float32 engine:
for the installed Kinetics I3D on a float32 CPU runtime the first dive runs on both PyTorch and
OpenVINO float32 (``_faster_engine``), and OpenVINO extracts the rest only if it was faster and
its features equal PyTorch's within float noise (``FEATURE_RTOL``; measured 5e-7 apart on a real
clip). Features within float noise train the same heads, so the cache key does not name the
engine; a run whose OpenVINO features differ more stays on PyTorch and says so.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from aqa_core.clips import DiveClips, clip_protocol, frames_to_clips, load_dive_clips, model_segmentation
from aqa_core.errors import DatasetError
from aqa_core.inference.choice import installed_backbone_sha256
from aqa_core.inference.engines import TorchEngine
from aqa_core.registry import BACKBONES
from aqa_core.runtime import Runtime, available_cpus, choose_runtime

from .datasets import DiveRecord
from .datasets.pixels import check_video_window, content_hash, pixel_files
from .progress import ProgressStream


def cache_key(record: DiveRecord, backbone: dict[str, Any], segmentation: Any) -> str:
    spec = {"pixels": content_hash(record), "window": record.window, "backbone": backbone, "segmentation": segmentation}
    return hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()[:40]


def check_pixels(records: Sequence[DiveRecord]) -> None:
    """Every dive's frames or video window is still usable; else one error naming them all."""
    bad = []
    for record in records:
        try:
            if record.video is None:
                raise DatasetError("has no video to extract features from")
            if record.frames is not None:
                missing = next((f for f in record.frames if not f.is_file()), None)
                if missing is not None:
                    raise DatasetError(f"frame {missing} is missing")
            elif not record.video.is_dir():
                check_video_window(record.video, record.window)
        except DatasetError as exc:
            bad.append(f"{record.key}: {exc}")
    if bad:
        more = f"; and {len(bad) - 3} more" if len(bad) > 3 else ""
        raise DatasetError(f"pixels unusable for {len(bad)} dive(s), nothing extracted: {'; '.join(bad[:3])}{more}")


def load_record_clips(record: DiveRecord, model_config: dict[str, Any]) -> DiveClips:
    """Clips of one dive from its video file or its frame images, cut and scaled as the model's backbone takes them."""
    scheme, preprocessing = clip_protocol(model_config)
    if record.video is None:
        raise DatasetError(f"dive {record.key}: has no video to extract features from")
    if record.frames is None and not record.video.is_dir():
        return load_dive_clips(record.video, record.window, scheme, preprocessing=preprocessing)
    files = pixel_files(record)
    if not files:
        raise DatasetError(f"{record.video}: no frame images for dive {record.key}")
    frames = []
    for file in files:
        image = cv2.imread(str(file), cv2.IMREAD_COLOR)
        if image is None:
            raise DatasetError(f"{file}: not a readable image (dive {record.key})")
        if frames and image.shape != frames[0].shape:  # a frame re-extracted at another size: refused, never stretched to fit
            size = lambda shape: f"{shape[1]}x{shape[0]}"  # noqa: E731
            raise DatasetError(f"{file}: {size(image.shape)} pixels, the dive's first frame {files[0].name} {size(frames[0].shape)} (dive {record.key})")
        frames.append(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
    return frames_to_clips(np.stack(frames), scheme, preprocessing=preprocessing)


def records_clips(records: Sequence[DiveRecord], model_config: dict[str, Any], ahead: int | None = None) -> Iterator[torch.Tensor]:
    """Each record's clips, in order, decoded on threads up to ``ahead`` dives in advance (default: one per CPU, at most 8).

    Why: decoding and cutting one dive took 0.27 s on a 2-core CPU, while a GPU's backbone should
    take milliseconds per dive, so decoding one dive after another would leave a GPU waiting in
    fine-tuning and in extraction (not yet measured on one). OpenCV and the resizing release the
    GIL, so threads decode side by side; on that CPU, overlapping the decode with the float32
    backbone made a 6-dive extraction 4% faster. A dive that fails raises its own error when its
    turn comes, and the dives after it are not waited for.
    """
    workers = max(1, min(ahead or min(8, available_cpus()), len(records)))  # 8 dives of clips: about 0.8 GB
    with ThreadPoolExecutor(workers, thread_name_prefix="decode") as pool:
        pending: list[Future[DiveClips]] = []
        try:
            for record in records:
                pending.append(pool.submit(load_record_clips, record, model_config))
                if len(pending) > workers:
                    yield pending.pop(0).result().clips
            while pending:
                yield pending.pop(0).result().clips
        finally:
            for future in pending:
                future.cancel()


def _keyed_backbone(spec: dict[str, Any], backbone_state: dict[str, torch.Tensor] | None) -> dict[str, Any]:
    """What the features depend on: the spec, with a named weights file by its sha256 (not its path: a file replaced
    in place must not answer from the old one's features, a file moved must not recompute), and fine-tuned tensors by theirs."""
    from aqa_core.backbones.preprocessing import backbone_info, is_pretrained
    from aqa_core.backbones.weights_file import named_weights
    from aqa_core.files import file_sha256
    from aqa_core.weights import state_sha256

    if backbone_state is not None:
        return {**spec, "fine_tuned_sha256": state_sha256(backbone_state)}
    info = backbone_info(spec)
    if info.weights_file and is_pretrained(spec):
        return {**{k: v for k, v in spec.items() if k != "weights"}, "weights_sha256": file_sha256(named_weights(spec, info))}
    return spec


def feature_keys(records: Sequence[DiveRecord], model_config: dict[str, Any], backbone_state: dict[str, torch.Tensor] | None = None) -> list[str]:
    """Each dive's cache file name (without ``.npy``) under ``model_config``'s backbone and segmentation.

    The backbone's key (a weights file's sha256) is computed once for all dives, not once per dive.
    """
    backbone = _keyed_backbone(model_config["backbone"], backbone_state)
    segmentation = model_segmentation(model_config)
    return [cache_key(r, backbone, segmentation) for r in records]


def _atomic_save(array: np.ndarray, path: Path) -> None:
    tmp = path.with_name(path.stem + ".tmp.npy")
    np.save(tmp, array)
    os.replace(tmp, path)


FEATURE_RTOL, FEATURE_ATOL = 1e-4, 1e-5  # float32 rounding differences between engines, not a different feature


def _torch_engine_features(engine: Any, clips: torch.Tensor, clip_batch: int) -> torch.Tensor:
    return torch.cat([engine.features(chunk).cpu() for chunk in clips.split(clip_batch)])


def _faster_engine(reference: TorchEngine, weights_sha256: str | None, clips: torch.Tensor, clip_batch: int, threads: int) -> tuple[Any, torch.Tensor, str]:
    """(engine for the remaining dives, the first dive's features from PyTorch, why): OpenVINO float32 when it
    ran this dive faster than PyTorch with features within float noise of PyTorch's, else PyTorch.

    ``weights_sha256``: the installed Kinetics I3D's, which names its converted model (None: another backbone)."""
    from aqa_core.inference.openvino_engine import OpenVinoEngine, ensure_converted, openvino_available

    started = time.perf_counter()
    expected = _torch_engine_features(reference, clips, clip_batch)
    torch_s = time.perf_counter() - started
    if not openvino_available() or weights_sha256 is None:
        return reference, expected, "PyTorch float32 (OpenVINO runs only the installed Kinetics I3D)"
    try:
        candidate = OpenVinoEngine(ensure_converted(reference.backbone, weights_sha256, tuple(clips.shape[1:])), "float32", threads)
        candidate.features(clips[:1])  # the first inference pays OpenVINO's set-up
        started = time.perf_counter()
        got = candidate.features(clips)
        openvino_s = time.perf_counter() - started
    except Exception as exc:  # noqa: BLE001 - an engine that cannot run here is not used
        return reference, expected, f"PyTorch float32 (OpenVINO cannot run here: {type(exc).__name__}: {exc})"
    if not torch.allclose(got, expected, rtol=FEATURE_RTOL, atol=FEATURE_ATOL):
        return reference, expected, f"PyTorch float32 (OpenVINO's features differ by {float((got - expected).abs().max()):.2g})"
    timing = f"{openvino_s:.2f} s against PyTorch's {torch_s:.2f} s on the first dive"
    if openvino_s >= torch_s:
        return reference, expected, f"PyTorch float32 (OpenVINO float32 took {timing})"
    return candidate, expected, f"OpenVINO float32 ({timing}, features within float noise)"


def extract_features(
    records: Sequence[DiveRecord],
    model_config: dict[str, Any],
    cache_dir: Path,
    progress: ProgressStream | None = None,
    runtime: Runtime | None = None,
    clip_batch: int = 10,
    backbone_state: dict[str, torch.Tensor] | None = None,
) -> np.ndarray:
    """(N, clips, D) features for ``records``, computing only the dives not yet cached.

    ``backbone_state``: a fine-tuned backbone's tensors (a fine-tuned bundle's), used instead of its
    stock weights and keyed into the cache by their content hash. ``runtime`` defaults to float32 on
    the best device: the cache key does not name the engine, so what is cached must be float32's
    features within float noise wherever it was extracted (CUDA's "auto" would be bf16 autocast).
    """
    import aqa_core.backbones  # noqa: F401  (registers backbones)
    from aqa_core.backbones.preprocessing import without_pretrained

    check_pixels(records)
    cache_dir.mkdir(parents=True, exist_ok=True)
    clip_protocol(model_config)  # a segmentation the backbone cannot take fails before any dive is read
    spec = model_config["backbone"]
    keys = feature_keys(records, model_config, backbone_state)
    todo = [i for i, k in enumerate(keys) if not (cache_dir / f"{k}.npy").is_file()]
    if todo:
        runtime = runtime or choose_runtime(precision="float32")
        module = BACKBONES.build(spec if backbone_state is None else without_pretrained(spec))
        if backbone_state is not None:
            module.load_state_dict(backbone_state)
        engine = TorchEngine(module, runtime)
        float32_cpu = runtime.device.type == "cpu" and runtime.autocast_dtype is None
        if progress:
            progress.emit("features", done=len(records) - len(todo), total=len(records), eta_s=None, cache=cache_dir, device=runtime.description)
            progress.bar(len(records), "features", initial=len(records) - len(todo))
        started = time.monotonic()
        for (n, i), clips in zip(enumerate(todo, start=1), records_clips([records[i] for i in todo], model_config), strict=True):
            if n == 1 and float32_cpu:
                weights = None if backbone_state is not None else installed_backbone_sha256(model_config, [])
                engine, features, why = _faster_engine(engine, weights, clips, clip_batch, runtime.threads)
                if progress:
                    progress.emit("features", done=len(records) - len(todo), total=len(records), eta_s=None, cache=cache_dir, engine=why)
            else:
                features = _torch_engine_features(engine, clips, clip_batch)
            _atomic_save(features.float().numpy(), cache_dir / f"{keys[i]}.npy")
            if progress:
                progress.advance()
                if n % 10 == 0 or n == len(todo):
                    eta = (time.monotonic() - started) / n * (len(todo) - n)
                    progress.emit("features", done=len(records) - len(todo) + n, total=len(records), eta_s=round(eta, 1), cache=cache_dir)
        if progress:
            progress.close_bar()
    return np.stack([np.load(cache_dir / f"{k}.npy") for k in keys])
