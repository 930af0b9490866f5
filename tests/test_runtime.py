"""Runtime choice: device and precision rules, threads, memory format, and that autocast really applies.

The real-I3D bf16-vs-float32 agreement on the real dives lives in test_backbones.py (it shares
that file's one expensive forward pass per clip and precision).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import aqa_core.backbones  # noqa: F401 - registers the backbones
from aqa_core.errors import AQAError
from aqa_core.registry import BACKBONES
from aqa_core.runtime import Runtime, choose_runtime, cpu_supports_bf16


@pytest.fixture(autouse=True)
def _restore_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_auto_on_cpu_is_float32_because_bf16_scores_disagree() -> None:
    """bf16 moves argmax-decoded scores by whole bins (test_runtime_choice.py): only a measured choice may use it."""
    runtime = choose_runtime("cpu")
    assert runtime.device == torch.device("cpu")
    assert runtime.autocast_dtype is None
    assert runtime.precision in runtime.description


@pytest.mark.skipif(not Path("/proc/cpuinfo").is_file(), reason="no /proc/cpuinfo here")
def test_cpu_bf16_support_is_read_from_the_cpu_flags() -> None:
    flags = Path("/proc/cpuinfo").read_text().split()
    assert cpu_supports_bf16() == ("avx512_bf16" in flags or "amx_bf16" in flags)


def test_explicit_precisions_and_threads() -> None:
    float32 = choose_runtime("cpu", "float32", threads=1)
    assert (float32.autocast_dtype, float32.precision, float32.threads) == (None, "float32", 1)
    assert torch.get_num_threads() == 1
    bf16 = choose_runtime("cpu", "bfloat16")
    assert (bf16.autocast_dtype, bf16.precision) == (torch.bfloat16, "bfloat16")


@pytest.mark.parametrize(
    "device,precision,message",
    [
        ("cpu", "float16", "float16 is not supported on the CPU"),
        ("cpu", "fp8", "unknown precision 'fp8'"),
        ("tpu", "auto", "unknown device 'tpu'"),
        ("mps", "auto", "'mps' is not supported"),
    ],
)
def test_impossible_choices_are_user_errors(device: str, precision: str, message: str) -> None:
    with pytest.raises(AQAError, match=message):
        choose_runtime(device, precision)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_a_gpu_is_a_user_error() -> None:
    with pytest.raises(AQAError, match="sees no CUDA GPU"):
        choose_runtime("cuda")


def test_autocast_runs_convolutions_in_bf16_without_autograd() -> None:
    runtime = choose_runtime("cpu", "bfloat16")
    x = torch.rand(1, 3, 4, 8, 8)
    with runtime.autocast():
        y = F.conv3d(x, torch.rand(2, 3, 3, 3, 3))
        assert y.dtype == torch.bfloat16
        assert y.is_inference()
    with choose_runtime("cpu", "float32").autocast():
        assert F.conv3d(x, torch.rand(2, 3, 3, 3, 3)).dtype == torch.float32


def test_prepare_uses_channels_last_3d_and_keeps_results() -> None:
    runtime = choose_runtime("cpu", "float32")
    x = torch.rand(2, 3, 16, 32, 32) * 2 - 1
    model = BACKBONES.build({"name": "tiny", "feature_dim": 16, "seed": 3})
    with torch.inference_mode():
        expected = model(x)
    prepared = runtime.prepare_module(model)
    assert not prepared.training
    assert prepared.features[0].weight.is_contiguous(memory_format=torch.channels_last_3d)
    batch = runtime.prepare_input(x)
    assert batch.is_contiguous(memory_format=torch.channels_last_3d)
    with runtime.autocast():
        torch.testing.assert_close(prepared(batch), expected, rtol=1e-4, atol=1e-5)


def test_bf16_features_stay_close_to_float32_on_the_tiny_backbone() -> None:
    x = torch.rand(4, 3, 16, 32, 32) * 2 - 1
    model = BACKBONES.build({"name": "tiny", "feature_dim": 32, "seed": 0})
    outputs = []
    for precision in ("float32", "bfloat16"):
        runtime = choose_runtime("cpu", precision)
        with runtime.autocast():
            outputs.append(runtime.prepare_module(model)(runtime.prepare_input(x)).float())
    assert F.cosine_similarity(*outputs, dim=1).min() > 0.99


def _cuda_runtime(dtype: torch.dtype | None) -> Runtime:
    return Runtime(torch.device("cuda"), dtype, True, 1, "test")


@pytest.mark.filterwarnings("ignore:CUDA is not available:UserWarning")  # a CUDA autocast entered on a machine without one
def test_cuda_float32_turns_tf32_off_inside_and_restores_pytorchs_settings() -> None:
    """The settings part, checkable without a GPU: TF32 off in a float32 CUDA runtime, left alone in a 16-bit one."""
    cudnn, matmul = torch.backends.cudnn, torch.backends.cuda.matmul
    before = (cudnn.allow_tf32, matmul.allow_tf32, cudnn.benchmark)
    cudnn.benchmark = True  # a setting of the user's (or a benchmark's) that must survive
    try:
        with _cuda_runtime(None).autocast():
            assert (cudnn.allow_tf32, matmul.allow_tf32, cudnn.benchmark) == (False, False, True)
        assert (cudnn.allow_tf32, matmul.allow_tf32) == before[:2]
        with _cuda_runtime(torch.bfloat16).autocast():
            assert cudnn.allow_tf32 == before[0]
    finally:
        cudnn.benchmark = before[2]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (scripts/gpu_check runs this file there)")
def test_cuda_float32_convolution_is_ieee_float32_not_tf32() -> None:
    """A 3-D convolution under the float32 CUDA runtime matches float64 to float32's precision; TF32 would be ~1e-3 off."""
    generator = torch.Generator().manual_seed(0)
    x, w = torch.randn(2, 64, 8, 28, 28, generator=generator), torch.randn(64, 64, 3, 3, 3, generator=generator)
    exact = F.conv3d(x.double(), w.double(), padding=1)
    with _cuda_runtime(None).autocast():
        got = F.conv3d(x.cuda(), w.cuda(), padding=1).cpu().double()
    relative = float((got - exact).abs().max() / exact.abs().max())
    assert relative < 1e-5, relative
