"""The linear bar every head must beat: ridge regression of the final score on the cached features.

Why here and not only in a benchmark: on real precomputed features the distribution heads scored
below a ridge regression on the same split, and nothing showed it. ``loss: ridge`` fits the
closed-form ridge on the standardised, clip-averaged training features (the ridge strength picked
by validation rho from a log grid, like early stopping picks an epoch), and writes the result into
a linear USDL head (``hidden: []``, ``aggregation: average``), so the baseline is a bundle like
any other: it scores videos, is calibrated and evaluated by the same code.

A linear head can carry a ridge prediction exactly: with logits
``l_j = v_j (w.x + b) / s^2 - v_j^2 / (2 s^2)`` the softmax over the bin values ``v_j`` is a
discretised Gaussian centred on the ridge prediction ``w.x + b`` with std ``s`` (the validation
residual std), so expectation decoding gives the ridge prediction back (up to truncation at
the ends of the score range).

The ridge fits the head's own target: the final for ``usdl``, final / DD for ``usdl_dd`` (whose
decoded value is multiplied by the typed DD), so ``usdl_dd`` with ``loss: ridge`` is a ridge per
point of DD. The ridge strength is chosen on the validation rho of the final either way.
"""

from __future__ import annotations

import numpy as np
import torch

from aqa_core.metrics import spearman
from aqa_core.methods import Method, build_method

from .evaluate import Labels, labels_from, report

ALPHAS = tuple(float(a) for a in np.logspace(-1, 5, 13))


def _pooled(model: Method, features: torch.Tensor) -> np.ndarray:
    with torch.no_grad():
        return model.neck(features.float()).mean(dim=1).double().numpy()


def ridge_fit(x: np.ndarray, y: np.ndarray, alpha: float) -> tuple[np.ndarray, float]:
    """Weights and intercept of ridge regression (dual form: cheap when dives are fewer than dimensions)."""
    mean_x, mean_y = x.mean(axis=0), float(y.mean())
    xc = x - mean_x
    dual = np.linalg.solve(xc @ xc.T + alpha * np.eye(len(x)), y - mean_y)
    w = xc.T @ dual
    return w, mean_y - float(mean_x @ w)


def final_factors(model: Method, labels: Labels) -> np.ndarray:
    """Per dive, what the head's value is multiplied by to give the final (``USDL.final_factor``: DD for usdl_dd, else 1)."""
    return np.array([model.final_factor(d) for d in labels.dives(range(len(labels.final)), model)], dtype=np.float64)


def fit_ridge_head(model: Method, train_x: torch.Tensor, train: Labels, val_x: torch.Tensor, val: Labels) -> dict:
    """Fit the head's target, choose alpha on validation, write the linear USDL head in place; returns what was chosen."""
    xt, xv = _pooled(model, train_x), _pooled(model, val_x)
    train_y = train.final / final_factors(model, train)
    val_factor = final_factors(model, val)
    val_y = val.final / val_factor
    best: tuple[float, float, float] | None = None  # (rho of the final, -mse of the target, alpha)
    for alpha in ALPHAS:
        w, b = ridge_fit(xt, train_y, alpha)
        pred = xv @ w + b
        rho = spearman(pred * val_factor, val.final)
        key = (-np.inf if np.isnan(rho) else rho, -float(np.mean((pred - val_y) ** 2)), alpha)
        best = key if best is None or key[:2] > best[:2] else best
    assert best is not None
    alpha = best[2]
    w, b = ridge_fit(xt, train_y, alpha)
    residual = float(np.std(xv @ w + b - val_y))
    spacing = float(model.head.bin_values[1] - model.head.bin_values[0])
    s = max(residual, spacing)  # a Gaussian narrower than a bin is no longer decodable by expectation
    values = model.head.bin_values.double()
    layer = model.head.path_mlps[0][-1]
    with torch.no_grad():
        layer.weight.copy_((values[:, None] * torch.from_numpy(w)[None, :] / s**2).float())
        layer.bias.copy_((values * b / s**2 - values**2 / (2 * s**2)).float())
    return {"alpha": alpha, "residual_std": residual}


def _finals(y: np.ndarray) -> Labels:
    return labels_from(y, None, None, ["individual"] * len(y))


def ridge_baseline(train_x: torch.Tensor, train_y: np.ndarray, val_x: torch.Tensor, val_y: np.ndarray,
                   test_x: torch.Tensor | None, test_y: np.ndarray | None, score_range: tuple[float, float]) -> dict:
    """Validation and test figures of ``loss: ridge`` on the same features and split, for a head's data card."""
    margin = 0.05 * (score_range[1] - score_range[0])
    head = {"name": "usdl", "bins": 201, "score_range": [max(0.0, score_range[0] - margin), score_range[1] + margin],
            "in_dim": int(train_x.shape[-1]), "hidden": []}
    model = build_method({"neck": {"name": "standardize"}, "aggregation": {"name": "average"}, "head": head}, with_backbone=False, loss="ridge")
    model.fit({"features": train_x})
    chosen = fit_ridge_head(model, train_x, _finals(train_y), val_x, _finals(val_y))

    def figures(x: torch.Tensor, y: np.ndarray) -> dict:
        labels = _finals(y)
        finals, _ = model.point_scores({"features": x.float(), "dives": labels.dives(range(len(y)), model)}, "expectation")
        return report(finals, labels, score_range)

    out = {"method": "ridge on standardised clip-averaged features (loss: ridge)", **chosen, "validation": figures(val_x, val_y)}
    if test_x is not None and test_y is not None and len(test_y):
        out["test"] = figures(test_x, test_y)
    return out
