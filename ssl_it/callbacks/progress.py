"""A progress bar that shows the loss without adding a device-to-host sync."""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import RichProgressBar
from typing_extensions import override

Metric = int | str | float | dict[str, float]


class LossProgressBar(RichProgressBar):
    """Lightning's ``RichProgressBar`` whose metric columns (``train/loss``,
    logged with ``prog_bar=True``) are refreshed on logging steps only.

    Lightning turns progress-bar metrics into Python numbers (``.item()``, a
    sync with the GPU) each time the bar reads them, which the stock bar
    does after every batch. Logging steps (every ``trainer.log_every_n_steps``
    optimiser steps) convert the same tensors anyway, so reading them there
    costs nothing extra; in between, the bar keeps the last numbers.
    Validation and epoch ends read fresh numbers as usual.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._shown: dict[str, Metric] | None = None

    @override
    def get_metrics(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> dict[str, Metric]:
        every = max(1, int(getattr(trainer, "log_every_n_steps", 1) or 1))  # set at run time by Lightning
        if self._shown is None or not trainer.training or trainer.global_step % every == 0:
            self._shown = super().get_metrics(trainer, pl_module)
        return self._shown
