"""CoRe + GART (Yu et al., "Group-aware Contrastive Regression for Action Quality Assessment", ICCV 2021).

A dive is scored against exemplar dives of its difficulty: the group-aware regression tree
(aqa_core.heads.gart) reads [this dive's pooled feature, the exemplar's, the exemplar's score / theta]
and predicts the relative score; the exemplar's score plus it is one vote, and the final is the
mean of the votes over M exemplars (the paper's multi-exemplar voting, M = 10 by default).

Config shape::

    {"method": "core",
     "backbone": {"name": "i3d"}, "segmentation": "usdl_10x16",
     "neck": {"name": "standardize"},
     "head": {"name": "gart", "in_dim": 1024, "hidden": 256, "depth": 5,
              "bins": 101, "score_range": [0, 110]},     # the final-score axis the distribution is drawn on
     "core": {"exemplars": 10, "min_pool": 3}}          # M, and a training pool's smallest size

As the paper's code with DD (``usingDD``): scores are compared per point of DD (final / DD), so
an exemplar of the nearest DD still compares like with like, and a vote is (exemplar's final / DD
+ relative) x this dive's DD. The tree's groups are fitted from the |differences| of all training
pairs (each training dive with every member of its pool, aqa_core.methods.exemplars); the loss
is the paper's: the leaf's negative log-likelihood plus the squared error of the in-group
position at the true leaf, for both orders of each pair.

Cost. The exemplars' clip features are fitted state (the bank), so scoring a video is one backbone
pass plus M tree passes on 2 x D + 1 numbers; the paper's code runs the backbone over every
exemplar's video again for every dive (200 I3D passes with 10 exemplars).

Decoding. ``argmax``: each exemplar's most probable leaf, the votes averaged (the paper's).
``expectation``: the mean over every exemplar's leaves weighted by their probabilities. Either
way the final's spread is that of the mixture of all exemplars' leaves, so exemplars that
disagree widen the interval. No judges' marks are predicted (the paper predicts the final).

Where this differs from the paper: it trains on cached features with the backbone frozen (the
paper fine-tunes I3D at lr 1e-4), and its inference exemplars are chosen deterministically
(exemplars.choose) rather than at random, so a dive always gets the same score.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from aqa_core.calibration import Calibration
from aqa_core.decoding import estimate
from aqa_core.errors import AQAError, ConfigError
from aqa_core.heads.gart import GroupTree
from aqa_core.methods.base import Batch, DivePrediction, Method, NonFiniteScores, require_one_feature_width
from aqa_core.methods.exemplars import MATCHES, Exemplar, ExemplarBank
from aqa_core.neck import NECKS
from aqa_core.registry import BACKBONES, METHODS
from aqa_core.result import DiveInfo, Estimate, ExemplarVote, ExemplarVotes

DEFAULTS = {"exemplars": 10, "min_pool": 3}
HEAD_KEYS = {"name", "in_dim", "hidden", "depth", "bins", "score_range"}
FEATURES_ONLY = "this model's exemplars were trained from features or frames: their videos are not available to open"


@METHODS.register("core")
class CoRe(Method):
    name = "core"
    scales_with_difficulty = True  # a vote is (exemplar's final / DD + relative) x DD
    losses = ("kl",)  # its own loss (module docstring) under the trainer's default name
    target = "final"

    def __init__(self, config: Mapping[str, Any], with_backbone: bool = True, loss: str = "kl", sigma: float | None = None) -> None:
        super().__init__()
        if loss != "kl":
            raise ConfigError(f"method 'core' trains with its own tree loss (loss: kl), not {loss!r}")
        self.config = dict(config)
        head = dict(self.config.get("head", {}))
        unknown = sorted(set(head) - HEAD_KEYS)
        if unknown:
            raise ConfigError(f"core: head: unknown argument(s) {', '.join(unknown)}")
        options = {**DEFAULTS, **self.config.get("core", {})}
        unknown = sorted(set(options) - {*DEFAULTS, "bank"})
        if unknown:
            raise ConfigError(f"core: unknown argument(s) {', '.join(unknown)}")
        self.exemplars, self.min_pool = int(options["exemplars"]), int(options["min_pool"])
        if self.exemplars < 1 or self.min_pool < 1:
            raise ConfigError("core: exemplars and min_pool must be at least 1")
        self.in_dim = int(head.get("in_dim", 1024))
        self._values = self.score_values(self.config)
        self.neck = NECKS.build({**self.config.get("neck", {"name": "identity"}), "dim": self.in_dim})
        self.tree = GroupTree(2 * self.in_dim + 1, int(head.get("hidden", 256)), int(head.get("depth", 5)))
        self.bank = ExemplarBank.from_config(options.get("bank"), self.in_dim)
        self.backbone = None
        if with_backbone:
            import aqa_core.backbones  # noqa: F401  (registers backbones)

            self.backbone = BACKBONES.build(self.config["backbone"])
            self.backbone.requires_grad_(False)
            self.backbone.eval()
        require_one_feature_width({"head.in_dim": self.in_dim, "backbone.feature_dim": getattr(self.backbone, "feature_dim", None)})

    @classmethod
    def label_problem(cls, config: Mapping[str, Any], judge_scores: Sequence[float] | None, difficulty: float | None) -> str | None:
        if not difficulty:
            return "CoRe compares a dive with exemplars of its difficulty (DD): this dive has none"
        return None

    @classmethod
    def score_values(cls, config: Mapping[str, Any]) -> np.ndarray:
        head = config.get("head", {})
        low, high = (float(v) for v in head.get("score_range", (0.0, 110.0)))
        return np.linspace(low, high, int(head.get("bins", 101)))

    @property
    def panel(self) -> int:
        return 1

    @property
    def values(self) -> np.ndarray:
        return self._values

    @property
    def theta(self) -> float:
        """What an exemplar's per-DD score is divided by in the tree's input (the paper's score_range)."""
        return max(1e-6, float(self.bank.raw.max())) if len(self.bank) else 1.0

    def serving_paths(self, dive: DiveInfo) -> list[int]:
        return [0]

    def fitted_tensor_names(self) -> list[str]:
        return sorted([*super().fitted_tensor_names(), "tree.bounds", "bank.features"])

    # --- fitting: the neck, the bank, the groups ------------------------------------------------

    def fit(self, batch: Batch) -> None:
        """The training split becomes the bank; every training pair's difference places the groups."""
        super().fit(batch)
        features = self.encode(batch)
        dives: list[DiveInfo] = batch["dives"]
        ids = batch.get("ids") or [f"training dive {i + 1}" for i in range(len(dives))]
        videos = batch.get("videos") or [None] * len(dives)
        judges = batch.get("judges")
        exemplars = [
            Exemplar(str(ids[i]), d.dive_number, d.event, float(d.difficulty), float(batch["final"][i]),
                     [float(v) for v in judges[i]] if judges is not None else None, videos[i])
            for i, d in enumerate(dives)
        ]
        bank = ExemplarBank(exemplars, features.shape[1], self.in_dim).to(features.device)
        bank.features.copy_(features)
        self.bank = bank
        self.config["core"] = {**self.config.get("core", {}), "bank": bank.to_config()}
        raw = bank.raw.cpu().numpy()
        differences = np.concatenate([raw[i] - raw[self._pool(d, i)] for i, d in enumerate(dives)])
        self.tree.fit_bounds(differences, float(raw.max() - raw.min()))

    def _pool(self, dive: DiveInfo, exclude: int | None) -> np.ndarray:
        return self.bank.pool(dive.dive_number, dive.difficulty, dive.event, self.min_pool, exclude)

    # --- training --------------------------------------------------------------------------------

    def _pooled(self, features: torch.Tensor) -> torch.Tensor:
        """``(B, N, D)`` clip features -> ``(B, D)``: standardised, averaged over clips (the paper's)."""
        return self.neck(features).mean(dim=1)

    def _pairs(self, query: torch.Tensor, exemplar: torch.Tensor, exemplar_raw: torch.Tensor) -> torch.Tensor:
        return torch.cat([query, exemplar, (exemplar_raw / self.theta)[:, None]], dim=-1)

    def loss(self, batch: Batch) -> torch.Tensor:
        if "features" not in batch:
            raise ConfigError("method 'core' trains on cached clip features against its exemplar bank: set mode: features")
        self._require_bank()
        query = self._pooled(batch["features"].float())
        if not len(query):
            return query.sum() * 0.0
        dives: list[DiveInfo] = batch["dives"]
        ids = batch.get("ids") or [None] * len(dives)
        picks = []
        for dive, dive_id in zip(dives, ids, strict=True):
            pool = self._pool(dive, self.bank.index_of(dive_id) if dive_id is not None else None)
            picks.append(int(pool[int(torch.randint(len(pool), ()))]))
        index = torch.tensor(picks, device=query.device)
        exemplar = self._pooled(self.bank.features[index])
        raw_e = self.bank.raw[index]
        raw_q = batch["final"].to(query.device).float() / torch.tensor([d.difficulty for d in dives], device=query.device)
        difference = raw_q - raw_e
        x = torch.cat([self._pairs(query, exemplar, raw_e), self._pairs(exemplar, query, raw_q)])
        target = torch.cat([difference, -difference])
        log_prob, position = self.tree(x)
        leaf, where = self.tree.assign(target)
        regression = F.mse_loss(position.gather(1, leaf[:, None])[:, 0], where)
        return F.nll_loss(log_prob, leaf) + regression

    def _require_bank(self) -> None:
        if not len(self.bank):
            raise AQAError("this CoRe model has no exemplar bank (it was never fitted on a training split); retrain it")

    # --- voting --------------------------------------------------------------------------------

    def _leaf_votes(self, features: torch.Tensor, dives: Sequence[DiveInfo]) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[list[str]]]:
        """Every dive's chosen exemplars ``(B, M)``, their leaves' votes and probabilities ``(B, M, leaves)``, matches."""
        self._require_bank()
        query = self._pooled(features.float())
        chosen = [self.bank.choose(d.dive_number, d.difficulty, d.event, self.exemplars) for d in dives]
        index = torch.as_tensor(np.stack([c[0] for c in chosen]), device=query.device)  # (B, M)
        b, m = index.shape
        exemplar = self._pooled(self.bank.features[index.flatten()])
        raw_e = self.bank.raw[index.flatten()]
        log_prob, position = self.tree(self._pairs(query.repeat_interleave(m, dim=0), exemplar, raw_e))
        difficulty = torch.tensor([d.difficulty for d in dives], device=query.device).repeat_interleave(m)
        votes = (raw_e[:, None] + self.tree.relative(position)) * difficulty[:, None]
        votes_np = votes.float().cpu().numpy().reshape(b, m, -1)
        probs = log_prob.exp().float().cpu().numpy().reshape(b, m, -1)
        if not (np.isfinite(votes_np).all() and np.isfinite(probs).all()):
            raise NonFiniteScores("gave NaN or infinite relative scores")
        return index.cpu().numpy(), votes_np, probs, [c[1] for c in chosen]

    def _decode(self, votes: np.ndarray, probs: np.ndarray, decoding: str) -> tuple[np.ndarray, np.ndarray, float]:
        """One dive's ``(M, leaves)`` votes -> each exemplar's vote, the binned mixture, and the point score."""
        best = np.take_along_axis(votes, probs.argmax(axis=1)[:, None], axis=1)[:, 0]
        weights = _mixture_weights(probs)
        score = float(best.mean()) if decoding == "argmax" else float((weights * votes).sum())
        return best, self._binned(votes.ravel(), weights.ravel()), score

    def _binned(self, points: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """A mixture of point scores on the bin grid (linear interpolation between the two nearest bins)."""
        values = self._values
        position = np.clip((points - values[0]) / (values[-1] - values[0]) * (len(values) - 1), 0, len(values) - 1)
        low = np.minimum(position.astype(int), len(values) - 2)
        frac = position - low
        dist = np.zeros(len(values))
        np.add.at(dist, low, weights * (1 - frac))
        np.add.at(dist, low + 1, weights * frac)
        return dist / dist.sum()

    def _estimate(self, votes: np.ndarray, probs: np.ndarray, decoding: str) -> tuple[np.ndarray, np.ndarray, Estimate]:
        best, dist, score = self._decode(votes, probs, decoding)
        weights = _mixture_weights(probs).ravel()
        mean = float((weights * votes.ravel()).sum())
        std = float(np.sqrt((weights * (votes.ravel() - mean) ** 2).sum()))
        binned = estimate(dist, self._values, decoding)
        return best, dist, Estimate(score, mean, std, binned.entropy, binned.low, binned.high)

    def predict(self, batch: Batch, decoding: str, calibration: Calibration | None = None) -> list[DivePrediction]:
        dives: list[DiveInfo] = batch["dives"]
        with torch.no_grad():
            index, votes, probs, matches = self._leaf_votes(self.encode(batch), dives)
        out = []
        for i, dive in enumerate(dives):
            best, dist, final = self._estimate(votes[i], probs[i], decoding)
            scale = self.uncertainty_scale(dive, calibrated=True)
            if calibration is not None:
                final = calibration.calibrated_final(final, scale, self.final_ceiling(dive))
            out.append(DivePrediction([], final, scale, dist[None], exemplars=self._votes(index[i], best, matches[i], dive)))
        return out

    def _votes(self, index: np.ndarray, best: np.ndarray, matches: list[str], dive: DiveInfo) -> ExemplarVotes:
        votes = []
        for k, vote, match in zip(index, best, matches, strict=True):
            e = self.bank.exemplars[int(k)]
            votes.append(ExemplarVote(e.id, e.dive_number, e.difficulty, e.final, float(vote) - e.final, float(vote), match, e.judges, e.video))
        notes = []
        nearest = sum(m == MATCHES[2] for m in matches)
        if nearest == len(matches):
            notes.append(f"no exemplar of DD {dive.difficulty:g} in the bank: compared with the nearest DD, per point of DD")
        elif nearest:
            notes.append(f"only {len(matches) - nearest} exemplars of DD {dive.difficulty:g} in the bank: {nearest} of the nearest DD added")
        if all(v.video is None for v in votes):
            notes.append(FEATURES_ONLY)
        return ExemplarVotes(votes, "; ".join(notes) or None)

    def point_scores(self, batch: Batch, decoding: str) -> tuple[np.ndarray, np.ndarray | None]:
        with torch.no_grad():
            _, votes, probs, _ = self._leaf_votes(self.encode(batch), batch["dives"])
        return np.array([self._decode(v, p, decoding)[2] for v, p in zip(votes, probs, strict=True)]), None

    def clip_scores(self, features: torch.Tensor, dive: DiveInfo, decoding: str) -> list[tuple[np.ndarray, float]]:
        """Each clip alone against the dive's exemplars (as a one-clip dive), for the live curve."""
        with torch.no_grad():
            _, votes, probs, _ = self._leaf_votes(features.float()[:, None], [dive] * len(features))
        out = []
        for v, p in zip(votes, probs, strict=True):
            _, dist, score = self._decode(v, p, decoding)
            out.append((dist[None], score))
        return out


def _mixture_weights(probs: np.ndarray) -> np.ndarray:
    """``(M, leaves)`` leaf probabilities -> weights of the mixture of all exemplars' leaves (summing to one)."""
    return probs / probs.sum(axis=1, keepdims=True) / len(probs)
