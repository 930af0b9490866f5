"""Backbones: TF-SAME padding, BN folding, the tiny test backbone, and the real Kinetics I3D on real dives."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
import torch.nn.functional as F

import aqa_core.backbones  # noqa: F401 - registers the backbones
from aqa_core.backbones.i3d import BN_EPSILON, InceptionI3d, checkpoint_shapes, fold_checkpoint
from aqa_core.backbones.kinetics import clip_probabilities, kinetics_labels, top_classes
from aqa_core.backbones.same_padding import conv3d_same, max_pool3d_same, same_pads
from aqa_core.clips import load_dive_clips
from aqa_core.paths import shared_dir
from aqa_core.registry import BACKBONES
from aqa_core.runtime import choose_runtime, cpu_supports_bf16


def _tf_pad(x: torch.Tensor, kernel: tuple[int, ...], stride: tuple[int, ...], value: float) -> torch.Tensor:
    """Reference: pad every dimension explicitly the way TF "SAME" does."""
    pads = [same_pads(n, k, s) for n, k, s in zip(x.shape[2:], kernel, stride, strict=True)]
    return F.pad(x, [p for pair in reversed(pads) for p in pair], value=value)


@pytest.mark.parametrize("size,kernel,stride", list(itertools.product((1, 2, 5, 7, 8, 14, 15), (1, 2, 3), (1, 2))))
def test_max_pool_same_matches_explicit_minus_inf_padding(size: int, kernel: int, stride: int) -> None:
    x = torch.randn(1, 2, size, size + 1, 3)
    k, s = (kernel, kernel, 1), (stride, stride, 1)
    expected = F.max_pool3d(_tf_pad(x, k, s, float("-inf")), k, s)
    got = max_pool3d_same(x, k, s)
    assert got.shape[2] == math.ceil(size / stride)
    torch.testing.assert_close(got, expected, rtol=0, atol=0)


@pytest.mark.parametrize("size,kernel,stride", [(16, 7, 2), (15, 7, 2), (9, 3, 1), (10, 3, 2), (4, 1, 1)])
def test_conv_same_matches_explicit_zero_padding(size: int, kernel: int, stride: int) -> None:
    x = torch.randn(2, 3, size, size, size)
    weight = torch.randn(4, 3, kernel, kernel, kernel)
    bias = torch.randn(4)
    strides = (stride,) * 3
    expected = F.conv3d(_tf_pad(x, weight.shape[2:], strides, 0.0), weight, bias, strides)
    got = conv3d_same(x, weight, bias, strides)
    assert got.shape[2:] == (math.ceil(size / stride),) * 3
    torch.testing.assert_close(got, expected)


def test_tf_same_is_asymmetric_with_the_extra_pixel_after() -> None:
    # I3D's first layer: 224 pixels, kernel 7, stride 2 -> 112 outputs, 5 padded: 2 before, 3 after.
    assert same_pads(224, 7, 2) == (2, 3)
    assert same_pads(112, 3, 2) == (0, 1)


def _random_checkpoint(seed: int = 0) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    checkpoint = {name: torch.randn(shape, generator=generator) * 0.1 for name, shape in checkpoint_shapes().items()}
    for name in checkpoint:
        if name.endswith("running_var"):
            checkpoint[name] = checkpoint[name].abs() + 0.05
    return checkpoint


def test_folded_batch_norm_equals_conv_then_batch_norm() -> None:
    checkpoint = _random_checkpoint()
    model = InceptionI3d()
    model.load_state_dict(fold_checkpoint(checkpoint), strict=True)
    name = "Mixed_4b.Branch_1.Conv3d_0b_3x3"
    x = torch.randn(2, 96, 4, 6, 6)
    conv = conv3d_same(x, checkpoint[f"{name}.conv.weight"], None, (1, 1, 1))
    expected = torch.relu(
        F.batch_norm(
            conv,
            checkpoint[f"{name}.bn.running_mean"],
            checkpoint[f"{name}.bn.running_var"],
            weight=None,  # Sonnet v1 I3D has no BN scale
            bias=checkpoint[f"{name}.bn.bias"],
            eps=BN_EPSILON,
        )
    )
    torch.testing.assert_close(model.get_submodule(name)(x), expected, rtol=1e-4, atol=1e-4)


def test_untrained_i3d_has_the_interface_shapes() -> None:
    model = BACKBONES.build({"name": "i3d", "pretrained": False})
    assert model.feature_dim == 1024
    with torch.inference_mode():
        features = model(torch.rand(2, 3, 16, 64, 64) * 2 - 1)
    assert features.shape == (2, 1024)


def test_tiny_backbone_is_seeded_and_leaves_the_global_rng_alone() -> None:
    x = torch.rand(3, 3, 16, 32, 32) * 2 - 1
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    first = BACKBONES.build({"name": "tiny", "feature_dim": 64, "seed": 0})
    assert torch.equal(torch.rand(1), before)
    second = BACKBONES.build({"name": "tiny", "feature_dim": 64, "seed": 0})
    other = BACKBONES.build({"name": "tiny", "feature_dim": 64, "seed": 1})
    with torch.inference_mode():
        assert first(x).shape == (3, 64) and first.feature_dim == 64
        assert first.logits(x).shape == (3, 400)
        assert torch.equal(first(x), second(x))
        assert not torch.allclose(first(x), other(x))


def test_kinetics_labels_are_the_400_classes() -> None:
    labels = kinetics_labels()
    assert len(labels) == 400 and len(set(labels)) == 400
    assert labels.index("springboard diving") == 329  # index fixed by the Kinetics-400 classifier


# --- the real backbone on the real clips ------------------------------------------------------


@pytest.fixture(scope="module")
def real_outputs() -> dict[tuple[str, str], tuple[torch.Tensor, torch.Tensor]]:
    """(clip, precision) -> (features (10, 1024), logits (10, 400)); one batched forward each.

    bf16 only where the CPU computes it natively: emulated (AVX2 alone) one I3D clip took 114 s
    against 0.86 s in float32, and the engine chooser never offers bf16 there (test_runtime_choice.py).
    """
    shared = shared_dir()
    if shared is None:
        pytest.skip("../shared (real clips) is not present")
    model = BACKBONES.build({"name": "i3d", "pretrained": True})
    outputs = {}
    for precision in ("float32", "bfloat16") if cpu_supports_bf16() else ("float32",):
        runtime = choose_runtime("cpu", precision)
        runtime.prepare_module(model)
        for video in sorted((shared / "data" / "clips").glob("*.mp4")):
            clips = load_dive_clips(video).clips
            with runtime.autocast():
                features, logits = model.features_and_logits(runtime.prepare_input(clips))
            outputs[(video.name, precision)] = (features.float(), logits.float())
    return outputs


@pytest.mark.slow
@pytest.mark.weights
@pytest.mark.shared
def test_real_dives_are_springboard_diving(real_outputs) -> None:
    """The proof the port is right: wrong padding, channel order or normalisation breaks this."""
    for (video, precision), (_, logits) in real_outputs.items():
        if precision == "float32":
            top = top_classes(logits.softmax(dim=1).mean(dim=0), 1)[0]
            assert top[0] == "springboard diving", (video, top)
            assert top[1] > 0.3, (video, top)


@pytest.mark.slow
@pytest.mark.weights
@pytest.mark.shared
def test_bfloat16_agrees_with_float32_on_real_dives(real_outputs) -> None:
    if not cpu_supports_bf16():
        pytest.skip("this CPU has no native bf16 (AVX512-BF16 or AMX): bf16 is emulated here and never chosen")
    for video in {name for name, _ in real_outputs}:
        features32, logits32 = real_outputs[(video, "float32")]
        features16, logits16 = real_outputs[(video, "bfloat16")]
        cosine = F.cosine_similarity(features32, features16, dim=1)
        assert cosine.min() > 0.99, (video, cosine)
        assert torch.equal(logits32.mean(dim=0).argmax(), logits16.mean(dim=0).argmax())


def test_clip_probabilities_average_the_softmax_of_every_clip() -> None:
    runtime = choose_runtime("cpu", "float32")
    model = runtime.prepare_module(BACKBONES.build({"name": "tiny", "feature_dim": 8, "seed": 0}))
    clips = torch.rand(4, 3, 16, 32, 32) * 2 - 1
    probabilities = clip_probabilities(model, clips, runtime)
    with torch.inference_mode():
        expected = torch.stack([model.logits(clip[None])[0].softmax(dim=0) for clip in clips]).mean(dim=0)
    assert probabilities.shape == (400,)
    torch.testing.assert_close(probabilities, expected)
    labels = [label for label, _ in top_classes(probabilities, 5)]
    assert labels[0] == kinetics_labels()[int(expected.argmax())] and len(set(labels)) == 5
