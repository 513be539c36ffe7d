"""Test-only callbacks, referenced from configs by ``_target_``."""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl


class SimulatedKill(RuntimeError):
    pass


class KillAtStep(pl.Callback):
    """Raises after optimiser step ``step`` (as a kill would stop the process there)."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_end(self, trainer: pl.Trainer, *args: Any) -> None:
        if trainer.global_step == self.step:
            raise SimulatedKill(f"killed after step {self.step}")


class ScaleLRAtStep(pl.Callback):
    """Multiplies the learning rate by ``factor`` for optimiser step ``step`` only
    (the schedule sets it back at the next step): a controlled blow-up."""

    def __init__(self, step: int, factor: float) -> None:
        self.step = step
        self.factor = factor

    def on_train_batch_start(self, trainer: pl.Trainer, *args: Any) -> None:
        if trainer.global_step == self.step:
            for group in trainer.optimizers[0].param_groups:
                group["lr"] *= self.factor


class SignalAtStep(pl.Callback):
    """Sends this process ``signum`` (default SIGTERM) after optimiser step ``step``, as SLURM would."""

    def __init__(self, step: int, signum: int = 15) -> None:
        self.step = step
        self.signum = signum

    def on_train_batch_end(self, trainer: pl.Trainer, *args: Any) -> None:
        if trainer.global_step == self.step:
            import os

            os.kill(os.getpid(), self.signum)
