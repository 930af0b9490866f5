"""Fuzzing the readers with hypothesis: any bytes or values give a result or one AQAError line.

Inputs are random bytes and, more usefully, valid files with random bytes changed, so most
examples get past the first check. Bounded in time: few examples, a deadline per example.
"""

from __future__ import annotations

import copy
import io
import json
import pickle
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.storage.errors import StorageError
from app.storage.session_values import check_entry
from aqa_core.errors import AQAError, BundleError, DatasetError, WeightsError
from aqa_core.files import parse_json
from aqa_core.weights import read_checkpoint
from trainer.datasets.features_npz import read_features_npz
from trainer.datasets.safe_pickle import load_annotation_pickle

FUZZ = settings(max_examples=60, deadline=2000, suppress_health_check=[HealthCheck.too_slow], derandomize=True)

CHECKPOINT = pickle.dumps({"params": {"Conv3d_1a_7x7": {"Conv_0": {"kernel": np.ones((2, 3), np.float32)}}}, "batch_stats": {}}, protocol=4)


def _npz_bytes() -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, features=np.ones((3, 2, 4), np.float32), final_score=np.array([50.0, 60, 70]), split=np.array(["train", "val", "test"]))
    return buffer.getvalue()


NPZ = _npz_bytes()


@st.composite
def mutated(draw: st.DrawFn, original: bytes) -> bytes:
    """``original`` with a few bytes replaced, inserted or cut."""
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 6))):
        position = draw(st.integers(0, max(len(data) - 1, 0)))
        action = draw(st.sampled_from(["set", "insert", "cut"]))
        if action == "set" and data:
            data[position] = draw(st.integers(0, 255))
        elif action == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=8))
        elif data:
            del data[position : position + draw(st.integers(1, 64))]
    return bytes(data)


def _one_line(error: AQAError) -> None:
    assert "\n" not in str(error) and str(error)


@FUZZ
@given(st.one_of(st.binary(max_size=200), mutated(CHECKPOINT)))
def test_checkpoint_reader(data: bytes) -> None:
    try:
        read_checkpoint(data, "fuzz.ckpt")
    except WeightsError as error:
        _one_line(error)


@FUZZ
@given(st.one_of(st.binary(max_size=200), mutated(pickle.dumps({("01", 1): {"final_score": 50.0, "difficulty": 3.0}}, protocol=2))))
def test_annotation_pickle_reader(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "a.pkl"
        path.write_bytes(data)
        try:
            load_annotation_pickle(path)
        except DatasetError as error:
            _one_line(error)


@FUZZ
@given(st.one_of(st.binary(max_size=300), mutated(NPZ)))
def test_features_npz_reader(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "f.npz"
        path.write_bytes(data)
        try:
            dataset = read_features_npz(path)
        except DatasetError as error:
            _one_line(error)
        else:
            assert all(np.isfinite(r.features).all() and r.features.size for r in dataset.records)


JSON_TEXT = json.dumps({"a": [1, 2.5, {"b": None, "c": "[{"}], "d": True}).encode()


@FUZZ
@given(st.one_of(st.binary(max_size=200), mutated(JSON_TEXT)))
def test_bounded_json_parser(data: bytes) -> None:
    try:
        parse_json(data, "fuzz.json", 32, BundleError)
    except BundleError as error:
        _one_line(error)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
BASE_ENTRY: dict[str, Any] = {
    "uuid": "d1", "competition": {"uuid": "c1", "name": "Cup"}, "event": {"uuid": "e1", "name": "10m", "kind": "individual", "height": 10.0},
    "athlete": {"uuid": "a1", "name": "Ana", "country": None}, "video": None, "round": 1, "dive_number": "107B", "height": 10.0,
    "difficulty": 3.3, "panel_size": 7, "performed_at": "2026-05-01T10:00:00", "window": [0, 100], "human_final": 72.6,
    "human_scores": [7.0, 7.5, 7.5, 7.0, 8.0, 7.0, 7.5], "tags": ["a"], "notes": [], "analyses": [],
}  # fmt: skip
PATHS = [("uuid",), ("competition",), ("competition", "name"), ("event", "kind"), ("event", "height"), ("athlete", "name"), ("video",),
         ("round",), ("dive_number",), ("height",), ("difficulty",), ("panel_size",), ("performed_at",), ("window",),
         ("human_final",), ("human_scores",), ("tags",), ("notes",), ("analyses",)]  # fmt: skip


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(PATHS), JSON_VALUES), min_size=1, max_size=3))
def test_session_entry_checker(changes: list[tuple[tuple[str, ...], Any]]) -> None:
    entry = copy.deepcopy(BASE_ENTRY)
    for path, value in changes:
        node = entry
        for key in path[:-1]:
            if not isinstance(node.get(key), dict):
                node[key] = {}
            node = node[key]
        node[path[-1]] = value
    try:
        checked = check_entry(entry, "fuzz.json", 0)
    except StorageError as error:
        _one_line(error)
    else:  # whatever passes is what the desk accepts
        assert 0 < checked["difficulty"] and all(0 <= s <= 10 and s * 2 == int(s * 2) for s in checked["human_scores"])
        assert len(checked["athlete"]["name"]) <= 200
