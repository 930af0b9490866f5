"""Analyses cached per (video content, model, dive window), in memory and on disk.

Reopening a dive must be instant, so a finished ``ScoreResult`` is kept under a key built from a
hash of the video's bytes (renaming or moving the file keeps the key), the bundle's content
fingerprint (``ModelBundle.fingerprint``: a retrained bundle keeps its default name and version
but not its fingerprint), and the dive window. The dive sheet is not in the key: changing the dive number or
height only changes DD, and the final score is linear in DD, so ``adapt_to_dive`` rescales a
cached result instead of re-running the network. A different event or panel size changes which
judges are kept, so that case needs a fresh analysis.
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

from aqa_core.files import atomic_write_text, file_sha256
from aqa_core.paths import user_data_dir
from aqa_core.result import SCHEMA_VERSION, DiveInfo, ScoreResult
from aqa_core.video_check import CHECK_VERSION as DAMAGE_CHECK_VERSION


# One hashing thread beside the analyses: a broadcast recording of hundreds of MB takes longer to
# read than the first clip takes to score, so the analysis does not wait for its hash (``ScoreWorker``).
_hasher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="video-hash")
_hashes: dict[tuple[str, int, int], str] = {}  # (path, size, mtime) -> sha256: rescoring a video reads it once


def video_hash(path: str | Path) -> Future[str]:
    """The SHA-256 of a video's bytes (``file_sha256``), computed on the hashing thread.

    Kept per file version (resolved path, size, mtime), as ``aqa_core.video.probe`` keeps a
    file's probe: a dive rescored with another window or sheet is not read again. A file that
    cannot be read gives the future its ``OSError``.
    """
    try:
        stat = Path(path).stat()
        version = (str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)
    except OSError as exc:
        failed: Future[str] = Future()
        failed.set_exception(exc)
        return failed
    known = _hashes.get(version)
    if known is not None:
        done: Future[str] = Future()
        done.set_result(known)
        return done

    def digest() -> str:
        _hashes[version] = value = file_sha256(Path(path))
        return value

    return _hasher.submit(digest)


def cache_key(video_sha256: str, model_fingerprint: str, window: tuple[int, int] | None) -> str:
    """Also keyed by the result schema (an analysis of an older schema lacks what this version adds; schema 5: damage)
    and by the damage check's version (an older check could call a window whole that is not)."""
    window_part = "auto" if window is None else f"{window[0]}-{window[1]}"
    raw = f"{video_sha256}|{model_fingerprint}|{window_part}|schema {SCHEMA_VERSION}|damage check {DAMAGE_CHECK_VERSION}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def adapt_to_dive(result: ScoreResult, dive: DiveInfo, video: str) -> ScoreResult | None:
    """``result`` re-expressed for ``dive``; None when the panel rule itself differs.

    The result's method says how: a MUSDL final is (kept judges' sum) x DD x multiplier, so it
    scales with DD; a USDL head predicts the final score directly and does not read DD at all; a
    method's sheet-dependent fields (MTL-AQA's mismatch) are re-derived by the method.
    """
    if dive.event != result.dive.event or dive.panel_size != result.dive.panel_size:
        return None
    # Imported here: the methods need torch, which the window must not wait for (the model's worker imports it).
    from aqa_core.decoding import assess_uncertainty, damaged
    from aqa_core.methods import method_class

    method = method_class(result.head)
    ratio = method.difficulty_ratio(result.dive, dive)
    final = result.final.scaled(ratio)
    scale = method.uncertainty_scale(dive, result.level_bounds is not None)
    uncertainty = assess_uncertainty(final, scale, [j.estimate.score for j in result.judges], result.level_bounds, result.familiarity)
    if result.damage is not None:  # a new DD does not mend the footage
        uncertainty = damaged(uncertainty, result.damage)
    clips = [replace(c, score=c.score * ratio) for c in result.clips]  # clip scores are on the final scale
    return replace(result, video=video, dive=dive, final=final, clips=clips, uncertainty=uncertainty, **method.adapted_fields(result, dive))


class AnalysisCache:
    """Finished analyses by key: a dict in front of one JSON file per key."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder if folder is not None else user_data_dir() / "analysis_cache"
        self._memory: dict[str, ScoreResult] = {}

    def get(self, key: str) -> ScoreResult | None:
        if key in self._memory:
            return self._memory[key]
        path = self.folder / f"{key}.json"
        try:
            result = ScoreResult.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError):
            return None  # absent or written by an older version: score again
        self._memory[key] = result
        return result

    def put(self, key: str, result: ScoreResult) -> None:
        self._memory[key] = result
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.folder / f"{key}.json", json.dumps(result.to_dict()))

