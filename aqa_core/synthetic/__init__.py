"""Procedural diving videos with judge panels fitted to real ones: a test and demo instrument.

``generate_dive(seed, ...)`` renders one dive (frames, faults, latent quality, seven judges,
final score, a commentary line); ``write_dataset(out_dir, n, seed)`` writes a folder in our own
dataset layout that the trainer reads.
"""

from aqa_core.synthetic.dataset import write_dataset
from aqa_core.synthetic.dive import SyntheticDive, generate_dive
from aqa_core.synthetic.faults import FAULT_WEIGHTS, FAULTS, quality_from_faults

__all__ = ["FAULTS", "FAULT_WEIGHTS", "SyntheticDive", "generate_dive", "quality_from_faults", "write_dataset"]
