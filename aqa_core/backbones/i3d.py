"""Kinetics-400 Inception-v1 I3D (Carreira & Zisserman 2017), a faithful PyTorch port.

The layer names mirror DeepMind's kinetics-i3d (``Mixed_4b/Branch_1/Conv3d_0b_3x3`` becomes
``Mixed_4b.Branch_1.Conv3d_0b_3x3``) so converted weights map one-to-one and a reader can check
the port against the original line by line.

Batch norm is folded into the convolution when the weights are loaded: the backbone is only ever
used frozen (features for the AQA heads, Kinetics logits for ``doctor``), and with fixed statistics
BN is just a per-channel affine map. Folding removes a full pass over every activation, and the
fold happens in float64 before any bf16 rounding, so reduced precision loses nothing extra.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from aqa_core.backbones.preprocessing import BackboneInfo, Preprocessing
from aqa_core.backbones.same_padding import Triple, conv3d_same, max_pool3d_same
from aqa_core.registry import BACKBONES

BN_EPSILON = 1e-3  # Sonnet v1 BatchNorm, as in the original checkpoint
NUM_CLASSES = 400
FEATURE_DIM = 1024
# The Kinetics protocol I3D was trained on: short side 256, centre crop 224, values in [-1, 1].
PREPROCESSING = Preprocessing(
    description="rgb x/127.5-1, short side x256/224, centre crop 224 (aqa_core.clips v1)",
    crop=224,
    clip_len=16,
    short_side=256 / 224,
    divide=127.5,
    mean=(1.0, 1.0, 1.0),
)
INFO = BackboneInfo(label="I3D", preprocessing=PREPROCESSING, segmentation="usdl_10x16", pretrained_on="Kinetics-400")


class Unit3D(nn.Module):
    """Conv (TF SAME) + folded BatchNorm + ReLU; ``batch_norm`` records whether the checkpoint has BN stats."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel: Triple = (1, 1, 1),
        stride: Triple = (1, 1, 1),
        batch_norm: bool = True,
        relu: bool = True,
    ) -> None:
        super().__init__()
        self.conv = nn.Conv3d(in_channels, out_channels, kernel, stride, bias=True)
        self.batch_norm = batch_norm
        self.relu = relu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = conv3d_same(x, self.conv.weight, self.conv.bias, self.conv.stride)
        # In place: the conv output is ours alone, and on the CPU a fresh 100+ MB activation costs
        # more in page faults than the ReLU itself (measured ~6x on a Mixed_3 sized tensor).
        return x.relu_() if self.relu else x


class MaxPool3dSame(nn.Module):
    def __init__(self, kernel: Triple, stride: Triple) -> None:
        super().__init__()
        self.kernel = kernel
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return max_pool3d_same(x, self.kernel, self.stride)


class InceptionModule(nn.Module):
    """Four parallel branches concatenated on channels; ``widths`` in the paper's order."""

    def __init__(self, in_channels: int, widths: tuple[int, int, int, int, int, int]) -> None:
        super().__init__()
        w0, w1a, w1b, w2a, w2b, w3 = widths
        self.Branch_0 = nn.Sequential(OrderedDict(Conv3d_0a_1x1=Unit3D(in_channels, w0)))
        self.Branch_1 = nn.Sequential(
            OrderedDict(Conv3d_0a_1x1=Unit3D(in_channels, w1a), Conv3d_0b_3x3=Unit3D(w1a, w1b, (3, 3, 3)))
        )
        self.Branch_2 = nn.Sequential(
            OrderedDict(Conv3d_0a_1x1=Unit3D(in_channels, w2a), Conv3d_0b_3x3=Unit3D(w2a, w2b, (3, 3, 3)))
        )
        self.Branch_3 = nn.Sequential(
            OrderedDict(MaxPool3d_0a_3x3=MaxPool3dSame((3, 3, 3), (1, 1, 1)), Conv3d_0b_1x1=Unit3D(in_channels, w3))
        )
        self.out_channels = w0 + w1b + w2b + w3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.Branch_0(x), self.Branch_1(x), self.Branch_2(x), self.Branch_3(x)], dim=1)


# End points after the stem, in network order: inception widths, or (kernel, stride) of a max pool.
_MIXED: tuple[tuple[str, tuple[int, int, int, int, int, int] | tuple[Triple, Triple]], ...] = (
    ("Mixed_3b", (64, 96, 128, 16, 32, 32)),
    ("Mixed_3c", (128, 128, 192, 32, 96, 64)),
    ("MaxPool3d_4a_3x3", ((3, 3, 3), (2, 2, 2))),
    ("Mixed_4b", (192, 96, 208, 16, 48, 64)),
    ("Mixed_4c", (160, 112, 224, 24, 64, 64)),
    ("Mixed_4d", (128, 128, 256, 24, 64, 64)),
    ("Mixed_4e", (112, 144, 288, 32, 64, 64)),
    ("Mixed_4f", (256, 160, 320, 32, 128, 128)),
    ("MaxPool3d_5a_2x2", ((2, 2, 2), (2, 2, 2))),
    ("Mixed_5b", (256, 160, 320, 32, 128, 128)),
    ("Mixed_5c", (384, 192, 384, 48, 128, 128)),
)


