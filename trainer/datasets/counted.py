"""The dives a model trained on counted marks learns from (``"marks": "counted"``, aqa_core.heads.panel).

Such a model predicts the awards that count in one event: 3 in individual events, 5 in
synchronised ones (aqa_core.rules.COUNTED_MARKS). FineDiving labels exactly those marks; a whole
panel (MTL-AQA's 7 judges, FineDiving's dives taken from MTL-AQA) holds them too, and the rule picks
them out (``counting_marks``): the label read through the rule, not repaired, and the data card
says how many dives were read that way. Dives of the other event have no paths in the model: they
are set aside and listed (the data is not wrong, so they are not problems and ``strict`` ignores them).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from aqa_core.rules import COUNTED_MARKS, counted_event, counting_marks

from .base import SPLITS, DiveDataset

if TYPE_CHECKING:  # the methods import torch; reading a dataset must not
    from aqa_core.methods import Method


def for_model(dataset: DiveDataset, method: Method) -> DiveDataset:
    """The dataset as ``method`` learns from it: unchanged unless its judges are counted marks."""
    if not method.counted:
        return dataset
    event = counted_event(method.panel)
    records, set_aside, read_by_rule = [], [], 0
    for record in dataset.records:
        if record.event != event:
            set_aside.append(record)
        elif record.judge_scores is None or record.judges_counted:
            records.append(record)  # no marks: the method's label check refuses it in one line
        else:
            read_by_rule += 1
            records.append(dataclasses.replace(record, judge_scores=counting_marks(record.judge_scores, record.event), judges_counted=True))
    multiplier = " x 0.6" if event == "synchronised" else ""
    notes = {
        **dataset.notes,
        "counted_marks": (
            f"trained on the {COUNTED_MARKS[event]} counting marks of {event} dives, not a full panel "
            f"(final = their sum x DD{multiplier}; no judge is dropped); whole panels read as their counting marks by the rule: {read_by_rule}"
        ),
    }
    if set_aside:
        per_split = ", ".join(f"{split} {sum(r.split == split for r in set_aside)}" for split in SPLITS)
        notes["set_aside"] = f"{len(set_aside)} dives of other events not used ({per_split}): the model predicts {event} marks only"
    return dataclasses.replace(dataset, records=records, notes=notes, set_aside=[r.key for r in set_aside])
