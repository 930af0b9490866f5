"""USDL: one score distribution over the final score (Tang et al., CVPR 2020, section 3.1).

Choice of target: the head predicts the official final score with DD included (the paper's plain
USDL on MTL-AQA), because a USDL model has no judge structure to apply DD to. The paper normalises
that score to [0, 100] with the dataset's min and max; we keep ``bins`` evenly spaced values over a
configured ``score_range`` in points (default 101 bins over [0, 104.5], i.e. the normalised [0, 1]
range mapped back to points), so decoded values are already points and the range is stated in the
bundle instead of depending on a dataset. The same head serves USDL_DD (method ``usdl_dd``,
aqa_core.methods.distribution.PerDifficulty) with ``score_range`` [0, 30]: there its bins are the
final / DD (the counted marks' sum), and the method multiplies the decoded value by the DD.
"""

from __future__ import annotations

from collections.abc import Sequence

from aqa_core.heads.distribution import DistributionHead
from aqa_core.registry import HEADS


@HEADS.register("usdl")
class USDLHead(DistributionHead):
    kind = "usdl"

    def __init__(
        self,
        bins: int = 101,
        score_range: Sequence[float] = (0.0, 104.5),
        in_dim: int = 1024,
        hidden: Sequence[int] = (256, 128),
    ) -> None:
        super().__init__(paths=1, bins=bins, score_range=score_range, in_dim=in_dim, hidden=hidden)
