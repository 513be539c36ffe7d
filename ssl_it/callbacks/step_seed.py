"""Make the global random numbers of each training batch a function of (seed, epoch, batch).

Some objectives draw from the global RNGs while they train (MIB's
reparameterisation noise, W-MSE's sub-batch permutation), and other code
draws from them between steps (a DataLoader draws its workers' base seed each
time it starts an iterator, evaluations may sample). A process that resumes
from a checkpoint starts with different generator states than the process
that wrote it, so those draws — and the losses — would differ after a
resume. Reseeding Python's, NumPy's and torch's generators (CPU and CUDA)
before every training batch from ``SeedSequence([seed, epoch, batch])``
makes a run resumed from a checkpoint draw exactly what the uninterrupted
run drew (with gradient accumulation each micro-batch has its own seed).
(Augmentation views are keyed by ``(seed, epoch, index)`` themselves.)
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from typing_extensions import override


def batch_seed(seed: int, epoch: int, batch_idx: int) -> int:
    """A well-mixed 32-bit seed for training batch ``batch_idx`` of ``epoch`` of a run seeded ``seed``."""
    return int(np.random.SeedSequence([seed, epoch, batch_idx]).generate_state(1)[0])


class StepSeed(pl.Callback):
    """Reseeds the global generators before every training batch.

    Args:
        seed: the run's seed (``cfg.seed``).
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed

    @override
    def on_train_batch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        value = batch_seed(self.seed, trainer.current_epoch, batch_idx)
        random.seed(value)
        np.random.seed(value)
        torch.manual_seed(value)  # also every CUDA device's generator
