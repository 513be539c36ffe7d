"""Measuring callbacks outside Lightning's loop: on tensors held in memory, in a notebook or a benchmark."""

from __future__ import annotations

from types import SimpleNamespace

from ssl_it.data import InMemoryProbeData


def standalone_trainer(probe_data: InMemoryProbeData, step: int = 0) -> SimpleNamespace:
    """What the measuring callbacks (information plane, diagnostics, embedding view) read from a trainer,
    for one process at ``step``: hand it to ``InformationPlane.measure(trainer, model, step, epoch)``."""
    return SimpleNamespace(
        global_step=step,
        current_epoch=0,
        num_training_batches=1,
        world_size=1,
        global_rank=0,
        is_global_zero=True,
        sanity_checking=False,
        datamodule=probe_data,
        loggers=[],
    )
