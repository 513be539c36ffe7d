"""Stop a diverged run at once, before a non-finite number reaches the weights.

The guard checks, at every training step, the loss before the backward pass,
the gradients before the optimiser step, and the weights after it; and the
validation features. The first non-finite value raises :class:`Diverged`
naming the step and what to look at. Because it raises before the optimiser
applies a non-finite update and long before the epoch-end checkpoint, the
last checkpoint on disk holds the last good weights.

Cost: one sum per tensor and one device-to-host sync of a scalar per check
(``python benchmarks/bench_divergence_guard.py`` compares a step with and without).
Under DDP the decision is reduced across ranks, so every rank stops together.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pytorch_lightning as pl
import torch
from typing_extensions import override


class Diverged(RuntimeError):
    """Training produced a non-finite number; the message names the step."""

    def __init__(self, message: str, step: int) -> None:
        super().__init__(message)
        self.step = step


def _all_finite(tensors: Sequence[torch.Tensor]) -> bool:
    """Whether every value is finite, from one float32 sum per tensor: a sum is
    NaN/inf iff a value is, or iff finite values beyond 1e32 overflow together,
    which only a diverged run reaches. Faster than ``isfinite(t).all()``
    (``benchmarks/bench_divergence_guard.py`` compares the two)."""
    if not tensors:
        return True
    sums = torch.stack([t.detach().sum(dtype=torch.float32) for t in tensors])
    return bool(torch.isfinite(sums).all())


def advice(trainer: pl.Trainer) -> str:
    """What to look at when a run diverges."""
    lrs = sorted({float(g["lr"]) for opt in trainer.optimizers for g in opt.param_groups})
    lr = ", ".join(f"{v:g}" for v in lrs) or "?"
    return (
        f"Look at the learning rate (optimizer.lr; now {lr}), the precision (trainer.precision="
        f"{trainer.precision}: 16-mixed and bf16 overflow sooner than 32-true) and the loss "
        f"coefficients (objective.*)"
    )


def diverged(trainer: pl.Trainer, what: str) -> Diverged:
    """The :class:`Diverged` error for ``what`` at the trainer's current step, with what to check."""
    step = trainer.global_step
    message = (
        f"{what} at step {step} (epoch {trainer.current_epoch}): the run diverged and was stopped before "
        f"a checkpoint could store it. {advice(trainer)}"
    )
    return Diverged(message, step)


def require_finite(trainer: pl.Trainer, tensor: torch.Tensor, what: str) -> None:
    """Raise :class:`Diverged` unless every value of ``tensor`` is finite (for
    callbacks that measure the model, e.g. on the probe set)."""
    if not _all_finite([tensor]):
        raise diverged(trainer, f"{what} is not finite (NaN or inf)")


class DivergenceGuard(pl.Callback):
    """Raises :class:`Diverged` at the first non-finite loss, gradient, weight
    or validation feature (see the module docstring)."""

    def _check(self, trainer: pl.Trainer, finite: bool, what: str) -> None:
        if not trainer.strategy.reduce_boolean_decision(finite, all=True):
            raise diverged(trainer, what)

    @override
    def on_before_backward(self, trainer: pl.Trainer, pl_module: pl.LightningModule, loss: torch.Tensor) -> None:
        value = float(loss.detach())
        self._check(trainer, math.isfinite(value), f"the training loss is {value}")

    @override
    def on_before_optimizer_step(self, trainer: pl.Trainer, pl_module: pl.LightningModule, optimizer: Any) -> None:
        if getattr(trainer.precision_plugin, "scaler", None) is not None:
            return  # fp16 loss scaling: inf gradients are expected, the scaler skips those steps
        grads = [p.grad for p in pl_module.parameters() if p.grad is not None]
        self._check(trainer, _all_finite(grads), "a gradient is not finite (NaN or inf)")

    @override
    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args: Any) -> None:
        weights = [p for p in pl_module.parameters() if p.requires_grad]
        self._check(trainer, _all_finite(weights), "a weight is not finite (NaN or inf) after the optimiser step")

    @override
    def on_validation_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, *args: Any
    ) -> None:
        features = outputs.get("features") if isinstance(outputs, dict) else None
        if isinstance(features, torch.Tensor):
            self._check(trainer, _all_finite([features]), "a validation feature is not finite (NaN or inf)")
