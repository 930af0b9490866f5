"""I3D engines on this machine: seconds per dive, and whether their scores agree with float32.

Runs exactly what the scorer's chooser runs (``aqa_core.inference.choice``) with the demo
bundle's head and decoding, but on the two real Olympic clips as well as two generated dives:
every candidate (PyTorch float32/bf16, batched and clip by clip; OpenVINO float32/bf16 when it
is installed) is timed (best dive of the run) and its final and per-clip scores are compared with
float32 PyTorch clip by clip (the seeds' way), which is also the time reference. Only candidates
within 0.5 point everywhere qualify; the chosen one is the fastest of those.

Targets (issue 16): <= 0.7 s per dive (>= 5x the seeds' way) where reduced precision holds the
agreement, else float32 in <= 1.2 s.

    python benchmarks/bench_runtime.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.table import Row, format_table  # noqa: E402

GENERATED = (11,)  # one generated dive besides the two real ones: each probe is a full forward per candidate


def measure():  # noqa: ANN201 - aqa_core.inference.choice.Choice (torch imported late)
    from aqa_core.bundle import build_model, default_bundle_path, load_bundle
    from aqa_core.clips import DEFAULT_SCHEME, get_scheme, load_dive_clips
    from aqa_core.dive_finder import detected_window
    from aqa_core.inference.choice import _installed_backbone_sha256, candidates_for, measure_and_choose, probe_clips
    from aqa_core.inference.engines import TorchEngine
    from aqa_core.paths import shared_dir
    from aqa_core.runtime import Runtime, choose_runtime

    bundle = load_bundle(default_bundle_path())
    model = build_model(bundle).eval()
    runtime = choose_runtime("cpu", "float32")
    scheme = get_scheme(bundle.config.get("segmentation", DEFAULT_SCHEME))
    shared = shared_dir()
    real = sorted((shared / "data" / "clips").glob("*.mp4")) if shared else []
    probes = [load_dive_clips(video, detected_window(video), scheme=scheme).clips for video in real] + probe_clips(scheme, GENERATED)
    weights = _installed_backbone_sha256(bundle.config, list(bundle.state_dict))
    candidates = candidates_for(model.backbone, runtime.device, runtime.threads, weights, (3, scheme.clip_len, 224, 224))
    reference = Runtime(runtime.device, None, False, runtime.threads, "float32 reference")
    choice = measure_and_choose(model, lambda: TorchEngine(model.backbone, reference, clip_by_clip=True), candidates, probes,
                                bundle.data_card.get("decoding", "argmax"))
    return choice, len(real), len(probes) - len(real)


def rows() -> list[Row]:
    choice, real, generated = measure()
    seeds = "seeds' way: 10 float32 clip passes"
    out = [Row(f"I3D dive, {seeds} (PyTorch)", choice.reference_seconds, "s", note=f"{real} real + {generated} generated dives, best of the run")]
    for m in choice.measured:
        if m.seconds_per_dive is None:
            out.append(Row(f"I3D dive, {m.name}", None, "s", note=m.problem or ""))
            continue
        verdict = "agrees" if m.qualifies else "EXCLUDED"
        out.append(Row(f"I3D dive, {m.name}", m.seconds_per_dive, "s", seeds, choice.reference_seconds,
                       note=f"{verdict}: {m.agreement}"))
    out.append(Row(f"I3D dive, chosen: {choice.engine}", choice.seconds_per_dive, "s", seeds, choice.reference_seconds,
                   note=f"{choice.precision}; target <= 0.7 s (5x) if reduced precision agrees, else float32 <= 1.2 s"))
    return out


if __name__ == "__main__":
    print(format_table([("runtime", row) for row in rows()]))
