"""Dives decoded ahead on threads (trainer.features.records_clips) come out in order, equal to
decoding them one by one, and a broken dive fails at its own turn, naming its file."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from aqa_core.errors import AQAError
from trainer.datasets import DiveRecord
from trainer.features import load_record_clips, records_clips

MODEL = {"backbone": {"name": "tiny", "feature_dim": 16, "seed": 0}, "segmentation": "usdl_10x16"}


def _records(tiny_video, counts: list[int]) -> list[DiveRecord]:
    return [DiveRecord(key=f"d{i}", split="train", final_score=0.0, video=tiny_video(count=count, name=f"d{i}.mp4"))
            for i, count in enumerate(counts)]


@pytest.mark.parametrize("ahead", [1, 2, 8])
def test_dives_come_out_in_order_and_equal_to_decoding_one_by_one(tiny_video, ahead: int) -> None:
    records = _records(tiny_video, [20, 33, 24, 41, 28])  # lengths differ, so a swapped dive shows
    one_by_one = [load_record_clips(r, MODEL).clips for r in records]
    ahead_clips = list(records_clips(records, MODEL, ahead=ahead))
    assert len(ahead_clips) == len(records)
    for expected, got in zip(one_by_one, ahead_clips, strict=True):
        assert torch.equal(expected, got)


def test_a_broken_dive_fails_at_its_turn_after_the_dives_before_it(tiny_video, tmp_path: Path) -> None:
    records = _records(tiny_video, [20, 24, 28])
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video at all" * 100)
    records.insert(2, DiveRecord(key="broken", split="train", final_score=0.0, video=broken))
    dives = records_clips(records, MODEL, ahead=4)
    assert torch.equal(next(dives), load_record_clips(records[0], MODEL).clips)
    assert torch.equal(next(dives), load_record_clips(records[1], MODEL).clips)
    with pytest.raises(AQAError, match="broken.mp4"):
        next(dives)
