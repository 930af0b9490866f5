"""What ``aqa-judge dataset check`` says about a dataset: counts for tools, lines for people."""

from __future__ import annotations

from typing import Any

from .base import PIXELS, DiveDataset


def check_report(dataset: DiveDataset) -> dict[str, Any]:
    """Usable dives and what they carry, plus every problem (``dive`` is the dataset's own key)."""
    records = dataset.records
    return {
        "layout": dataset.layout or dataset.kind,
        "source": str(dataset.source),
        "dives": len(records),
        "splits": dataset.split_sizes(),
        "listed": dataset.listed_sizes(),
        "with_judge_scores": sum(r.judge_scores is not None for r in records),
        "with_counted_marks": sum(r.judges_counted for r in records),  # judge scores that are the counting marks only (FineDiving)
        "with_difficulty": sum(r.difficulty is not None for r in records),
        "with_dive_number": sum(r.dive_number is not None for r in records),
        "with_captions": sum(r.caption is not None for r in records),
        "with_sub_actions": sum(r.frame_labels is not None for r in records),
        "left_out": len(dataset.left_out()),
        "missing_pixels": len({p.dive for p in dataset.problems if p.kind == PIXELS}),
        "problems": [p.to_dict() for p in dataset.problems],
        "notes": {k: v for k, v in dataset.notes.items() if isinstance(v, str)},
        "final_scores": [round(float(r.final_score), 4) for r in records],  # the Trainer tab's histogram, before a run
    }


def report_lines(report: dict[str, Any]) -> list[str]:
    splits = report["splits"]
    listed = report["listed"]
    lines = [
        f"{report['source']}: {report['layout']}",
        f"  usable dives      {report['dives']} (train {splits['train']} of {listed['train']}, val {splits['val']} of {listed['val']}, test {splits['test']} of {listed['test']})",
        f"  with judge scores {report['with_judge_scores']} ({report['with_counted_marks']} of them counting marks only), difficulty {report['with_difficulty']}, dive number {report['with_dive_number']}, "
        f"captions {report['with_captions']}, sub-actions {report['with_sub_actions']}",
    ]
    lines += [f"  note: {key}: {printable(value)}" for key, value in report["notes"].items()]
    if report["problems"]:
        lines.append(f"  {len(report['problems'])} problem(s) in {report['left_out']} dive(s), left out of training (--strict refuses them):")
        lines += [f"    {printable(p['dive'])}: {printable(p['problem'])}" for p in report["problems"]]
    else:
        lines.append("  no problems")
    return lines


def printable(text: str) -> str:
    """Text from a dataset shown on a terminal: control characters (escape sequences) escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))
