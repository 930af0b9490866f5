"""The training loop: seeded epochs, validation-only model selection, per-epoch checkpoints, resume.

One loop serves both modes: ``features`` feeds cached clip features (B, N, D) to the head,
``finetune`` feeds clips (B, N, 3, T, H, W) through backbone and head. Every step consumes one
global batch drawn from a per-epoch seeded permutation; under torchrun each rank takes its share
of every micro-batch and the loss is scaled so DDP's gradient average equals the single-process
gradient of the whole batch. Shuffling depends only on (seed, epoch), so resuming after epoch k
replays epochs k+1.. exactly as an uninterrupted run would.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from aqa_core.errors import AQAError
from aqa_core.model import AQAModel

from .checkpoint import load_checkpoint, save_checkpoint
from .config import TrainConfig
from .distributed import DistContext, barrier, wrap
from .evaluate import Labels, predict, report
from .losses import musdl_loss, regression_loss, usdl_loss
from .progress import ProgressStream, RunCancelled, StopRequest

Fetch = Callable[[torch.Tensor], torch.Tensor]  # dive indices -> model inputs


@dataclass
class SplitData:
    """One split: how to fetch its inputs, and its labels as tensors and arrays."""

    fetch: Fetch
    labels: Labels

    def __len__(self) -> int:
        return len(self.labels.final)


@dataclass
class FitResult:
    best_state: dict[str, torch.Tensor]
    best_epoch: int
    best_val: dict
    history: list[dict] = field(default_factory=list)
    stopped_early: bool = False


class _Forward(nn.Module):
    """What DDP wraps: features (or clips, end to end) -> pooled logits (B, P, bins).

    Training needs only the pooled distribution; ``AQAModel.head_forward`` also runs the head on
    every clip for display, which would cost ten times the compute per step.
    """

    def __init__(self, model: AQAModel, end_to_end: bool) -> None:
        super().__init__()
        self.model = model
        self.end_to_end = end_to_end

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        if self.end_to_end:
            batch, clips = inputs.shape[:2]
            inputs = self.model.features(inputs.flatten(0, 1)).float().view(batch, clips, -1)
        return self.model.pooled_logits(inputs)


class Trainer:
    def __init__(self, config: TrainConfig, model: AQAModel, ctx: DistContext, progress: ProgressStream, score_range: tuple[float, float]) -> None:
        self.cfg = config
        if config.mode == "features" and ctx.device.type == "cpu":
            # Heads on cached features are a few small matrices per step: extra intra-op threads
            # only add synchronisation, and on a busy CPU they made each step 3x slower (measured).
            torch.set_num_threads(1)
        self.model = model.to(ctx.device)
        self.ctx = ctx
        self.progress = progress
        self.stop: StopRequest | None = None  # checked after each epoch's checkpoint (trainer/progress.py)
        self.score_range = score_range
        self.head = model.head_kind
        self.bins = model.head.bin_values.to(ctx.device)
        spacing = float(self.bins[1] - self.bins[0])
        self.sigma = config.sigma if config.sigma is not None else 5.0 * spacing  # the seed code: std 5 bins
        if config.mode == "finetune" and model.backbone is not None:
            model.backbone.requires_grad_(True)
        self.pooled = _Forward(self.model, config.mode == "finetune")
        self.net = wrap(self.pooled, ctx)
        params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
        self.amp_dtype = self._amp_dtype()
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp_dtype == torch.float16)

    def _amp_dtype(self) -> torch.dtype | None:
        if self.ctx.device.type != "cuda" or self.cfg.precision == "float32":
            return None
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast("cuda", dtype=self.amp_dtype)

    def loss(self, logits: torch.Tensor, labels: Labels, idx: torch.Tensor) -> torch.Tensor:
        final = torch.as_tensor(labels.final[idx.numpy()], dtype=torch.float32, device=logits.device)
        if self.cfg.loss != "kl":
            expected = torch.softmax(logits[:, 0].float(), dim=-1) @ self.bins
            return regression_loss(expected, final, self.cfg.loss)
        if self.head == "musdl":
            judges = torch.as_tensor(labels.judges[idx.numpy()], dtype=torch.float32, device=logits.device)
            return musdl_loss(logits, judges, self.bins, self.sigma)
        return usdl_loss(logits, final, self.bins, self.sigma)

    def _step(self, data: SplitData, batch: torch.Tensor) -> float:
        """One optimiser step on one global batch; returns the batch's mean loss (this rank's share)."""
        self.optimizer.zero_grad(set_to_none=True)
        total = 0.0
        for micro in batch.chunk(self.cfg.accumulate):
            local = micro[self.ctx.rank :: self.ctx.world_size]
            with self._autocast():
                logits = self.net(data.fetch(local).to(self.ctx.device))
            if len(local):
                loss = self.loss(logits, data.labels, local) * (len(local) * self.ctx.world_size / len(batch))
                total += loss.item() / self.ctx.world_size
            else:  # this rank has nothing in the micro-batch but must still join DDP's all-reduce
                loss = logits.sum() * 0.0
            self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return total

    def _train_epoch(self, data: SplitData, epoch: int) -> float:
        self.model.train()
        order = torch.randperm(len(data), generator=torch.Generator().manual_seed(self.cfg.seed * 100_003 + epoch))
        losses = []
        steps = range(0, len(order), self.cfg.batch_size)
        self.progress.bar(len(steps), f"epoch {epoch + 1}/{self.cfg.epochs}")
        for start in steps:
            try:
                losses.append(self._step(data, order[start : start + self.cfg.batch_size]))
            except torch.cuda.OutOfMemoryError:
                micro = self.cfg.batch_size // self.cfg.accumulate
                raise AQAError(
                    f"GPU out of memory with micro-batches of {micro} dives; try batch_size {max(1, self.cfg.batch_size // 2)} "
                    f"or accumulate {self.cfg.accumulate * 2} (same global batch, half the memory)"
                ) from None
            self.progress.advance(loss=f"{losses[-1]:.4f}")
        self.progress.close_bar()
        return float(np.mean(losses))

    @torch.no_grad()
    def evaluate(self, data: SplitData) -> tuple[dict, np.ndarray, np.ndarray | None]:
        self.model.eval()
        chunk = 256 if self.cfg.mode == "features" else self.cfg.batch_size // self.cfg.accumulate  # clips are ~100 MB a dive
        logits = []
        for start in range(0, len(data), chunk):
            idx = torch.arange(start, min(start + chunk, len(data)))
            with self._autocast():
                logits.append(self.pooled(data.fetch(idx).to(self.ctx.device)).float().cpu())
        finals, judges = predict(torch.cat(logits), self.bins, self.head, data.labels, self.cfg.decoding)
        return report(finals, data.labels, self.score_range, judges), finals, judges

    def fit(self, train: SplitData, val: SplitData, checkpoint_dir: Path, resume: bool = False) -> FitResult:
        start_epoch, history = 0, []
        best_state = _copy_state(self.model)
        best_epoch, best_val = -1, {"rho": -float("inf")}
        if resume:
            done, best_state, info = load_checkpoint(checkpoint_dir, self.model, self.optimizer)
            start_epoch, history = done + 1, info["history"]
            best_epoch, best_val = info["best_epoch"], info["best_val"]
            self.progress.emit("resume", epoch=done + 1, checkpoint=checkpoint_dir)
        since_best = 0 if best_epoch < 0 else start_epoch - 1 - best_epoch
        started = time.monotonic()
        for epoch in range(start_epoch, self.cfg.epochs):
            train_loss = self._train_epoch(train, epoch)
            figures, _, _ = self.evaluate(val)
            improved = figures["rho"] > best_val["rho"]
            if improved:
                best_state, best_epoch, best_val, since_best = _copy_state(self.model), epoch, figures, 0
                self.progress.emit("best", epoch=epoch + 1, val=figures)
            else:
                since_best += 1
            entry = {"epoch": epoch + 1, "train_loss": train_loss, "val_rho": figures["rho"], "val_rl2": figures["rl2"]}
            history.append(entry)
            checkpoint = None
            if self.ctx.is_main:
                info = {"history": history, "best_epoch": best_epoch, "best_val": best_val, "config": self.cfg.to_json()}
                checkpoint = save_checkpoint(checkpoint_dir, epoch, self.model, self.optimizer, best_state, info)
            barrier(self.ctx)
            per_epoch = (time.monotonic() - started) / (epoch + 1 - start_epoch)
            self.progress.emit(
                "epoch", **entry, epochs=self.cfg.epochs, step=(epoch + 1) * -(-len(train) // self.cfg.batch_size), losses={"train": train_loss},
                val=figures, best_epoch=best_epoch + 1, eta_s=round(per_epoch * (self.cfg.epochs - epoch - 1), 1), checkpoint=checkpoint,
            )
            if self.stop is not None and self.stop.requested() and epoch + 1 < self.cfg.epochs:
                self.progress.emit("cancelled", epoch=epoch + 1, checkpoint=checkpoint, message=f"stopped after epoch {epoch + 1}; resume continues from its checkpoint")
                raise RunCancelled(f"stopped after epoch {epoch + 1}")
            if self.cfg.patience is not None and since_best >= self.cfg.patience:
                self.progress.emit("early_stop", epoch=epoch + 1, best_epoch=best_epoch + 1)
                return FitResult(best_state, best_epoch + 1, best_val, history, stopped_early=True)
        return FitResult(best_state, best_epoch + 1, best_val, history)


def _copy_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
