"""``aqa-judge score``: score one dive video with a model bundle, as a table or as ScoreResult JSON.

Without ``--model`` the shipped demo bundle is used; when none is installed we say so and stop
instead of printing numbers from untrained heads, which would look like scores and mean nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from time import perf_counter
from typing import TYPE_CHECKING

from aqa_core.data_card import describe_data_card
from aqa_core.errors import AQAError, BundleError, VideoError
from aqa_core.option_names import DECODINGS, PRECISIONS, model_label
from aqa_core.rules import judge_labels, make_dive_info, normalise_event

if TYPE_CHECKING:  # the engine (torch, OpenCV, SciPy) and the thread pool are imported by the handler, not to build the parser
    from concurrent.futures import Future

    from aqa_core.bundle import ModelBundle
    from aqa_core.result import ScoreResult
    from aqa_core.scorer import Scorer

DEFAULT_PANEL = {"individual": 7, "synchronised": 11}


def register(subparsers: argparse._SubParsersAction) -> None:
    score = subparsers.add_parser(
        "score",
        help="score a dive video with a trained model bundle",
        description="Predict the judges' marks and the final score of one dive video.",
    )
    score.add_argument("video", type=Path, help="the dive video")
    score.add_argument("--dive", help="FINA dive number, e.g. 107B (with --height, looks the DD up)")
    score.add_argument("--height", type=float, help="board or platform height in metres")
    score.add_argument("--dd", type=float, help="degree of difficulty (wins over the table)")
    score.add_argument("--event", default="individual", help="individual (default) or synchronised")
    score.add_argument("--judges", type=int, help="panel size: 5 or 7 individual (default 7), 9 or 11 synchronised (default 11)")
    score.add_argument("--window", type=int, nargs=2, metavar=("START", "END"), help="first and last frame of the dive, counted from 1 as the app shows them (default: the detected dive, else the whole video)")
    score.add_argument("--model", type=Path, help="model bundle folder (default: the installed demo model)")
    score.add_argument("--decoding", choices=DECODINGS, default="argmax", help="argmax (the papers) or expectation")
    score.add_argument("--device", help="cpu, cuda or cuda:N (default: best available)")
    score.add_argument("--precision", choices=PRECISIONS, default="auto", help="backbone precision (default: auto, the engine measured fastest here among those agreeing with float32)")
    score.add_argument("--json", action="store_true", help="print the full ScoreResult as JSON")
    score.add_argument("--backbone-weights", type=Path, help="the C3D or R(2+1)D weights file the model was trained on, when not where its config names it")
    score.set_defaults(handler=run_score)


def resolve_bundle(path: Path | None) -> ModelBundle:
    from aqa_core.bundle import default_bundle_path, load_bundle

    folder = path or default_bundle_path()
    if folder is None:
        raise BundleError(
            "no trained model bundle installed: resources/models/demo_musdl is missing; "
            "train one with `aqa-judge train CONFIG` or pass --model FOLDER"
        )
    return load_bundle(folder)


def run_score(args: argparse.Namespace) -> int:
    """Score one video; the model is built on a thread while this one checks the video, finds the dive and decodes it.

    Importing torch and building the model (reading and folding the I3D weights) cost seconds
    that the dive finder's and the clip loader's decoding (OpenCV, which releases the GIL)
    overlap on another core. A broken bundle is still reported before a broken video, as when
    they were read in turn.

    The two threads never import at the same time: two imports of one package (aqa_core.backbones
    from here and from the bundle) can each wait for a module the other is half-way through, and
    Python then hands one of them the half-built module (ImportError, seen under load). So this
    thread imports the video and dive-finding modules before the other starts, and the clip
    loader only once the bundle (which imports what the loader needs) is loaded.
    """
    from concurrent.futures import ThreadPoolExecutor

    import aqa_core.dive_finder  # noqa: F401  (window_for's, imported before the model thread starts: see above)
    from aqa_core.video import probe

    event = normalise_event(args.event)
    dive = make_dive_info(event, args.judges or DEFAULT_PANEL[event], args.dive, args.height, args.dd)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="aqa-model") as pool:
        bundle_ready = pool.submit(resolve_bundle, args.model)
        scorer_ready = pool.submit(build_scorer, bundle_ready, args.device, args.precision, args.decoding, args.backbone_weights)
        started = perf_counter()
        try:
            probe(args.video)
            window, source = window_for(args.video, args.window)
        except AQAError:
            bundle_ready.result()  # the bundle's own error first
            raise
        detect_s = perf_counter() - started
        try:  # the bundle's segmentation and its backbone's preprocessing say which frames to decode, and how
            config = bundle_ready.result().config
            from aqa_core.clips import clip_protocol, load_dive_clips  # after the bundle's imports: see above

            scheme, preprocessing = clip_protocol(config)
        except (AQAError, ValueError):
            scorer_ready.result()  # the Scorer words a bad protocol as the bundle's error
            raise
        from aqa_core.video_check import DamageCheck

        started = perf_counter()
        check = DamageCheck(args.video, window)  # FFmpeg's decoding errors in the window, read beside the scoring
        try:
            clips = load_dive_clips(args.video, window, scheme=scheme, preprocessing=preprocessing)
            decode_s = perf_counter() - started
            scorer = scorer_ready.result()
        except BaseException:
            check.stop()
            raise
    bundle = bundle_ready.result()
    result = scorer.score_clips(clips, dive, str(args.video), damage_check=check)
    timings = {"detect": detect_s, "decode": decode_s, **result.timings, "total": detect_s + decode_s + result.timings["total"]}
    result = dataclasses.replace(result, timings=timings)
    if args.json:
        caveats = [*result.caveats, *model_caveats(bundle.data_card)]
        print(json.dumps({**result.to_dict(), "caveats": caveats, "data_card": bundle.data_card}, indent=2))
    else:
        print(f"window   frames {frames_text(result.dive_window)} ({source or 'whole video: no dive found'})")
        print(format_result(result, bundle.data_card))
    return 0


def build_scorer(bundle: Future[ModelBundle], device: str | None, precision: str, decoding: str, backbone_weights: Path | None) -> Scorer:
    """The bundle's Scorer (imports torch: the slow part of starting to score).

    ``auto`` precision: the engine measured fastest here among those agreeing with float32 (cached).
    """
    from aqa_core.runtime import choose_runtime
    from aqa_core.scorer import Scorer

    if precision == "auto":
        return Scorer.measured(bundle.result(), decoding, device, backbone_weights=backbone_weights,
                               progress=lambda text: print(f"aqa-judge score: {text}", file=sys.stderr))
    return Scorer(bundle.result(), choose_runtime(device, precision), decoding=decoding, backbone_weights=backbone_weights)


def window_for(video: Path, given: list[int] | None) -> tuple[tuple[int, int] | None, str | None]:
    """The user's window when given, else the detected dive's; with the words saying which (None: neither).

    ``given`` counts frames from 1, as people do; the window returned is 0-based frame indices.
    """
    if given:
        if min(given) < 1:
            raise VideoError(f"{video}: --window {given[0]} {given[1]}: frames are counted from 1")
        return (given[0] - 1, given[1] - 1), "--window"
    from aqa_core.dive_finder import detected_window

    detected = detected_window(video)
    return detected, "detected dive" if detected else None


def frames_text(window: tuple[int, int]) -> str:
    """A window of 0-based frame indices as people count frames (from 1), as the app shows them."""
    return f"{window[0] + 1}-{window[1] + 1}"


def model_caveats(card: dict) -> list[str]:
    """What the text output says about the model itself, beside the score's own caveats."""
    caveats = [f"trained on {describe_data_card(card)}"]
    if "calibration" not in card:  # the trainer records it in the card when it fits one
        caveats.append("intervals are the model's raw distributions, not calibrated: they may not hold their stated coverage")
    return caveats


