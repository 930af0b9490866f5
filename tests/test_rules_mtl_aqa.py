"""The 7-judge rule against all 1412 real MTL-AQA dives.

1382 labels satisfy the rule to the cent. The other 30 are dirt in the source labels (a judge
score or the final score transcribed wrongly); they are kept here, visible, as documented
exceptions with their labelled final score, never filtered away and never "fixed" by bending the
rule. The test fails if any other row disagrees or if one of these starts to agree.
"""

from __future__ import annotations

import csv

import pytest

from aqa_core.paths import shared_dir
from aqa_core.rules import apply_panel_rule

# "video-clip" -> the labelled final score that the rule does not reproduce
DIRTY_LABELS = {
    "1-70": "18.15", "2-1": "88.3", "4-8": "51.6", "4-116": "56.0", "5-20": "61.05",
    "5-23": "60.8", "5-25": "49.3", "5-29": "48.0", "5-33": "81.6", "5-42": "56.1",
    "5-59": "52.2", "5-63": "69.3", "5-85": "56.0", "7-53": "52.5", "7-57": "85.8",
    "9-45": "53.2", "9-58": "59.2", "9-60": "43.5", "10-23": "44.55", "13-4": "75.5",
    "13-17": "57.8", "13-25": "34.7", "14-34": "65.8", "14-48": "80.8", "17-98": "78.5",
    "18-17": "80.85", "18-43": "78.5", "18-69": "64.75", "22-11": "51.8", "26-39": "60.2",
}


@pytest.mark.shared
def test_seven_judge_rule_on_every_mtl_aqa_dive():
    shared = shared_dir()
    if shared is None:
        pytest.skip("../shared is absent")
    with (shared / "data" / "mtl_aqa" / "annotations.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 1412
    disagreeing = {}
    for row in rows:
        scores = [row[f"judge{i}"] for i in range(1, 8)]
        outcome = apply_panel_rule(scores, "individual", row["difficulty"])
        if f"{outcome.final:.2f}" != f"{float(row['final_score']):.2f}":
            disagreeing[f"{row['video']}-{row['clip']}"] = row["final_score"]
    assert disagreeing == DIRTY_LABELS
    assert len(rows) - len(disagreeing) == 1382
