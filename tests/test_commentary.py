"""MTL-AQA's commentary head: its words, its loss going down, greedy decoding, and bundles that keep it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from aqa_core.bundle import bundle_from_model, load_bundle, save_bundle
from aqa_core.methods import build_method, method_class
from aqa_core.methods.commentary import CAVEAT, SPECIAL, build_vocabulary, caption_words, sentence
from aqa_core.result import DiveInfo
from aqa_core.runtime import choose_runtime
from aqa_core.scorer import Scorer
from trainer.config import config_from_dict
from trainer.datasets.safe_pickle import load_annotation_pickle
from trainer.progress import ProgressStream
from trainer.run import train

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny matrices: see conftest.one_thread

CONFIGS = Path(__file__).resolve().parents[1] / "configs" / "models"
RELEASE = Path("/work/shared/data/mtl_aqa/release")
LINES = ("rip entry with almost no splash; a well-executed dive.", "a big splash at the entry; well short of vertical at the entry.")



def captioned_problem(dives: int = 32, seed: int = 0) -> dict:
    """The sign of feature 0 says which of two commentary lines a dive gets: a caption a head can learn."""
    g = torch.Generator().manual_seed(seed)
    features = torch.randn(dives, 4, 8, generator=g)
    good = features[:, :, 0].mean(dim=1) > 0
    captions = [caption_words(None, LINES[0] if g else LINES[1]) for g in good.tolist()]
    return {"features": features, "final": torch.where(good, 60.0, 40.0), "captions": captions,
            "dives": [DiveInfo("individual", 7, None, None, 2.0) for _ in range(dives)]}


def captioning_config(batch: dict) -> dict:
    config = json.loads((CONFIGS / "mtl_aqa_tiny.json").read_text())
    config["head"].update(in_dim=8, hidden=[16])
    config["mtl_aqa"] = {"caption_hidden": 32, "caption_embed": 16}
    return method_class(config).configured_for(config, batch["captions"])


def test_commentary_is_split_into_words_and_joined_back() -> None:
    words = caption_words(None, "Back 2½ somersaults, pike: rip entry; a well-executed dive.")
    assert words == ("back", "2½", "somersaults", ",", "pike", ":", "rip", "entry", ";", "a", "well-executed", "dive", ".")
    assert sentence(words) == "Back 2½ somersaults, pike: rip entry; a well-executed dive."
    assert caption_words(("<sos>", "nice", "and", "vertical", "<eos>")) == ("nice", "and", "vertical")  # the release's tokens
    assert caption_words(None, "") is None and caption_words(("<sos>", "<eos>")) is None


def test_vocabulary_is_the_training_words_most_frequent_first() -> None:
    vocabulary = build_vocabulary([("a", "b", "a"), None, ("c", "b", "a")])
    assert vocabulary == [*SPECIAL, "a", "b", "c"]


@pytest.mark.skipif(not (RELEASE / "final_captions_dict.pkl").is_file(), reason="the MTL-AQA release is not in ../shared")
def test_the_real_releases_captions_give_a_vocabulary_of_its_own_words() -> None:
    captions = load_annotation_pickle(RELEASE / "final_captions_dict.pkl")
    release_words = set(json.loads((RELEASE / "vocab.json").read_text())["word_to_ix"])
    words = [caption_words(c) for c in captions.values()]
    assert len(words) == 1416 and all(w not in ("<sos>", "<eos>") for line in words for w in line)
    vocabulary = build_vocabulary(words)
    # The release's own words, of each caption's first 100 (the paper's longest caption): nothing added, nothing lost.
    within = {w for c in captions.values() for w in [x for x in c if x not in ("<sos>", "<eos>")][:100]}
    assert set(vocabulary[len(SPECIAL):]) == within and within <= release_words


def test_caption_loss_goes_down_and_greedy_decoding_learns_the_lines() -> None:
    torch.manual_seed(0)
    batch = captioned_problem()
    method = build_method(captioning_config(batch), with_backbone=False)
    captioner = method.captioner
    assert captioner is not None
    optimiser = torch.optim.Adam(method.parameters(), lr=1e-2)
    clips = lambda: method.neck(batch["features"])  # noqa: E731
    captioner.eval()
    first = captioner.loss(clips(), batch["captions"]).item()
    method.train()
    for _ in range(80):
        optimiser.zero_grad()
        method.loss(batch).backward()
        optimiser.step()
    method.eval()
    assert captioner.loss(clips(), batch["captions"]).item() < 0.2 * first
    lines = [p.commentary.text for p in method.predict(batch, "expectation")]
    expected = [sentence(c) for c in batch["captions"]]
    assert np.mean([a == b for a, b in zip(lines, expected, strict=True)]) > 0.9
    assert [p.commentary.caveat for p in method.predict(batch, "expectation")] == [CAVEAT] * len(lines)


def test_greedy_decoding_is_deterministic_and_survives_a_bundle_round_trip(tmp_path: Path) -> None:
    torch.manual_seed(1)
    batch = captioned_problem(dives=6, seed=3)
    method = build_method(captioning_config(batch), with_backbone=False).eval()
    folder = save_bundle(bundle_from_model(method, "m", "1", {"dataset": "none", "synthetic": True}), tmp_path / "b")
    again = build_method(load_bundle(folder).config, with_backbone=False)
    again.load_state_dict(load_bundle(folder).state_dict)
    again.eval()
    first = [p.commentary for p in method.predict(batch, "expectation")]
    assert first == [p.commentary for p in method.predict(batch, "expectation")]
    assert first == [p.commentary for p in again.predict(batch, "expectation")]


def test_without_captions_there_is_no_commentary_head() -> None:
    config = json.loads((CONFIGS / "mtl_aqa_tiny.json").read_text())
    assert "mtl_aqa" not in method_class(config).configured_for(config, [None, None])
    method = build_method({**config, "head": {**config["head"], "in_dim": 8, "hidden": [16]}}, with_backbone=False).eval()
    assert method.captioner is None
    batch = captioned_problem(dives=3)
    assert all(p.commentary is None for p in method.predict(batch, "expectation"))


def test_the_trainer_learns_commentary_from_a_datasets_lines_and_the_scorer_reports_it(tmp_path: Path) -> None:
    batch = captioned_problem(dives=60, seed=5)
    lines = np.array([sentence(c) for c in batch["captions"]])
    np.savez(tmp_path / "f.npz", features=batch["features"].numpy(), final_score=batch["final"].numpy(), commentary=lines,
             split=np.array(["train"] * 50 + ["test"] * 10), dive_number=np.array(["107B"] * 60))
    raw = {"dataset": "f.npz", "out": "run/bundle", "work_dir": "run", "epochs": 3, "batch_size": 16, "lr": 1e-2, "seed": 0,
           "model": {"method": "mtl_aqa", "backbone": {"name": "tiny", "feature_dim": 8, "seed": 0}, "head": {"name": "usdl", "bins": 21, "score_range": [0, 100], "in_dim": 8, "hidden": [16]},
                     "mtl_aqa": {"caption_hidden": 16, "caption_embed": 8}}}
    bundle = load_bundle(train(config_from_dict(raw, tmp_path, "test config"), progress=ProgressStream(tmp_path / "p.jsonl", stdout=False, bar=False)))
    vocabulary = bundle.config["mtl_aqa"]["vocabulary"]
    # The training split's words (the trainer carves validation out of it, so at most those of the 50 training lines).
    assert set(vocabulary) <= {*SPECIAL, *(w for line in lines[:50] for w in caption_words(None, line))} and len(vocabulary) > len(SPECIAL)
    result = Scorer(bundle, choose_runtime("cpu"), "expectation").score_features(batch["features"][0], DiveInfo("individual", 7, "107B", 10.0, 3.0), [[0, 1]] * 4, (0, 3), "dive")
    assert result.commentary is not None and result.commentary.caveat == CAVEAT and CAVEAT in result.caveats
    assert set(caption_words(None, result.commentary.text) or ()) <= set(vocabulary)


def test_greedy_decoding_never_writes_a_special_token() -> None:
    """A head that ranks <sos>, <pad> and <unk> first (as one early in training can) still writes words, then stops at <eos>."""
    from aqa_core.methods.commentary import EOS, PAD, SOS, UNK, CaptionHead

    head = CaptionHead(build_vocabulary([("rip", "entry")]), in_dim=8, hidden=4, embed=4).eval()
    with torch.no_grad():
        head.out.weight.zero_()
        head.out.bias.copy_(torch.tensor([9.0 if w in (PAD, SOS, UNK) else 0.0 for w in head.vocabulary]))
        head.out.bias[head.vocabulary.index("rip")] = 1.0
    assert head.greedy(torch.randn(2, 3, 8), max_words=5) == ["Rip rip rip rip rip"] * 2
    with torch.no_grad():
        head.out.bias[head.vocabulary.index(EOS)] = 2.0
    assert head.greedy(torch.randn(2, 3, 8), max_words=5) == ["", ""]
