"""UD-AQA's uncertainty-guided training order: low-uncertainty dives first, the rest as the model converges.

As the seed describes it: after the first epoch (all dives) the training dives are sorted by the
uncertainty the method predicts for them, ascending, and training continues on the lowest
``start`` share (40%); when the model has converged on that share (no validation improvement for
``patience`` = 3 epochs) the share grows by ``step`` (20%) until it is the whole split. The order
is recomputed from each epoch's uncertainties. Everything it decides with is plain JSON in the
checkpoint, so ``--resume`` continues with the same share and order an uninterrupted run would.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np


@dataclass
class Curriculum:
    start: float = 0.4
    step: float = 0.2
    patience: int = 3
    share: float = 1.0  # of the training split; the first epoch sees all of it
    order: list[int] = field(default_factory=list)  # training dives by ascending uncertainty (previous epoch)
    best: float = -math.inf
    since_best: int = 0

    def subset(self, dives: int) -> np.ndarray | None:
        """The training dives of the next epoch, or None for all of them."""
        if not self.order or self.share >= 1.0:
            return None
        return np.asarray(self.order[: max(1, math.ceil(self.share * dives))], dtype=np.int64)

    def update(self, uncertainties: np.ndarray, val_rho: float) -> None:
        """After an epoch: the new order, and a larger share once the current one has converged."""
        first = not self.order
        self.order = np.argsort(np.asarray(uncertainties), kind="stable").tolist()
        if first:
            self.share = self.start
            return
        if val_rho > self.best:
            self.best, self.since_best = val_rho, 0
            return
        self.since_best += 1
        if self.since_best >= self.patience and self.share < 1.0:
            self.share = min(1.0, round(self.share + self.step, 6))
            self.best, self.since_best = -math.inf, 0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["best"] = None if math.isinf(self.best) else self.best
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Curriculum:
        best = data.get("best")
        return cls(**{**data, "best": -math.inf if best is None else float(best)})