class InceptionI3d(nn.Module):
    """Input (N, 3, T, H, W) RGB in [-1, 1]; ``forward`` -> (N, 1024) features, ``logits`` -> (N, 400)."""

    feature_dim = FEATURE_DIM

    def __init__(self) -> None:
        super().__init__()
        layers: OrderedDict[str, nn.Module] = OrderedDict(
            Conv3d_1a_7x7=Unit3D(3, 64, (7, 7, 7), (2, 2, 2)),
            MaxPool3d_2a_3x3=MaxPool3dSame((1, 3, 3), (1, 2, 2)),
            Conv3d_2b_1x1=Unit3D(64, 64),
            Conv3d_2c_3x3=Unit3D(64, 192, (3, 3, 3)),
            MaxPool3d_3a_3x3=MaxPool3dSame((1, 3, 3), (1, 2, 2)),
        )
        channels = 192
        for name, spec in _MIXED:
            if name.startswith("MaxPool"):
                layers[name] = MaxPool3dSame(*spec)  # type: ignore[arg-type]
            else:
                module = InceptionModule(channels, spec)  # type: ignore[arg-type]
                channels = module.out_channels
                layers[name] = module
        for name, layer in layers.items():  # top-level names, so state-dict keys equal checkpoint names
            self.add_module(name, layer)
        self.trunk_names = tuple(layers)
        self.Logits = nn.Sequential(
            OrderedDict(Conv3d_0c_1x1=Unit3D(FEATURE_DIM, NUM_CLASSES, batch_norm=False, relu=False))
        )

    def trunk(self, x: torch.Tensor) -> torch.Tensor:
        """Everything up to Mixed_5c: (N, 1024, T/8, H/32, W/32)."""
        for name in self.trunk_names:
            x = self.get_submodule(name)(x)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Mixed_5c averaged over time and space: the clip feature the AQA heads read.

        For a 16x224x224 clip Mixed_5c is 2x7x7, so this equals the original (2, 7, 7) average pool.
        """
        return self.trunk(x).mean(dim=(2, 3, 4))

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.features_and_logits(x)[1]

    def features_and_logits(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Both outputs from one trunk pass; logits exactly as the original: avg-pool (2, 7, 7) VALID,
        1x1x1 conv with bias, mean over the remaining time steps."""
        trunk = self.trunk(x)
        pooled = nn.functional.avg_pool3d(trunk, (2, 7, 7), stride=1)
        return trunk.mean(dim=(2, 3, 4)), self.Logits(pooled).mean(dim=(2, 3, 4))

    def units(self) -> dict[str, Unit3D]:
        """Every conv unit by its checkpoint name (``Mixed_3b.Branch_1.Conv3d_0b_3x3``)."""
        return {name: m for name, m in self.named_modules() if isinstance(m, Unit3D)}


def checkpoint_shapes() -> dict[str, tuple[int, ...]]:
    """Names and shapes of the converted (unfolded) checkpoint, derived from the architecture itself.

    ``X.conv.weight`` (Cout, Cin, T, H, W) for every unit; ``X.bn.{bias,running_mean,running_var}``
    for units with batch norm (no BN scale: Sonnet's ``use_scale=False``); ``X.conv.bias`` otherwise.
    """
    with torch.device("meta"):
        model = InceptionI3d()
    shapes: dict[str, tuple[int, ...]] = {}
    for name, unit in model.units().items():
        weight = tuple(unit.conv.weight.shape)
        shapes[f"{name}.conv.weight"] = weight
        suffixes = ("bn.bias", "bn.running_mean", "bn.running_var") if unit.batch_norm else ("conv.bias",)
        for suffix in suffixes:
            shapes[f"{name}.{suffix}"] = (weight[0],)
    return shapes


def fold_checkpoint(checkpoint: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Turn the converted checkpoint into this module's state dict by folding BN into each conv."""
    with torch.device("meta"):
        model = InceptionI3d()
    state: dict[str, torch.Tensor] = {}
    for name, unit in model.units().items():
        weight = checkpoint[f"{name}.conv.weight"].double()
        if unit.batch_norm:
            scale = torch.rsqrt(checkpoint[f"{name}.bn.running_var"].double() + BN_EPSILON)
            weight = weight * scale.view(-1, 1, 1, 1, 1)
            bias = checkpoint[f"{name}.bn.bias"].double() - checkpoint[f"{name}.bn.running_mean"].double() * scale
        else:
            bias = checkpoint[f"{name}.conv.bias"].double()
        state[f"{name}.conv.weight"] = weight.float()
        state[f"{name}.conv.bias"] = bias.float()
    return state


@BACKBONES.register("i3d", declares=INFO)
def build_i3d(pretrained: bool = True) -> InceptionI3d:
    """The registry entry: Kinetics-400 weights when ``pretrained`` (WeightsError if not installed)."""
    if not pretrained:
        return InceptionI3d().eval().requires_grad_(False)
    # Imported here because aqa_core.weights validates against this module's architecture.
    from aqa_core.weights import load_i3d_state_dict

    state = fold_checkpoint(load_i3d_state_dict())
    with torch.device("meta"):  # no random initialisation of 12 M weights that are replaced at once
        model = InceptionI3d()
    model.load_state_dict(state, assign=True)  # strict: every parameter is the checkpoint's, none left on meta
    return model.eval().requires_grad_(False)