def format_result(result: ScoreResult, card: dict) -> str:
    """The human-readable table: dive sheet, judges (dropped marked), final with interval, uncertainty."""
    dive = result.dive
    sheet = " ".join(p for p in (dive.dive_number, dive.description, f"{dive.height:g} m" if dive.height else None) if p)
    lines = [
        f"{result.video}  frames {frames_text(result.dive_window)}",
        f"dive     {sheet + '  ' if sheet else ''}DD {_dd(dive.difficulty)}  {dive.event}, {dive.panel_size} judges",
        f"model    {model_label(result.model_name, result.model_version)} ({result.head}, {result.decoding}) on {result.device} {result.precision}",
    ]
    calibrated = bool(result.final.intervals)
    if result.judges:
        labels = judge_labels(dive.event, len(result.judges), counted=True) if result.counted_marks else judge_labels(dive.event, dive.panel_size)
        if result.counted_marks:
            lines.append("judges   the counting marks only: the model was trained on counted marks, not a full panel")
        lines.append("judge    score   80% interval   95% interval" if calibrated else "judge    score   95% interval (uncalibrated)")
        for judge in result.judges:
            est = judge.estimate
            mark = "  dropped" if judge.dropped else ""
            eighty = f"{_interval(est.intervals['0.8'], 1)}   " if calibrated else ""
            lines.append(f"{labels[judge.index]:<8} {est.score:5.2f}   {eighty}{est.low:4.1f} - {est.high:4.1f}{mark}")
    final = result.final
    if calibrated:
        lines.append(f"final    {final.score:.2f}   80% interval {_interval(final.intervals['0.8'], 2)}   95% interval {final.low:.2f} - {final.high:.2f}")
    else:
        lines.append(f"final    {final.score:.2f}   95% interval {final.low:.2f} - {final.high:.2f} (uncalibrated)")
    reasons = f": {'; '.join(result.uncertainty.reasons)}" if result.uncertainty.reasons else ""
    lines.append(f"uncertainty {result.uncertainty.level} (±{result.uncertainty.value:.1f} points){reasons}")
    lines.extend(_method_lines(result))
    for caveat in result.caveats:
        about_footage = result.familiarity is not None and caveat == result.familiarity.message
        lines.append(f"WARNING  {caveat} (distance {result.familiarity.score:.2f}, threshold {result.familiarity.threshold:.2f})" if about_footage else f"WARNING  {caveat}")
    lines.append(f"time     {result.timings.get('total', 0.0):.1f} s")
    lines.extend(model_caveats(card))
    return "\n".join(lines)


