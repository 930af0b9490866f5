"""R(2+1)D-18 (Tran et al. 2018), the Weight-Decider paper's (2+1)D ResNet, in torchvision's exact form.

Module and parameter names are torchvision's ``r2plus1d_18`` (``stem.0.weight``,
``layer2.0.conv1.0.3.weight``, ``layer2.0.downsample.1.running_mean``, ``fc.weight``), so its
published Kinetics-400 checkpoint loads as it is, without torchvision installed. Each (2+1)D
convolution is a 1 x 3 x 3 spatial convolution to ``mid`` channels, batch norm, ReLU, then a
3 x 1 x 1 temporal one, with ``mid`` chosen so the pair has as many parameters as one 3 x 3 x 3.
The clip feature is the 512-d global average before the classifier.

Pixels as torchvision's ``R2Plus1D_18_Weights`` transforms (and the Weight-Decider paper):
resize to 128 x 171, centre crop 112, ``(x/255 - mean) / std`` with the Kinetics mean and std;
the dive resampled to 96 frames in six non-overlapping 16-frame clips.
"""

from __future__ import annotations

import torch
from torch import nn

from aqa_core.backbones.preprocessing import BackboneInfo, Preprocessing
from aqa_core.registry import BACKBONES

FEATURE_DIM = 512
NUM_CLASSES = 400
PREPROCESSING = Preprocessing(
    description="rgb (x/255-kinetics mean)/std, resize 128x171, centre crop 112, 16-frame clips (torchvision R(2+1)D)",
    crop=112,
    clip_len=16,
    resize=(128, 171),
    divide=255.0,
    mean=(0.43216, 0.394666, 0.37645),
    std=(0.22803, 0.22145, 0.216989),
)
INFO = BackboneInfo(
    label="R(2+1)D",
    preprocessing=PREPROCESSING,
    segmentation={"name": "uniform", "clips": 6, "clip_len": 16, "num_frames": 96},
    pretrained_on="Kinetics-400",
    weights_file=True,
    source="r2plus1d_18-91a641e6.pth, torchvision's Kinetics-400 R(2+1)D-18 (https://download.pytorch.org/models/r2plus1d_18-91a641e6.pth)",
)


def _conv2plus1d(cin: int, cout: int, mid: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv3d(cin, mid, (1, 3, 3), (1, stride, stride), (0, 1, 1), bias=False),
        nn.BatchNorm3d(mid),
        nn.ReLU(inplace=True),
        nn.Conv3d(mid, cout, (3, 1, 1), (stride, 1, 1), (1, 0, 0), bias=False),
    )


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        mid = (cin * cout * 27) // (cin * 9 + 3 * cout)
        self.conv1 = nn.Sequential(_conv2plus1d(cin, cout, mid, stride), nn.BatchNorm3d(cout), nn.ReLU(inplace=True))
        self.conv2 = nn.Sequential(_conv2plus1d(cout, cout, mid), nn.BatchNorm3d(cout))
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv3d(cin, cout, 1, stride, bias=False), nn.BatchNorm3d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = x if self.downsample is None else self.downsample(x)
        return (self.conv2(self.conv1(x)) + residual).relu_()


class R2Plus1D(nn.Module):
    """Input (N, 3, T, H, W) as ``PREPROCESSING`` makes it; ``forward`` -> (N, 512), ``logits`` -> (N, 400)."""

    feature_dim = FEATURE_DIM

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv3d(3, 45, (1, 7, 7), (1, 2, 2), (0, 3, 3), bias=False),
            nn.BatchNorm3d(45),
            nn.ReLU(inplace=True),
            nn.Conv3d(45, 64, (3, 1, 1), 1, (1, 0, 0), bias=False),
            nn.BatchNorm3d(64),
            nn.ReLU(inplace=True),
        )
        cin = 64
        for index, (cout, stride) in enumerate(((64, 1), (128, 2), (256, 2), (512, 2)), start=1):
            self.add_module(f"layer{index}", nn.Sequential(BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)))
            cin = cout
        self.fc = nn.Linear(FEATURE_DIM, NUM_CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for index in range(1, 5):
            x = self.get_submodule(f"layer{index}")(x)
        return x.mean(dim=(2, 3, 4))

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.forward(x))


@BACKBONES.register("r2plus1d", declares=INFO)
def build_r2plus1d(pretrained: bool = True, weights: str | None = None) -> R2Plus1D:
    """The registry entry: the Kinetics-400 weights from the file ``weights`` names when ``pretrained``."""
    from aqa_core.backbones.weights_file import load_named_weights

    model = R2Plus1D()
    if pretrained:
        model.weights_sha256 = load_named_weights({"weights": weights}, INFO, model)
    return model.eval().requires_grad_(False)
