"""The measured backbone-engine choice: agreement excludes a wrong engine, the cache is reused and
invalidated, ``doctor`` shows the choice, and the float32 path gives exactly today's features.

All on the tiny backbone and small random probe clips (the real probes are two rendered dives and
the real candidates run the 56-GFLOP I3D: benchmarks/bench_runtime.py measures those).
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from aqa_core.bundle import ModelBundle, bundle_from_model, save_bundle
from aqa_core.inference import choice as choice_module
from aqa_core.inference.agreement import MARGIN_SAFETY, TOLERANCE, compare
from aqa_core.inference.choice import Candidate, cache_path, chosen_engine, measure_and_choose, measure_quickly
from aqa_core.inference.engines import TorchEngine
from aqa_core.methods import build_method
from aqa_core.runtime import Runtime, choose_runtime
from cli.main import main

CONFIG = Path(__file__).resolve().parent.parent / "configs" / "models" / "musdl_tiny.json"
CPU = torch.device("cpu")


def tiny_bundle(seed: int = 0) -> ModelBundle:
    torch.manual_seed(seed)
    return bundle_from_model(build_method(json.loads(CONFIG.read_text())), "tiny", "0", {"dataset": "none", "synthetic": True, "intended_use": "tests"})


@pytest.fixture
def probes(monkeypatch: pytest.MonkeyPatch) -> list[torch.Tensor]:
    """Small random clips instead of two rendered 224^2 dives, and no OpenVINO conversion, for every chooser in the test."""
    from aqa_core.inference import openvino_engine

    clips = [torch.rand(4, 3, 8, 16, 16, generator=torch.Generator().manual_seed(seed)) * 2 - 1 for seed in (1, 2)]
    monkeypatch.setattr(choice_module, "probe_clip", lambda scheme: clips[0])
    monkeypatch.setattr(openvino_engine, "openvino_available", lambda: False)
    monkeypatch.setattr(choice_module, "UNMEASURED_BACKBONES", ())  # measure the tiny backbone as if it were the I3D
    return clips


@pytest.fixture(autouse=True)
def _restore_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


class PerturbedEngine:
    """A deliberately wrong engine that is also the fastest: float32 features plus large noise, memoised
    per input so every timed run after the first costs nothing."""

    name = "perturbed"
    precision = "bfloat16"
    device = CPU
    clip_by_clip = True

    def __init__(self, inner: TorchEngine) -> None:
        self.inner = inner
        self.seen: dict[tuple[int, int], torch.Tensor] = {}
        self.clips_run = 0

    def features(self, clips: torch.Tensor) -> torch.Tensor:
        self.clips_run += len(clips)
        key = (clips.data_ptr(), len(clips))
        if key not in self.seen:
            clean = self.inner.features(clips)
            self.seen[key] = clean + 5 * torch.randn(clean.shape, generator=torch.Generator().manual_seed(0))
        return self.seen[key]


class SlowEngine:
    """float32 features, ``seconds`` per clip slower: agrees exactly, and one clip shows it cannot win."""

    precision = "float32"
    device = CPU
    clip_by_clip = True

    def __init__(self, inner: TorchEngine, seconds: float, name: str = "slow") -> None:
        self.inner, self.seconds, self.name = inner, seconds, name
        self.clips_run = 0

    def features(self, clips: torch.Tensor) -> torch.Tensor:
        self.clips_run += len(clips)
        time.sleep(self.seconds * len(clips))
        return self.inner.features(clips)


def _f32(model: torch.nn.Module, clip_by_clip: bool = False) -> TorchEngine:
    return TorchEngine(model.backbone, Runtime(CPU, None, not clip_by_clip, 1, "test"), clip_by_clip)


def test_the_chooser_excludes_a_faster_candidate_whose_scores_disagree(probes: list[torch.Tensor]) -> None:
    model = build_method(json.loads(CONFIG.read_text())).eval()
    candidates = [Candidate("pytorch float32 batched", lambda: _f32(model)), Candidate("perturbed", lambda: PerturbedEngine(_f32(model)))]
    choice = measure_and_choose(model, lambda: _f32(model, clip_by_clip=True), candidates, probes, "argmax")
    good, bad = choice.measured
    assert bad.name == "perturbed" and not bad.qualifies
    assert max(bad.final_diff, bad.clip_diff) > TOLERANCE and "outside the tolerance" in bad.problem
    assert bad.seconds_per_dive < good.seconds_per_dive  # excluded for its scores, not its speed
    assert good.qualifies and (good.final_diff, good.clip_diff) == (0.0, 0.0) and good.describe().endswith(": agrees")
    assert (choice.engine, choice.precision) == ("pytorch float32 batched", "float32")
    assert "excluded: perturbed (" in choice.reason


def test_the_quick_measurement_runs_a_whole_dive_only_where_it_can_change_the_answer(probes: list[torch.Tensor]) -> None:
    """The perturbed engine (fastest) already disagrees on its first clip; the slow one agrees, but one clip
    puts its dive above the fast agreeing candidate's. Neither runs the whole dive; the fast one is chosen
    and handed back built."""
    model = build_method(json.loads(CONFIG.read_text())).eval()
    probe = probes[0]
    perturbed, slow = PerturbedEngine(_f32(model, clip_by_clip=True)), SlowEngine(_f32(model, clip_by_clip=True), 0.05)
    fast = _f32(model, clip_by_clip=True)
    candidates = [Candidate("perturbed", lambda: perturbed), Candidate("slow", lambda: slow), Candidate("pytorch float32 clip by clip", lambda: fast)]
    seeds_way = SlowEngine(_f32(model, clip_by_clip=True), 0.02, "seeds")
    choice, engine = measure_quickly(model, lambda: _f32(model), lambda: seeds_way, candidates, probe, "argmax")
    assert (perturbed.clips_run, slow.clips_run, seeds_way.clips_run) == (2, 2, 2)  # a warm-up clip and a timed clip each
    by_name = {m.name: m for m in choice.measured}
    assert not by_name["perturbed"].qualifies and by_name["perturbed"].problem.startswith("on its first clip alone")
    assert not by_name["slow"].qualifies and by_name["slow"].problem.startswith("not run in full: one clip puts it at")
    assert by_name["slow"].from_one_clip and by_name["slow"].seconds_per_dive >= 0.05 * len(probe)
    assert by_name["pytorch float32 batched"].qualifies  # the reference is a candidate itself
    assert choice.engine in ("pytorch float32 batched", "pytorch float32 clip by clip") and engine.name == choice.engine
    assert choice.reference_seconds >= 0.02 * len(probe)  # the seeds' way: one clip's time, ten... (here four) times
    assert "EXCLUDED: not run in full" in by_name["slow"].describe()


def test_a_candidate_that_cannot_run_is_recorded_and_never_chosen(probes: list[torch.Tensor]) -> None:
    model = build_method(json.loads(CONFIG.read_text())).eval()

    def broken() -> TorchEngine:
        raise RuntimeError("no such instruction set")

    choice = measure_and_choose(model, lambda: _f32(model, clip_by_clip=True), [Candidate("broken", broken)], probes, "argmax")
    assert choice.engine == "pytorch float32 clip by clip"  # the reference is the fallback
    assert "no candidate agreed" in choice.reason
    assert choice.measured[0].problem == "cannot run here (RuntimeError: no such instruction set)"


def test_agreement_compares_decoded_scores_not_features() -> None:
    model = build_method(json.loads(CONFIG.read_text())).eval()
    features = torch.randn(4, model.backbone.feature_dim, generator=torch.Generator().manual_seed(3))
    assert compare(model, [features], [features.clone()], "argmax").holds
    moved = compare(model, [features], [features + 5 * torch.randn(features.shape, generator=torch.Generator().manual_seed(4))], "argmax")
    assert not moved.holds and moved.clip > TOLERANCE


def test_the_closest_argmax_call_by_hand() -> None:
    """Bin 0 leads bin 1 by log(0.5/0.3) = 0.511 and bin 2 by log(0.5/0.2) = 0.916. The candidates keep
    bin 0 on top; the mild one shrinks the first lead to log(0.45/0.33) = 0.310 (a change of 0.201,
    ratio 2.54), the close one to log(0.42/0.35) = 0.182 (a change of 0.328, ratio 1.56)."""
    from aqa_core.inference.agreement import Agreement, _closest_call

    reference = np.array([[0.5, 0.3, 0.2]])
    mild, close = np.array([[0.45, 0.33, 0.22]]), np.array([[0.42, 0.35, 0.23]])
    lead = math.log(0.5 / 0.3)
    assert _closest_call(reference, mild) == pytest.approx(lead / (lead - math.log(0.45 / 0.33)))
    assert _closest_call(reference, close) == pytest.approx(lead / (lead - math.log(0.42 / 0.35)))
    assert 2.5 < _closest_call(reference, mild) < 2.6 and 1.5 < _closest_call(reference, close) < 1.6
    assert _closest_call(reference, reference.copy()) == math.inf
    flipped = np.array([[0.3, 0.5, 0.2]])
    assert _closest_call(reference, flipped) < 1  # a flip is a change larger than the lead
    assert Agreement(0.0, 0.0, 2.54, argmax=True).holds and not Agreement(0.0, 0.0, 1.56, argmax=True).holds
    assert Agreement(0.0, 0.0, 1.56, argmax=False).holds  # expectation decoding moves smoothly: the points decide
    assert MARGIN_SAFETY == 2.0


def test_the_choice_is_cached_and_measured_again_when_the_weights_change(
    isolated_home: Path, probes: list[torch.Tensor], monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = tiny_bundle()
    model = build_method(bundle.config).eval()
    weights = {"sha": "a" * 64}
    monkeypatch.setattr(choice_module, "installed_backbone_sha256", lambda config, keys: weights["sha"])
    calls = []
    real = choice_module.measure_quickly
    monkeypatch.setattr(choice_module, "measure_quickly", lambda *a, **k: calls.append(1) or real(*a, **k))

    engine, first = chosen_engine(model, bundle, "argmax", "cpu", threads=1)
    assert (len(calls), first.cached, engine.name) == (1, False, first.engine)
    assert cache_path().parent == isolated_home
    _, again = chosen_engine(model, bundle, "argmax", "cpu", threads=1)
    assert (len(calls), again.cached, again.engine) == (1, True, first.engine)
    assert again.measured == first.measured

    weights["sha"] = "b" * 64
    _, other = chosen_engine(model, bundle, "argmax", "cpu", threads=1)
    assert (len(calls), other.cached) == (2, False)
    stored = json.loads(cache_path().read_text())
    assert sorted(entry["key"]["weights_sha256"] for entry in stored.values()) == ["a" * 64, "b" * 64]


def test_an_unreadable_cache_is_measured_again(isolated_home: Path, probes: list[torch.Tensor]) -> None:
    bundle = tiny_bundle()
    model = build_method(bundle.config).eval()
    cache_path().write_text("{not json")
    _, choice = chosen_engine(model, bundle, "argmax", "cpu", threads=1)
    assert not choice.cached and json.loads(cache_path().read_text())


def test_doctor_shows_the_engine_its_precision_and_why(
    isolated_home: Path, probes: list[torch.Tensor], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = save_bundle(tiny_bundle(), tmp_path / "tiny")
    assert main(["doctor", "--device", "cpu", "--model", str(folder)]) == 0
    assert "(not measured for model 'tiny')" in capsys.readouterr().out and not cache_path().exists()
    assert main(["doctor", "--device", "cpu", "--model", str(folder), "--measure"]) == 0
    out = capsys.readouterr().out
    engine_line = next(line for line in out.splitlines() if line.startswith("engine: pytorch"))
    assert "measured now for model 'tiny'" in engine_line and engine_line.split(", ")[1].split(" ")[0] in ("float32", "bfloat16")
    assert "why: fastest of" in out and "- pytorch float32 batched:" in out and "\ncpu: " in out
    assert main(["doctor", "--device", "cpu", "--model", str(folder)]) == 0
    assert "cached for model 'tiny'" in capsys.readouterr().out


def test_the_tiny_test_backbone_is_not_measured(isolated_home: Path) -> None:
    bundle = tiny_bundle()
    engine, choice = chosen_engine(build_method(bundle.config).eval(), bundle, "argmax", "cpu", threads=1)
    assert (engine.name, choice.reason) == ("pytorch float32 batched", "the tiny backbone is not measured")
    assert not cache_path().exists()


def test_doctor_without_weights_says_why_no_engine_is_chosen(isolated_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor", "--device", "cpu"]) == 0
    line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("engine:"))
    assert line.startswith("engine: not chosen (") and "weights" in line


@pytest.mark.parametrize("backbone", [{"name": "tiny", "feature_dim": 16, "seed": 2}, {"name": "i3d", "pretrained": False}])
def test_the_float32_engine_gives_exactly_todays_features(backbone: dict) -> None:
    """Today's scorer ran ``model.features`` under ``runtime.autocast()`` on the prepared input."""
    from aqa_core.registry import BACKBONES

    torch.manual_seed(0)
    module = BACKBONES.build(backbone)
    runtime = choose_runtime("cpu", "float32", threads=1)
    clips = torch.rand(2, 3, 16, 64, 64, generator=torch.Generator().manual_seed(5)) * 2 - 1
    engine = TorchEngine(module, runtime)
    with runtime.autocast():
        today = module(runtime.prepare_input(clips)).float()
    assert torch.equal(engine.features(clips), today)
    torch.testing.assert_close(TorchEngine(module, runtime, clip_by_clip=True).features(clips), today, rtol=1e-5, atol=1e-5)


