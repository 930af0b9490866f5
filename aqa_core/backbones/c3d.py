"""C3D (Tran et al. 2015) up to pool5, the backbone of MTL-AQA's C3D-AVG, with its Sports-1M weights.

Layer names are those of the Sports-1M ``c3d.pickle`` that MTL-AQA's code loads (DavideA's
PyTorch port of the Caffe model: ``conv1`` ... ``conv5b``), so the file loads as published; its
classifier (``fc6``-``fc8``) is not part of the backbone and is skipped. The clip feature is pool5
flattened, 512 x 1 x 4 x 4 = 8192 values for a 16 x 112 x 112 clip, which MTL-AQA averages over
the dive's six clips, so C3D takes clips of exactly that size and nothing else.

Pixels as MTL-AQA and mmaction2's Sports-1M C3D: frames resized to 128 x 171, centre crop 112,
RGB minus the Sports-1M mean (104, 117, 128), no scaling; the dive resampled to 96 frames in six
non-overlapping 16-frame clips (MTL-AQA, section 4.1).
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from aqa_core.backbones.preprocessing import BackboneInfo, Preprocessing
from aqa_core.registry import BACKBONES

FEATURE_DIM = 8192
CLIP_SHAPE = (16, 112, 112)
PREPROCESSING = Preprocessing(
    description="rgb x-(104,117,128), resize 128x171, centre crop 112, 16-frame clips (C3D Sports-1M)",
    crop=112,
    clip_len=16,
    resize=(128, 171),
    mean=(104.0, 117.0, 128.0),
)
INFO = BackboneInfo(
    label="C3D",
    preprocessing=PREPROCESSING,
    segmentation={"name": "uniform", "clips": 6, "clip_len": 16, "num_frames": 96},
    pretrained_on="Sports-1M",
    weights_file=True,
    source="c3d.pickle, the Sports-1M C3D weights linked from github.com/ParitoshParmar/MTL-AQA (github.com/DavideA/c3d-pytorch)",
)
# (name, input channels, output channels, pool after it: (kernel, stride, padding) or None)
_LAYERS = (
    ("conv1", 3, 64, ((1, 2, 2), (1, 2, 2), 0)),
    ("conv2", 64, 128, ((2, 2, 2), (2, 2, 2), 0)),
    ("conv3a", 128, 256, None),
    ("conv3b", 256, 256, ((2, 2, 2), (2, 2, 2), 0)),
    ("conv4a", 256, 512, None),
    ("conv4b", 512, 512, ((2, 2, 2), (2, 2, 2), 0)),
    ("conv5a", 512, 512, None),
    ("conv5b", 512, 512, ((2, 2, 2), (2, 2, 2), (0, 1, 1))),
)


class C3D(nn.Module):
    """Input (N, 3, 16, 112, 112) as ``PREPROCESSING`` makes it; ``forward`` -> (N, 8192) pool5 features."""

    feature_dim = FEATURE_DIM

    def __init__(self) -> None:
        super().__init__()
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        for name, cin, cout, pool in _LAYERS:
            layers[name] = nn.Conv3d(cin, cout, 3, padding=1)
            layers[f"relu_{name}"] = nn.ReLU(inplace=True)
            if pool is not None:
                layers[f"pool_{name}"] = nn.MaxPool3d(*pool)
        for name, layer in layers.items():  # top-level names, so state-dict keys equal the checkpoint's
            self.add_module(name, layer)
        self.order = tuple(layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape[2:]) != CLIP_SHAPE:
            raise ValueError(f"C3D takes clips of {CLIP_SHAPE} (frames, height, width), not {tuple(x.shape[2:])}")
        for name in self.order:
            x = self.get_submodule(name)(x)
        return x.flatten(1)


@BACKBONES.register("c3d", declares=INFO)
def build_c3d(pretrained: bool = True, weights: str | None = None) -> C3D:
    """The registry entry: the Sports-1M weights from the file ``weights`` names when ``pretrained``."""
    from aqa_core.backbones.weights_file import load_named_weights

    model = C3D()
    if pretrained:
        model.weights_sha256 = load_named_weights({"weights": weights}, INFO, model, ignore=("fc6.", "fc7.", "fc8."))
    return model.eval().requires_grad_(False)
