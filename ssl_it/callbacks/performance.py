"""Speed settings of the model that the GPU path needs: channels-last memory
and ``torch.compile``.

Both act on the LightningModule in ``setup`` (before Lightning moves it to
the device and wraps it for DDP), so nothing else changes: checkpoints keep
their keys (``nn.Module.compile`` compiles in place, no ``_orig_mod``
prefix), and the callbacks' probe passes run through the same modules.
Mixed precision is the trainer's ``precision`` (``bf16-mixed`` in
``trainer=gpu``/``ddp``); pinned, non-blocking host-to-device copies are the
DataModule's ``pin_memory`` (on when CUDA is available).
"""

from __future__ import annotations

from typing import Literal

import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities import rank_zero_info
from typing_extensions import override

from ssl_it import checks


class Performance(pl.Callback):
    """Channels-last weights and a compiled backbone.

    Args:
        channels_last: store convolution weights (and so activations)
            channels-last, the layout tensor cores and oneDNN's CPU kernels
            want; ``auto``: on CUDA and on CPUs with oneDNN (where it made
            the training step faster: docs/usage.md, "Speed settings").
        compile: compile the backbone with ``torch.compile`` (the first
            steps are slower while it compiles; each new input shape or
            train/eval switch compiles once more).
        compile_mode: ``torch.compile``'s ``mode`` (``default``,
            ``reduce-overhead``, ``max-autotune``).
        compile_backend: ``torch.compile``'s ``backend``: ``inductor``
            generates kernels (a minute or more on a CPU: docs/usage.md,
            "Speed settings"); ``aot_eager`` only traces (what the CPU tests use).
    """

    def __init__(
        self,
        channels_last: Literal["auto"] | bool = "auto",
        compile: bool = False,
        compile_mode: str = "default",
        compile_backend: str = "inductor",
    ) -> None:
        checks.choice("callbacks.performance.channels_last", channels_last, ("auto", True, False))
        checks.choice(
            "callbacks.performance.compile_mode",
            compile_mode,
            ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs"),
        )
        self.channels_last = channels_last
        self.compile = compile
        self.compile_mode = compile_mode
        self.compile_backend = compile_backend
        self.applied: list[str] = []

    @override
    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if self.applied:
            return
        device = trainer.strategy.root_device.type
        fast = device == "cuda" or (device == "cpu" and torch.backends.mkldnn.is_available())
        if self.channels_last is True or (self.channels_last == "auto" and fast):
            pl_module.to(memory_format=torch.channels_last)  # type: ignore[call-arg]
            self.applied.append("channels_last")
        if self.compile:
            mode = None if self.compile_backend != "inductor" else self.compile_mode
            pl_module.backbone.compile(mode=mode, backend=self.compile_backend)  # type: ignore[union-attr, operator]
            self.applied.append(f"compile({self.compile_backend}, {self.compile_mode})")
        if self.applied:
            rank_zero_info(f"ssl_it: performance settings: {', '.join(self.applied)}")
