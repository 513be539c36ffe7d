"""Frozen backbone features of a whole loader, computed once per training step.

kNN monitoring and the final linear evaluation both need the features of
the un-augmented training subset (``datamodule.train_eval_dataloader()``)
and of the validation split under the same weights. The cache is keyed by
the trainer and its ``global_step`` (the weights only change with it), so
the last validation's kNN pass is the linear evaluation's too. Only rank 0
computes these (the callbacks return early elsewhere): no collective.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from weakref import WeakKeyDictionary

import numpy as np
import pytorch_lightning as pl
import torch

Features = tuple[np.ndarray, np.ndarray]
_CACHE: WeakKeyDictionary[pl.Trainer, dict[str, tuple[int, Features]]] = WeakKeyDictionary()


@torch.no_grad()
def frozen_features(backbone: torch.nn.Module, loader: Any, device: torch.device) -> Features:
    """``(features (N, out_dim), labels (N,))`` of a ``(x, y)`` loader, eval mode."""
    was_training = backbone.training
    backbone.eval()
    feats, labels = [], []
    try:
        for x, y in loader:
            feats.append(backbone(x.to(device, non_blocking=True)).float().cpu())
            labels.append(y)
    finally:
        backbone.train(was_training)
    return torch.cat(feats).numpy(), torch.cat(labels).numpy()


def store_features(trainer: pl.Trainer, name: str, features: Features) -> None:
    """Remember ``features`` of ``name`` at the trainer's current step."""
    _CACHE.setdefault(trainer, {})[name] = (trainer.global_step, features)


def cached_features(trainer: pl.Trainer, name: str) -> Features | None:
    """The features of ``name`` stored at the current step, if any."""
    hit = _CACHE.get(trainer, {}).get(name)
    return hit[1] if hit is not None and hit[0] == trainer.global_step else None


def features_at_step(
    trainer: pl.Trainer, pl_module: pl.LightningModule, name: str, loader: Callable[[], Any]
) -> Features:
    """Features of ``loader()`` under the current weights, computed at most
    once per step and ``name``."""
    hit = cached_features(trainer, name)
    if hit is None:
        hit = frozen_features(pl_module.backbone, loader(), pl_module.device)  # type: ignore[arg-type]
        store_features(trainer, name, hit)
    return hit
