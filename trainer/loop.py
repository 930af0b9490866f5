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
from aqa_core.methods import Batch, Method

from .checkpoint import load_checkpoint, save_checkpoint
from .config import TrainConfig
from .curriculum import Curriculum
from .distributed import DistContext, any_rank, barrier, wrap
from .evaluate import Labels, report
from .progress import ProgressStream, RunCancelled, StopRequest

Fetch = Callable[[torch.Tensor], torch.Tensor]  # dive indices -> model inputs


@dataclass
class SplitData:
    """One split: how to fetch its inputs, and its labels as tensors and arrays."""

    fetch: Fetch
    labels: Labels
    inputs: str = "features"  # the batch key the fetched tensors go under: "features" or "clips" (fine-tuning)

    def __len__(self) -> int:
        return len(self.labels.final)

    def batch(self, idx: torch.Tensor, method: Method, device: torch.device | str = "cpu") -> Batch:
        """The method's batch for dives ``idx`` (see aqa_core.methods.base): inputs, labels, dive info."""
        rows = idx.numpy()
        out: Batch = {
            self.inputs: self.fetch(idx).to(device),
            "final": torch.as_tensor(self.labels.final[rows], dtype=torch.float32, device=device),
            "dives": self.labels.dives(rows, method),
        }
        if self.labels.judges is not None:
            out["judges"] = torch.as_tensor(self.labels.judges[rows], dtype=torch.float32, device=device)
        if self.labels.keys is not None:
            out["ids"] = [self.labels.keys[i] for i in rows]
        if self.labels.videos is not None:
            out["videos"] = [self.labels.videos[i] for i in rows]
        if self.labels.captions is not None:
            out["captions"] = [self.labels.captions[i] for i in rows]
        return out

    def everything(self, method: Method) -> Batch:
        return self.batch(torch.arange(len(self)), method)


@dataclass
class FitResult:
    best_state: dict[str, torch.Tensor]
    best_epoch: int
    best_val: dict
    history: list[dict] = field(default_factory=list)
    stopped_early: bool = False


class _Loss(nn.Module):
    """What DDP wraps: a batch -> the method's loss, so the gradient hooks see every parameter the loss used."""

    def __init__(self, method: Method) -> None:
        super().__init__()
        self.method = method

    def forward(self, batch: Batch) -> torch.Tensor:
        return self.method.loss(batch)


