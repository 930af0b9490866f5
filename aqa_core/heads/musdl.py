"""MUSDL: one score distribution per judge (Tang et al., CVPR 2020, section 3.2).

Path k predicts the k-th smallest judge score of the panel (judges sorted ascending as in the
paper, so path 0 is the strictest judge). Bins are the legal marks 0, 0.5, ..., 10 (21 bins). The
final score comes from the diving rule applied to the decoded paths times DD (see scorer).
"""

from __future__ import annotations

from collections.abc import Sequence

from aqa_core.heads.distribution import DistributionHead
from aqa_core.registry import HEADS


@HEADS.register("musdl")
class MUSDLHead(DistributionHead):
    kind = "musdl"

    def __init__(
        self,
        judges: int = 7,
        bins: int = 21,
        score_range: Sequence[float] = (0.0, 10.0),
        in_dim: int = 1024,
        hidden: Sequence[int] = (256, 128),
    ) -> None:
        super().__init__(paths=judges, bins=bins, score_range=score_range, in_dim=in_dim, hidden=hidden)
