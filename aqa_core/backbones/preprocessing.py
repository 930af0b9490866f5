"""What a backbone was trained to see, declared with its registry entry rather than assumed by clips.py.

Each backbone registers a ``BackboneInfo`` (``@BACKBONES.register("c3d", declares=C3D_INFO)``):
its spatial preprocessing (crop, resize), its value scaling, the frames per clip it was trained
on and the clip segmentation its paper uses. ``aqa_core.clips`` applies it; the trainer, the
scorer and the bundle read it through ``backbone_info``, so a backbone and the pixels it expects
cannot drift apart (a bundle records the preprocessing and refuses to score with another).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aqa_core.errors import ConfigError
from aqa_core.registry import BACKBONES


@dataclass(frozen=True)
class Preprocessing:
    """Frame -> backbone input. Spatially exactly one of:

    * ``short_side``: resize keeping the aspect ratio so the short side is ``crop * short_side``,
      then centre-crop ``crop`` x ``crop`` (I3D: 256/224, the Kinetics protocol);
    * ``resize``: resize every frame to ``(height, width)`` ignoring its aspect ratio, then
      centre-crop (C3D and R(2+1)D: 128 x 171, crop 112).

    Values, per RGB channel with ``x`` in 0..255: ``(x / divide - mean) / std``.
    ``description`` is the one-line form version-1 bundles recorded; it changes whenever any
    other field does.
    """

    description: str
    crop: int
    clip_len: int  # frames per clip the backbone was trained on
    short_side: float | None = None
    resize: tuple[int, int] | None = None
    divide: float = 1.0
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)

    def __post_init__(self) -> None:
        if (self.short_side is None) == (self.resize is None):
            raise ValueError(f"preprocessing {self.description!r}: give exactly one of short_side and resize")
        if self.resize is not None and min(self.resize) < self.crop:
            raise ValueError(f"preprocessing {self.description!r}: cannot crop {self.crop} out of {self.resize}")

    def at_crop(self, crop: int) -> Preprocessing:
        """The same protocol at another crop side (tiny test inputs); a fixed resize scales with it."""
        resize = None if self.resize is None else tuple(max(crop, round(side * crop / self.crop)) for side in self.resize)
        return dataclasses.replace(self, crop=crop, resize=resize)  # type: ignore[arg-type]

    def to_dict(self) -> dict[str, Any]:
        """JSON form a version-2 bundle records (lists, not tuples, so it compares equal after a round trip)."""
        return json_ready(dataclasses.asdict(self))


def json_ready(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class BackboneInfo:
    """What a registered backbone declares about itself before it is built."""

    label: str  # as people write it: "I3D", "C3D", "R(2+1)D"
    preprocessing: Preprocessing
    segmentation: str | Mapping[str, Any]  # the clip segmentation its paper uses (a SEGMENTATIONS spec)
    pretrained_on: str | None = None  # "Kinetics-400"; None: it has no pretrained weights (tiny)
    weights_file: bool = False  # pretrained weights come from a file the user names (``weights``)
    source: str = ""  # where to get that file, for the message when it is missing


def backbone_info(spec: Mapping[str, Any] | str) -> BackboneInfo:
    """The declaration of the backbone a spec (``{"name": "c3d", ...}``) or name builds; ConfigError if unknown."""
    import aqa_core.backbones  # noqa: F401  (registers the backbones)

    name = spec if isinstance(spec, str) else spec.get("name")
    info = BACKBONES.declared(name)
    if not isinstance(info, BackboneInfo):
        raise ConfigError(f"backbone {name!r} declares no preprocessing")
    return info


def without_pretrained(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The spec building the architecture alone (no weights read): for a fine-tuned backbone, whose tensors are its own."""
    return {**spec, "pretrained": False} if backbone_info(spec).pretrained_on else dict(spec)


def is_pretrained(spec: Mapping[str, Any]) -> bool:
    """Whether a spec builds pretrained weights: on by default for every backbone that has them."""
    return backbone_info(spec).pretrained_on is not None and bool(spec.get("pretrained", True))
