"""Methods: one registered class per seed paper, owning its parts, loss, prediction and decoding.

The trainer, the scorer, evaluation and the app talk to a model only through ``Method``
(aqa_core.methods.base), so a new method is one class registered in ``METHODS`` and no caller
grows a branch on its name. Importing this package registers ``usdl``, ``usdl_dd``, ``musdl``, ``ud_aqa``, ``mtl_aqa``, ``mtl_aqa_dd`` and ``core``.
"""

from aqa_core.methods import core, distribution, mtl_aqa, ud_aqa
from aqa_core.methods.base import Batch, DivePrediction, Method, build_method, method_class, method_name

__all__ = ["Batch", "DivePrediction", "Method", "build_method", "core", "distribution", "method_class", "method_name", "mtl_aqa", "ud_aqa"]