def _method_lines(result: ScoreResult) -> list[str]:
    """What the method gives beyond the marks (sampled panels, a recognised dive, exemplar votes, commentary), as the desk shows it."""
    lines = []
    if result.judge_samples is not None:
        samples = result.judge_samples
        lines.append(f"samples  {len(samples.panels)} sampled panels; the model's own uncertainty u = {samples.uncertainty:.2f}, "
                     f"spread of their finals {samples.spread:.2f} points")
    if result.recognised_dive is not None:
        seen = result.recognised_dive
        parts = ", ".join(f"{value}" for value in seen.parts.values())
        proposal = f" -> {seen.dive_number}, DD {_dd(seen.difficulty)}" if seen.dive_number and seen.difficulty else ""
        lines.append(f"sees     {parts}{proposal} ({seen.confidence:.0%})")
        if seen.mismatch:
            lines.append(f"WARNING  the typed dive {result.dive.dive_number} is not what the model sees")
    if result.exemplar_votes is not None:
        votes = result.exemplar_votes
        lines.append(f"exemplars {len(votes.votes)} compared (this dive's final as judged against each):")
        for vote in votes.votes:
            lines.append(f"  {vote.exemplar_id:<14} {vote.dive_number or '-':<6} DD {_dd(vote.difficulty)}  scored {vote.score:6.2f}  "
                         f"relative {vote.relative:+6.2f}  vote {vote.vote:6.2f}  ({vote.match})")
        if votes.note:
            lines.append(f"  {votes.note}")
    if result.commentary is not None:
        lines.append(f"comment  \"{result.commentary.text}\"")
    return lines


def _interval(bounds: tuple[float, float], digits: int) -> str:
    return f"{bounds[0]:4.{digits}f} - {bounds[1]:4.{digits}f}"


def _dd(value: float) -> str:
    """DDs are published with one decimal (3.0, not 3); a typed 2.25 keeps its second."""
    return f"{value:.1f}" if round(value, 1) == value else f"{value:g}"
