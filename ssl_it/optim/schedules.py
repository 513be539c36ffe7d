"""Learning-rate schedules, stepped once per optimiser step."""

from __future__ import annotations

import math

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR

from ssl_it import checks


def warmup_cosine_factor(step: int, total_steps: int, warmup_steps: int, final_lr_ratio: float) -> float:
    """Linear warm-up from ~0 to 1 over ``warmup_steps``, then cosine decay to
    ``final_lr_ratio`` at ``total_steps`` (Loshchilov & Hutter 2017, arXiv:1608.03983)."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    return final_lr_ratio + (1.0 - final_lr_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


class WarmupCosine(LambdaLR):
    """Warm-up + cosine schedule as a ``LambdaLR``.

    Args:
        optimizer: the optimiser to schedule.
        total_steps: optimiser steps of the whole run (given by the module).
        warmup_fraction: share of ``total_steps`` spent warming up, in [0, 1).
        final_lr_ratio: final lr as a fraction of the peak lr, in [0, 1].
    """

    def __init__(
        self, optimizer: Optimizer, total_steps: int, warmup_fraction: float = 0.1, final_lr_ratio: float = 0.01
    ) -> None:
        checks.number("scheduler.warmup_fraction", warmup_fraction, 0.0, 1.0, open_high=True)
        checks.number("scheduler.final_lr_ratio", final_lr_ratio, 0.0, 1.0)
        warmup = int(round(warmup_fraction * total_steps))
        self.total_steps = total_steps
        super().__init__(optimizer, lambda step: warmup_cosine_factor(step, total_steps, warmup, final_lr_ratio))
