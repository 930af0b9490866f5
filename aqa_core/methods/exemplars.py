"""CoRe's exemplar bank: the training dives a dive is compared with, and which of them are chosen.

What is stored. Each exemplar's clip features (the ``features`` buffer, ``(E, N, D)``, in the
bundle's safetensors as fitted state) and its record: id, dive number, event, DD, final score,
judges' marks and, when the training dive was a video file, that file (so the app can open it
beside the dive being judged). The records live in the model config (``core.bank``): they decide
the buffer's shape, and the bundle's shape check and content fingerprint then cover them too.

Which exemplars. CoRe compares a dive with training dives of its difficulty. The order of
preference, for training pairs and for the vote alike: same DD and same dive number, then same
DD, then the nearest DD (ties: the same event first). ``ranking`` sorts the bank that way and
names each exemplar's match ("dive number", "DD", "nearest DD"); a tier is the exemplars that
share a match and DD gap. Training draws one exemplar per dive at random from its pool: whole
tiers in order until the pool has ``min_pool`` exemplars (the dive itself left out). The vote
takes the first M of the ranking; from the tier that does not fit whole it takes exemplars spread
evenly over that tier's scores, so a vote never leans on the lowest- or highest-scored ones.
A bank without the dive's DD therefore falls back to the nearest DD, and every vote says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

MATCHES = ("dive number", "DD", "nearest DD")
DD_DECIMALS = 4  # DDs equal to 4 decimals are the same DD (table values have one)


@dataclass(frozen=True)
class Exemplar:
    """One training dive of the bank (what the config stores, per exemplar)."""

    id: str
    dive_number: str | None
    event: str
    difficulty: float
    final: float
    judges: list[float] | None = None
    video: str | None = None  # the dive's video file at training time; None: trained on features or frames

    @property
    def raw(self) -> float:
        """The final score per point of DD: what CoRe compares (the paper's ``usingDD`` scores)."""
        return self.final / self.difficulty


class ExemplarBank(nn.Module):
    """Exemplars' records and clip features; an empty bank (E = 0) until the method is fitted."""

    def __init__(self, exemplars: Sequence[Exemplar], clips: int, dim: int) -> None:
        super().__init__()
        self.exemplars = list(exemplars)
        self.register_buffer("features", torch.zeros(len(self.exemplars), clips, dim))
        self.register_buffer("raw", torch.tensor([e.raw for e in self.exemplars], dtype=torch.float32), persistent=False)
        self._dd = np.array([e.difficulty for e in self.exemplars], dtype=np.float64)
        self._numbers = np.array([e.dive_number or "" for e in self.exemplars], dtype=object)
        self._events = np.array([e.event for e in self.exemplars], dtype=object)
        self._finals = np.array([e.final for e in self.exemplars], dtype=np.float64)
        self._index = {e.id: i for i, e in enumerate(self.exemplars)}
        self._chosen: dict[tuple[Any, ...], tuple[np.ndarray, list[str]]] = {}
        self._pools: dict[tuple[Any, ...], np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.exemplars)

    @classmethod
    def from_config(cls, spec: Mapping[str, Any] | None, dim: int) -> ExemplarBank:
        spec = spec or {}
        return cls([Exemplar(**e) for e in spec.get("exemplars", [])], int(spec.get("clips", 1)), dim)

    def to_config(self) -> dict[str, Any]:
        return {"clips": int(self.features.shape[1]), "exemplars": [asdict(e) for e in self.exemplars]}

    def index_of(self, exemplar_id: str) -> int | None:
        return self._index.get(exemplar_id)

    def ranking(self, dive_number: str | None, difficulty: float, event: str, exclude: int | None = None) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """Bank indices in order of preference, each one's tier number and match (see module docstring)."""
        gap = np.round(np.abs(self._dd - difficulty), DD_DECIMALS)
        other_number = (self._numbers != (dive_number or "")) | (not dive_number)
        other_event = self._events != event
        order = np.lexsort((np.arange(len(self)), other_event, other_number, gap))
        if exclude is not None:
            order = order[order != exclude]
        keys = list(zip(gap[order], other_number[order], other_event[order], strict=True))
        tiers = np.cumsum([0] + [keys[k] != keys[k - 1] for k in range(1, len(keys))]) if keys else np.zeros(0, int)
        matches = [MATCHES[0] if g == 0 and not n else MATCHES[1] if g == 0 else MATCHES[2] for g, n, _ in keys]
        return order, tiers, matches

    def pool(self, dive_number: str | None, difficulty: float, event: str, min_pool: int, exclude: int | None = None) -> np.ndarray:
        """A training dive's exemplar pool: whole tiers in order until it holds ``min_pool`` (or the whole bank)."""
        key = (dive_number, round(float(difficulty), DD_DECIMALS), event, min_pool, exclude)
        if key not in self._pools:
            order, tiers, _ = self.ranking(dive_number, difficulty, event, exclude)
            self._pools[key] = order if len(order) <= min_pool else order[tiers <= tiers[min_pool - 1]]
        return self._pools[key]

    def choose(self, dive_number: str | None, difficulty: float, event: str, count: int) -> tuple[np.ndarray, list[str]]:
        """The ``count`` exemplars a dive is voted against, and each one's match (cached per dive kind)."""
        key = (dive_number, round(float(difficulty), DD_DECIMALS), event, count)
        if key not in self._chosen:
            order, tiers, matches = self.ranking(dive_number, difficulty, event)
            count = min(count, len(order))
            chosen: list[int] = []
            for tier in np.unique(tiers):
                members = np.flatnonzero(tiers == tier)
                room = count - len(chosen)
                if room <= 0:
                    break
                if len(members) > room:  # spread over the tier's scores
                    by_score = members[np.argsort(self._finals[order[members]], kind="stable")]
                    members = by_score[((np.arange(room) + 0.5) * len(by_score) / room).astype(int)]  # quantile midpoints
                chosen.extend(members.tolist())
            positions = np.array(chosen, dtype=int)
            self._chosen[key] = (order[positions], [matches[p] for p in positions])
        return self._chosen[key]