def test_openvino_float32_matches_pytorch_and_converts_once(isolated_home: Path) -> None:
    pytest.importorskip("openvino")
    from aqa_core.inference.openvino_engine import OpenVinoEngine, converted_model_path, ensure_converted
    from aqa_core.registry import BACKBONES

    module = BACKBONES.build({"name": "tiny", "feature_dim": 16, "seed": 2}).eval()
    path = ensure_converted(module, "c" * 64, (3, 16, 32, 32))
    assert path == converted_model_path("c" * 64) and path.parent.parent == isolated_home / "weights"
    stamp = path.stat().st_mtime_ns
    assert ensure_converted(module, "c" * 64, (3, 16, 32, 32)).stat().st_mtime_ns == stamp
    clips = torch.rand(3, 3, 16, 32, 32, generator=torch.Generator().manual_seed(6)) * 2 - 1
    with torch.inference_mode():
        expected = module(clips)
    engine = OpenVinoEngine(path, "float32", threads=1)
    assert (engine.name, engine.precision, engine.clip_by_clip) == ("openvino float32 clip by clip", "float32", True)
    torch.testing.assert_close(engine.features(clips), expected, rtol=1e-4, atol=1e-5)
    assert any((path.parent / "compiled").iterdir())  # OpenVINO's compiled blob: the next start loads it
    streams = OpenVinoEngine(path, "float32", threads=2, streams=2)
    assert (streams.name, streams.clip_by_clip) == ("openvino float32 clips on 2 streams", False)
    torch.testing.assert_close(streams.features(clips), expected, rtol=1e-4, atol=1e-5)  # in clip order, from two streams
    torch.testing.assert_close(streams.features(clips[:1]), expected[:1], rtol=1e-4, atol=1e-5)  # one clip: the latency model


