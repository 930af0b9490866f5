"""What Kinetics-400 action the backbone sees in a dive: the end-to-end check of the I3D port.

A correct Kinetics I3D calls a dive "springboard diving" with high confidence; a wrong padding,
channel order or normalisation shows up here first. ``aqa-judge doctor --video`` prints it.
"""

from __future__ import annotations

from functools import lru_cache

import torch
from torch import nn

from aqa_core.errors import AQAError
from aqa_core.paths import resource
from aqa_core.runtime import Runtime


@lru_cache(maxsize=1)
def kinetics_labels() -> tuple[str, ...]:
    """The 400 class names in the classifier's index order (resources/kinetics400_labels.txt)."""
    path = resource("kinetics400_labels.txt")
    try:
        labels = tuple(line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    except OSError as exc:
        raise AQAError(f"cannot read the Kinetics labels {path}: {exc.strerror}") from None
    if len(labels) != 400:
        raise AQAError(f"{path} lists {len(labels)} classes, expected 400")
    return labels


def clip_probabilities(backbone: nn.Module, clips: torch.Tensor, runtime: Runtime) -> torch.Tensor:
    """Softmax over Kinetics classes averaged over all clips (one batched forward): (400,) float32."""
    with runtime.autocast():
        logits = backbone.logits(runtime.prepare_input(clips))
    return logits.float().softmax(dim=1).mean(dim=0).cpu()


def top_classes(probabilities: torch.Tensor, k: int = 5) -> list[tuple[str, float]]:
    """The ``k`` most likely classes as (label, probability), most likely first."""
    values, indices = probabilities.topk(k)
    labels = kinetics_labels()
    return [(labels[i], float(p)) for p, i in zip(values.tolist(), indices.tolist(), strict=True)]