class Trainer:
    def __init__(self, config: TrainConfig, model: Method, ctx: DistContext, progress: ProgressStream, score_range: tuple[float, float]) -> None:
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
        if config.mode == "finetune" and model.backbone is not None:
            model.backbone.requires_grad_(True)
        self.net = wrap(_Loss(self.model), ctx)
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

    def _step(self, data: SplitData, batch: torch.Tensor) -> float:
        """One optimiser step on one global batch; returns the batch's mean loss (this rank's share)."""
        self.optimizer.zero_grad(set_to_none=True)
        total = 0.0
        for micro in batch.chunk(self.cfg.accumulate):
            local = micro[self.ctx.rank :: self.ctx.world_size]
            with self._autocast():
                # a rank with nothing in the micro-batch gets a zero loss that still joins DDP's all-reduce
                loss = self.net(data.batch(local, self.model, self.ctx.device)) * (len(local) * self.ctx.world_size / len(batch))
            total += loss.item() / self.ctx.world_size
            self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return total

    def _train_epoch(self, data: SplitData, epoch: int, curriculum: Curriculum) -> float:
        self.model.train()
        # Dropout and a method's own sampling (UD-AQA's judge pick and latent draws) depend only on
        # (seed, epoch) too, so a resumed run draws exactly what the uninterrupted one did.
        torch.manual_seed(self.cfg.seed * 100_003 + epoch + 1)
        order = torch.randperm(len(data), generator=torch.Generator().manual_seed(self.cfg.seed * 100_003 + epoch))
        subset = curriculum.subset(len(data))
        if subset is not None:  # the uncertainty-guided share, shuffled the same seeded way
            order = torch.from_numpy(subset)[torch.randperm(len(subset), generator=torch.Generator().manual_seed(self.cfg.seed * 100_003 + epoch))]
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

    def _gpu_memory(self) -> dict[str, int]:
        """``gpu_memory_mib``: this rank's peak allocation so far, on CUDA only (the Trainer tab shows it live)."""
        if self.ctx.device.type != "cuda":
            return {}
        return {"gpu_memory_mib": int(torch.cuda.max_memory_allocated(self.ctx.device) // 2**20)}

    @torch.no_grad()
    def evaluate(self, data: SplitData) -> tuple[dict, np.ndarray, np.ndarray | None]:
        self.model.eval()
        chunk = 256 if self.cfg.mode == "features" else self.cfg.batch_size // self.cfg.accumulate  # clips are ~100 MB a dive
        finals, judges = [], []
        for start in range(0, len(data), chunk):
            idx = torch.arange(start, min(start + chunk, len(data)))
            with self._autocast():
                f, j = self.model.point_scores(data.batch(idx, self.model, self.ctx.device), self.cfg.decoding)
            finals.append(f)
            judges.append(j)
        final = np.concatenate(finals)
        judge = np.concatenate(judges) if judges and judges[0] is not None else None
        return report(final, data.labels, self.score_range, judge), final, judge

    @torch.no_grad()
    def _uncertainties(self, data: SplitData) -> np.ndarray | None:
        """The method's uncertainty for every training dive (None: it has none, so no curriculum)."""
        self.model.eval()
        chunk = 256 if self.cfg.mode == "features" else self.cfg.batch_size // self.cfg.accumulate
        parts = []
        for start in range(0, len(data), chunk):
            u = self.model.uncertainties(data.batch(torch.arange(start, min(start + chunk, len(data))), self.model, self.ctx.device))
            if u is None:
                return None
            parts.append(u)
        return np.concatenate(parts)

    def fit(self, train: SplitData, val: SplitData, checkpoint_dir: Path, resume: bool = False) -> FitResult:
        start_epoch, history = 0, []
        best_state = _copy_state(self.model)
        best_epoch, best_val = -1, {"rho": -float("inf")}
        curriculum = Curriculum()
        if resume:
            done, best_state, info = load_checkpoint(checkpoint_dir, self.model, self.optimizer)
            start_epoch, history = done + 1, info["history"]
            best_epoch, best_val = info["best_epoch"], info["best_val"]
            curriculum = Curriculum.from_dict(info.get("curriculum", {}))
            self.progress.emit("resume", epoch=done + 1, checkpoint=checkpoint_dir)
        since_best = 0 if best_epoch < 0 else start_epoch - 1 - best_epoch
        started = time.monotonic()
        for epoch in range(start_epoch, self.cfg.epochs):
            train_loss = self._train_epoch(train, epoch, curriculum)
            figures, _, _ = self.evaluate(val)
            uncertainties = self._uncertainties(train)
            if uncertainties is not None:
                curriculum.update(uncertainties, figures["rho"])
            improved = figures["rho"] > best_val["rho"]
            if improved:
                best_state, best_epoch, best_val, since_best = _copy_state(self.model), epoch, figures, 0
                self.progress.emit("best", epoch=epoch + 1, val=figures)
            else:
                since_best += 1
            entry = {"epoch": epoch + 1, "train_loss": train_loss, "val_rho": figures["rho"], "val_rl2": figures["rl2"]}
            if curriculum.order:
                entry["train_share"] = curriculum.share
            history.append(entry)
            checkpoint = None
            if self.ctx.is_main:
                info = {"history": history, "best_epoch": best_epoch, "best_val": best_val, "config": self.cfg.to_json(), "curriculum": curriculum.to_dict()}
                checkpoint = save_checkpoint(checkpoint_dir, epoch, self.model, self.optimizer, best_state, info)
            barrier(self.ctx)
            per_epoch = (time.monotonic() - started) / (epoch + 1 - start_epoch)
            self.progress.emit(
                "epoch", **entry, epochs=self.cfg.epochs, step=(epoch + 1) * -(-len(train) // self.cfg.batch_size), losses={"train": train_loss},
                val=figures, best_epoch=best_epoch + 1, eta_s=round(per_epoch * (self.cfg.epochs - epoch - 1), 1), checkpoint=checkpoint,
                **self._gpu_memory(),
            )
            # Every rank must take the same branch (a rank that stops alone leaves the others in an all-reduce).
            if any_rank(self.ctx, self.stop is not None and self.stop.requested()) and epoch + 1 < self.cfg.epochs:
                self.progress.emit("cancelled", epoch=epoch + 1, checkpoint=checkpoint, message=f"stopped after epoch {epoch + 1}; resume continues from its checkpoint")
                raise RunCancelled(f"stopped after epoch {epoch + 1}")
            if self.cfg.patience is not None and since_best >= self.cfg.patience:
                self.progress.emit("early_stop", epoch=epoch + 1, best_epoch=best_epoch + 1)
                return FitResult(best_state, best_epoch + 1, best_val, history, stopped_early=True)
        return FitResult(best_state, best_epoch + 1, best_val, history)


def _copy_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