@pytest.mark.parametrize("size", [17, 32])
def test_openvino_max_pools_compute_no_indices_and_pool_as_pytorch(tmp_path: Path, size: int) -> None:
    """torch.export writes max_pool3d_with_indices; the saved model pools without them, with the same TF-SAME windows."""
    pytest.importorskip("openvino")
    from aqa_core.backbones.i3d import MaxPool3dSame
    from aqa_core.inference.openvino_engine import OpenVinoEngine, _core, convert

    torch.manual_seed(3)
    module = torch.nn.Sequential(torch.nn.Conv3d(3, 4, 3, padding=1), MaxPool3dSame((1, 3, 3), (1, 2, 2)),
                                 MaxPool3dSame((3, 3, 3), (1, 1, 1)), MaxPool3dSame((2, 2, 2), (2, 2, 2)),
                                 torch.nn.Flatten()).eval()
    shape = (3, 8, size, size)
    path = convert(module, shape, tmp_path / "pools.openvino" / "i3d.xml")
    saved = _core().read_model(str(path))  # through the process's one Core (see openvino_engine)
    pools = [op for op in saved.get_ordered_ops() if op.get_type_name() == "MaxPool"]
    assert len(pools) == 3 and all(op.get_output_size() == 1 for op in pools)
    clips = torch.rand(2, *shape, generator=torch.Generator().manual_seed(4)) * 2 - 1
    with torch.inference_mode():
        expected = module(clips)
    # the convolution's sums run in another order in OpenVINO's kernels on some CPUs (exact on AVX-512,
    # 3e-7 apart on AVX2); a pool with a wrong window or padding moves values by the data's own scale (~0.1)
    torch.testing.assert_close(OpenVinoEngine(path, "float32", threads=1).features(clips), expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(("avx512_bf16", "amx", "offered"), [(False, False, False), (True, False, True), (False, True, True)])
def test_bf16_is_a_candidate_only_where_the_cpu_computes_it(monkeypatch: pytest.MonkeyPatch, avx512_bf16: bool, amx: bool, offered: bool) -> None:
    """Emulated bf16 (AVX2 alone) ran one I3D clip in 114 s against 0.86 s in float32: it must never be measured there."""
    from aqa_core.inference.cpu import CpuFeatures

    features = CpuFeatures("test CPU", "AVX2", avx512=amx or avx512_bf16, avx512_bf16=avx512_bf16, amx=amx)
    monkeypatch.setattr(choice_module, "cpu_features", lambda: features)
    names = [candidate.name for candidate in choice_module.candidates_for(torch.nn.Identity(), CPU, 2, None, (3, 16, 32, 32))]  # lazy: nothing built
    assert names[0] == choice_module.REFERENCE_NAME and "pytorch float32 clip by clip" in names
    assert any("bfloat16" in name for name in names) == offered, names


def test_one_openvino_engine_called_from_two_threads_at_once_answers_both(isolated_home: Path) -> None:
    """The desk's warm-up and the first dive's analysis share the engine: on a new machine the dive failed with
    OpenVINO's "Infer Request is busy"."""
    pytest.importorskip("openvino")
    from concurrent.futures import ThreadPoolExecutor

    from aqa_core.inference.openvino_engine import OpenVinoEngine, ensure_converted
    from aqa_core.registry import BACKBONES

    module = BACKBONES.build({"name": "tiny", "feature_dim": 16, "seed": 2}).eval()
    clips = torch.rand(4, 3, 16, 32, 32, generator=torch.Generator().manual_seed(7)) * 2 - 1
    with torch.inference_mode():
        expected = module(clips)
    path = ensure_converted(module, "d" * 64, (3, 16, 32, 32))
    for engine in (OpenVinoEngine(path, "float32", threads=1), OpenVinoEngine(path, "float32", threads=2, streams=2)):
        with ThreadPoolExecutor(4) as pool:
            answers = [pool.submit(engine.features, clips) for _ in range(16)]
            for answer in answers:
                torch.testing.assert_close(answer.result(), expected, rtol=1e-4, atol=1e-5)
