"""The model's data card in words, for every place that shows a score (CLI, app).

Kept apart from ``bundle`` so the GUI can describe a model without importing torch.
"""

from __future__ import annotations

from typing import Any


def describe_data_card(card: dict[str, Any]) -> str:
    """One line saying what a model learnt from, shown beside every score it gives.

    Reads the data card keys the trainer writes: dataset, synthetic, split_sizes, left_out,
    marks, judge_scores, set_aside, validation (with "rho"), intended_use. Missing keys are left out rather than
    guessed.
    """
    kind = "synthetic dives" if card.get("synthetic") else "real dives"
    parts = [f"{kind} ({card['dataset']})" if card.get("dataset") else kind]
    sizes = card.get("split_sizes")
    if isinstance(sizes, dict) and sizes:
        parts.append(" / ".join(f"{n} {split}" for split, n in sizes.items()))
    left_out = card.get("left_out")
    if isinstance(left_out, list) and left_out:
        parts.append(f"{len(left_out)} dive{'s' if len(left_out) != 1 else ''} with label or frame problems left out")
    if card.get("marks") == "counted":
        parts.append("trained on counted marks, not a full panel: its judges are the counting marks (final = their sum x DD), none dropped")
    elif isinstance(card.get("judge_scores"), str):
        parts.append("judges: only the counting marks were labelled (final = their sum x DD)")
    set_aside = card.get("set_aside")
    if isinstance(set_aside, dict) and isinstance(set_aside.get("why"), str):
        parts.append(set_aside["why"])
    validation = card.get("validation")
    if isinstance(validation, dict) and isinstance(validation.get("rho"), (int, float)):
        parts.append(f"validation Spearman {validation['rho']:.2f}")
    test = card.get("test")
    if isinstance(test, dict) and isinstance(test.get("rho"), (int, float)):
        parts.append(f"held-out test Spearman {test['rho']:.2f}")
    if card.get("synthetic"):
        parts.append("not validated on real footage")
    if card.get("intended_use"):
        parts.append(f"intended use: {card['intended_use']}")
    return "; ".join(parts)
