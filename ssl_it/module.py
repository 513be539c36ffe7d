"""The LightningModule: a system that receives its backbone and objective.

It runs the student backbone on every view, lets the objective compute its
loss, logs every named term, and owns the optimiser and schedule. It knows
nothing of MI estimation or of probes: callbacks read the features it
returns from ``training_step`` and ``validation_step``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities.types import OptimizerLRScheduler
from torch import nn
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler
from typing_extensions import override

from ssl_it.objectives import Objective
from ssl_it.optim import decay_and_no_decay_groups

OptimizerFactory = Callable[[list[dict[str, Any]]], Optimizer]
SchedulerFactory = Callable[..., LRScheduler]


class SSLModule(pl.LightningModule):
    """Backbone + objective trained with one optimiser and a per-step schedule.

    Args:
        backbone: maps a batch of inputs to ``(batch, out_dim)`` features.
        objective: heads + loss (see :class:`ssl_it.objectives.Objective`).
        optimizer: builds the optimiser from parameter groups (weight decay
            off for biases and norms).
        scheduler: builds the schedule from ``(optimizer, total_steps=...)``;
            ``None`` keeps the learning rate constant.
    """

    def __init__(
        self,
        backbone: nn.Module,
        objective: Objective,
        optimizer: OptimizerFactory,
        scheduler: SchedulerFactory | None = None,
    ) -> None:
        super().__init__()
        self.backbone = backbone
        self.objective = objective
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        objective.attach_backbone(backbone)
        self._total_steps = 1  # optimiser steps of the whole run, set with the optimiser

    @override
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(x)

    def features_of_views(self, views: list[torch.Tensor]) -> list[torch.Tensor]:
        """Backbone features of each view; views of the same shape go through
        in one batched call (multi-crop has two resolutions)."""
        feats: list[torch.Tensor | None] = [None] * len(views)
        by_shape: dict[tuple[int, ...], list[int]] = {}
        for i, v in enumerate(views):
            by_shape.setdefault(tuple(v.shape[1:]), []).append(i)
        for idx in by_shape.values():
            out = self.backbone(torch.cat([views[i] for i in idx]))
            for i, chunk in zip(idx, out.chunk(len(idx))):
                feats[i] = chunk
        return feats  # type: ignore[return-value]

    @override
    def training_step(self, batch: tuple[list[torch.Tensor], torch.Tensor], batch_idx: int) -> dict[str, Any]:
        views, labels = batch
        self.objective.set_progress(self.global_step, self._total_steps)
        feats = self.features_of_views(views)
        terms = self.objective(feats, views, labels)
        logged = {f"train/{k}": v.detach() for k, v in terms.items()}
        kwargs: dict[str, Any] = dict(on_step=True, on_epoch=True, batch_size=labels.shape[0], sync_dist=False)
        self.log("train/loss", logged.pop("train/loss"), prog_bar=True, **kwargs)
        self.log_dict(logged, **kwargs)
        return {"loss": terms["loss"], "features": feats[0].detach(), "labels": labels}

    @override
    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> dict[str, torch.Tensor]:
        x, labels = batch
        return {"features": self.backbone(x), "labels": labels}

    @override
    def optimizer_step(self, *args: Any, **kwargs: Any) -> None:
        super().optimizer_step(*args, **kwargs)
        self.objective.after_optimizer_step(self.backbone)

    @override
    def configure_optimizers(self) -> OptimizerLRScheduler:
        optimizer = self.optimizer_factory(decay_and_no_decay_groups(self))
        self._total_steps = int(self.trainer.estimated_stepping_batches)  # the schedules' and objectives' horizon
        if self.scheduler_factory is None:
            return {"optimizer": optimizer}
        scheduler = self.scheduler_factory(optimizer, total_steps=self._total_steps)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
