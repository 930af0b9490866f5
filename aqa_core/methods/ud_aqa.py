"""UD-AQA (Zhou et al., "Uncertainty-Driven Action Quality Assessment"): CVAE-sampled judges and an uncertainty.

Deterministic branch: clip features -> weight-attention aggregation (the paper's WA module: four
FC layers, ReLU between, softmax over clips per dimension; ``aggregation: weight_decider`` with
three hidden layers) -> f_v. Latent branch (the CVAE): an encoder gives X (N = 128), the prior
network P(z | X) and the posterior network Q(z | X, y) give a D = 6 dimensional Gaussian (three FC
layers each, ReLU and dropout between), and two FC layers map a sampled z to log-uncertainty u. One
regressor reads [f_v, z] and predicts one judge's mark.

Training (Eq. 7-8): one judge's mark is drawn at random per dive as the label y; z and u come from
the posterior; the loss is e^(-u) |y^ - y| + u, plus alpha KL(Q || P) (alpha = 1) and
beta |u_prior - u_posterior|^2 (beta = 10). The uncertainty-guided curriculum lives in the trainer
(``Method.uncertainties`` gives it each training dive's u; trainer/curriculum.py).

Inference: z is drawn from the prior, once per judge of the event's panel (5, 7, 9 or 11), and
``MC_PANELS`` panels are drawn to give each panel position (sorted marks, like MUSDL's paths) a
distribution over the legal marks 0, 0.5, ..., 10; from there the panel rule and calibration are
MUSDL's own (aqa_core.heads.panel), so a UD-AQA final is judged exactly like a MUSDL one. The
draws are seeded, so the same dive always gets the same panel.

Where this differs from the paper: the encoder of X. The paper runs four 3D convolutions over the
whole video ("separate features"); the trainer here works on cached clip features, so the encoder
is an MLP on the clip-averaged backbone features (the paper's "shared features" variant, which its
Table V measures as somewhat worse). Said here so no figure is read as the paper's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

import aqa_core.aggregation  # noqa: F401  (registers aggregators)
from aqa_core.calibration import Calibration, calibrated
from aqa_core.errors import ConfigError
from aqa_core.heads.distribution import mlp
from aqa_core.decoding import point
from aqa_core.heads.panel import clip_final, panel_estimate, panel_paths, rule_on_marks
from aqa_core.methods.base import Batch, DivePrediction, Method, NonFiniteScores, require_one_feature_width
from aqa_core.neck import NECKS
from aqa_core.registry import AGGREGATORS, BACKBONES, METHODS
from aqa_core.result import DiveInfo, JudgeEstimate, JudgeSamples

MARKS = np.arange(0.0, 10.01, 0.5)  # the legal marks: the bins a sampled judge's distribution is over
MC_PANELS = 200  # panels drawn per dive to give each panel position its distribution
CLIP_PANELS = 50  # fewer for each clip's own curve point
SEED = 0
PANELS_SHOWN = 5  # sampled panels a ScoreResult keeps for the judge panel to draw


class Gaussian(nn.Module):
    """Three FC layers (ReLU and dropout between) -> mean and log-variance of a D-dimensional Gaussian."""

    def __init__(self, in_dim: int, latent: int, hidden: Sequence[int], dropout: float) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = in_dim
        for size in hidden:
            layers += [nn.Linear(width, size), nn.ReLU(), nn.Dropout(dropout)]
            width = size
        layers.append(nn.Linear(width, 2 * latent))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, log_var = self.net(x).chunk(2, dim=-1)
        return mean, log_var.clamp(-10.0, 10.0)


@METHODS.register("ud_aqa")
class UDAQA(Method):
    name = "ud_aqa"
    scales_with_difficulty = True  # its judges go through the rule x DD, like MUSDL's
    target = "judges"

    def __init__(
        self, config: Mapping[str, Any], with_backbone: bool = True, loss: str = "kl", sigma: float | None = None
    ) -> None:
        super().__init__()
        self.config = dict(config)
        if loss != "kl":
            raise ConfigError(f"method 'ud_aqa' trains with its own re-weighted loss (loss: kl), not {loss!r}")
        options = dict(self.config.get("ud_aqa", {}))
        unknown = sorted(set(options) - {"judges", "in_dim", "latent", "encoded", "hidden", "cvae_hidden", "dropout", "alpha", "beta"})
        if unknown:
            raise ConfigError(f"ud_aqa: unknown argument(s) {', '.join(unknown)}")
        self.judges = int(options.get("judges", 7))
        in_dim = int(options.get("in_dim", 1024))
        latent = int(options.get("latent", 6))  # D = 6 (the paper's Fig. 3)
        encoded = int(options.get("encoded", 128))  # N = 128
        hidden = list(options.get("hidden", [256, 128]))
        cvae_hidden = list(options.get("cvae_hidden", [64, 32]))
        dropout = float(options.get("dropout", 0.2))
        self.alpha = float(options.get("alpha", 1.0))
        self.beta = float(options.get("beta", 10.0))
        self.in_dim = in_dim
        self.neck: nn.Module = NECKS.build({**self.config.get("neck", {"name": "identity"}), "dim": in_dim})
        self.aggregator: nn.Module = AGGREGATORS.build(self.config.get("aggregation", {"name": "weight_decider", "in_dim": in_dim, "hidden": [256, 128, 256]}))
        self.encoder = nn.Sequential(nn.Linear(in_dim, encoded), nn.ReLU())
        self.prior = Gaussian(encoded, latent, cvae_hidden, dropout)
        self.posterior = Gaussian(encoded + 1, latent, cvae_hidden, dropout)
        self.uncertainty = mlp(latent, [16], 1)  # two FC layers: z -> log-uncertainty u
        self.regressor = mlp(in_dim + latent, hidden, 1)
        self.backbone = None
        if with_backbone:
            import aqa_core.backbones  # noqa: F401  (registers backbones)

            self.backbone = BACKBONES.build(self.config["backbone"])
            self.backbone.requires_grad_(False)
            self.backbone.eval()
        require_one_feature_width({"ud_aqa.in_dim": in_dim, "aggregation.in_dim": getattr(self.aggregator, "in_dim", None),
                                   "backbone.feature_dim": getattr(self.backbone, "feature_dim", None)})

    @classmethod
    def label_problem(cls, config: Mapping[str, Any], judge_scores: Sequence[float] | None, difficulty: float | None) -> str | None:
        if not judge_scores:
            return "UD-AQA learns from judges' marks: this dive has none"
        if difficulty is None:
            return "UD-AQA needs the dive's difficulty (DD) to turn sampled marks into a final score"
        return None

    @classmethod
    def score_values(cls, config: Mapping[str, Any]) -> np.ndarray:
        return MARKS

    @property
    def panel(self) -> int:
        return self.judges

    def _branches(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """(video-level feature f_v, CVAE input X) of every dive."""
        features = self.neck(self.encode(batch))
        return self.aggregator(features), self.encoder(features.mean(dim=1))

    def loss(self, batch: Batch) -> torch.Tensor:
        f_v, x = self._branches(batch)
        if not len(f_v):
            return f_v.sum() * 0.0
        judges = batch["judges"].to(f_v.device)
        pick = torch.randint(judges.shape[1], (len(judges),), device=f_v.device)
        y = judges[torch.arange(len(judges), device=f_v.device), pick] / 10.0  # one judge's mark, on [0, 1]
        mu1, log_var1 = self.prior(x)
        mu2, log_var2 = self.posterior(torch.cat([x, y[:, None]], dim=-1))
        z_post = mu2 + torch.randn_like(mu2) * (0.5 * log_var2).exp()
        z_prior = mu1 + torch.randn_like(mu1) * (0.5 * log_var1).exp()
        u_post = self.uncertainty(z_post)[:, 0]
        u_prior = self.uncertainty(z_prior)[:, 0]
        y_hat = self.regressor(torch.cat([f_v, z_post], dim=-1))[:, 0]
        reweighted = torch.exp(-u_post) * (y_hat - y).abs() + u_post  # Eq. 7
        kl = 0.5 * (log_var1 - log_var2 + (log_var2.exp() + (mu2 - mu1) ** 2) / log_var1.exp() - 1.0).sum(dim=-1)  # KL(Q || P), Eq. 2
        return (reweighted + self.alpha * kl + self.beta * (u_prior - u_post) ** 2).mean()  # Eq. 8

    @torch.no_grad()
    def uncertainties(self, batch: Batch) -> np.ndarray:
        """Each dive's predicted uncertainty u from the prior mean: the curriculum's ordering key."""
        _, x = self._branches(batch)
        mu1, _ = self.prior(x)
        return self.uncertainty(mu1)[:, 0].float().cpu().numpy()

    @torch.no_grad()
    def _sampled_marks(self, f_v: torch.Tensor, x: torch.Tensor, panels: int, judges: int) -> tuple[np.ndarray, np.ndarray]:
        """Marks (B, panels, judges) drawn from the prior, and each dive's u (B,) at the prior mean."""
        g = torch.Generator(device=f_v.device).manual_seed(SEED)
        mu1, log_var1 = self.prior(x)
        noise = torch.randn((len(x), panels * judges, mu1.shape[-1]), generator=g, device=f_v.device)
        z = mu1[:, None] + noise * (0.5 * log_var1).exp()[:, None]
        fv = f_v[:, None].expand(-1, panels * judges, -1)
        marks = (self.regressor(torch.cat([fv, z], dim=-1))[..., 0] * 10.0).clamp(0.0, 10.0)
        u = self.uncertainty(mu1)[:, 0]
        values = marks.float().cpu().numpy()
        if not np.isfinite(values).all() or not torch.isfinite(u).all():
            raise NonFiniteScores("gave NaN or infinite sampled marks")
        return values.reshape(len(x), panels, judges), u.float().cpu().numpy()

    def _position_distributions(self, panels: np.ndarray, dive: DiveInfo) -> np.ndarray:
        """(panels, judges) sampled marks -> (judges, bins): each position's share of each legal mark."""
        ordered = np.sort(panels, axis=1) if dive.event == "individual" or self.counted else panels
        index = np.clip(np.rint(ordered * 2.0).astype(int), 0, len(MARKS) - 1)
        counts = np.stack([np.bincount(index[:, k], minlength=len(MARKS)) for k in range(panels.shape[1])])
        return counts / counts.sum(axis=1, keepdims=True)

    def serving_paths(self, dive: DiveInfo) -> list[int]:
        """Every sampled judge serves: the panel is as large as the event's (no paths to choose from)."""
        return list(range(self._panel(dive)))

    def _panel(self, dive: DiveInfo) -> int:
        """Judges drawn per panel: the dive's panel, or (trained on counted marks) the counting marks of the model's event."""
        return len(panel_paths(self.judges, dive, counted=True)) if self.counted else dive.panel_size

    def predict(self, batch: Batch, decoding: str, calibration: Calibration | None = None) -> list[DivePrediction]:
        f_v, x = self._branches(batch)
        out = []
        for i, dive in enumerate(batch["dives"]):
            marks, u = self._sampled_marks(f_v[i : i + 1], x[i : i + 1], MC_PANELS, self._panel(dive))
            dists = self._position_distributions(marks[0], dive)
            panel = panel_estimate(dists, MARKS, dive, decoding, self.counted)
            ests = panel.judges
            if calibration is not None and calibration.judge_q:
                ests = [calibrated(e, lambda level, e=e: calibration.judge_interval(e.score, e.std, level)) for e in ests]
            judges = [JudgeEstimate(k, est, dists[k].tolist(), dropped) for k, (est, dropped) in enumerate(zip(ests, panel.dropped, strict=True))]
            final = panel.final
            scale = self.uncertainty_scale(dive, calibrated=True)
            if calibration is not None:
                final = calibration.calibrated_final(final, scale, self.final_ceiling(dive))
            samples = JudgeSamples(panels=np.round(marks[0, :PANELS_SHOWN], 3).tolist(), uncertainty=float(u[0]), spread=panel.final.std)
            out.append(DivePrediction(judges, final, scale, dists, samples))
        return out

    def point_scores(self, batch: Batch, decoding: str) -> tuple[np.ndarray, np.ndarray | None]:
        """``predict``'s decoded finals and marks without its interval: model selection runs this on validation every epoch,
        and the interval's Monte Carlo panels through the rule (2,000 per dive) made an epoch's validation cost minutes."""
        f_v, x = self._branches(batch)
        finals, judges = [], []
        for i, dive in enumerate(batch["dives"]):
            marks, _ = self._sampled_marks(f_v[i : i + 1], x[i : i + 1], MC_PANELS, self._panel(dive))
            points = [point(d, MARKS, decoding) for d in self._position_distributions(marks[0], dive)]
            points = sorted(points) if dive.event == "individual" or self.counted else points  # as panel_estimate orders them
            finals.append(rule_on_marks(points, dive, self.counted).final)
            judges.append(points)
        return np.array(finals), np.array(judges)

    def clip_scores(self, features: torch.Tensor, dive: DiveInfo, decoding: str) -> list[tuple[np.ndarray, float]]:
        f_v, x = self._branches({"features": features.float()[:, None]})  # each clip alone, as a one-clip dive
        marks, _ = self._sampled_marks(f_v, x, CLIP_PANELS, self._panel(dive))
        out = []
        for panels in marks:
            dists = self._position_distributions(panels, dive)
            out.append((dists, clip_final(dists, MARKS, dive, decoding, self.counted)))
        return out

    @property
    def values(self) -> np.ndarray:
        return MARKS
