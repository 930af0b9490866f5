"""Score-distribution heads, registered in ``aqa_core.registry.HEADS``.

Importing this package registers ``usdl`` and ``musdl``; configs name them by key.
"""

from aqa_core.heads import musdl, usdl
from aqa_core.heads.distribution import DistributionHead, HeadOutput

__all__ = ["DistributionHead", "HeadOutput", "musdl", "usdl"]
