"""A prepared run (:class:`Run`) and what it writes around ``trainer.fit``: before it, when it fails, after it.

``train.py`` calls :func:`begin` before training, :func:`stopped` when
training raised (the loggers are closed as failed; an error, not an
interrupt, is recorded in ``summary.json`` as ``status: failed``) and
:func:`report` with the callbacks' final numbers once it returned.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import pytorch_lightning as pl
from omegaconf import OmegaConf

from ssl_it.run import log_file as run_log
from ssl_it.run import segments as run_segments
from ssl_it.run.checkpoint_io import tidy_partial_writes
from ssl_it.run.loggers import finish_loggers
from ssl_it.run.resume import RunState
from ssl_it.run.summary import returned_value, write_summary


@dataclass
class Run:
    """A run built and checked by ``train.prepare``, ready for ``train.fit``."""

    state: RunState
    trainer: pl.Trainer
    module: pl.LightningModule
    datamodule: Any
    callbacks: list[pl.Callback]
    probe_size: int
    started: float  # time.monotonic() when the job began (wall time in summary.json)
    overrides: tuple[str, ...] = ()  # what this segment's command line asked for (summary.json "segments")


def begin(state: RunState, trainer: pl.Trainer, overrides: Sequence[str], probe_size: int) -> None:
    """Save the config, open this segment of the run, tidy a resumed run's
    cut-short checkpoint writes and give the loggers the hyperparameters."""
    state.save_config()
    if trainer.is_global_zero:
        run_segments.begin(state.run_dir, tuple(overrides))
    if state.resumed and trainer.is_global_zero:
        tidy_partial_writes(state.run_dir, state.checkpoint)
    hparams = cast("dict[str, Any]", OmegaConf.to_container(state.config, resolve=True))  # a DictConfig: str keys
    for lg in trainer.loggers:
        lg.log_hyperparams({**hparams, "probe_size_used": probe_size})


def stopped(state: RunState, trainer: pl.Trainer, started: float, err: BaseException) -> None:
    """Training raised ``err``: close the loggers as failed; an exception (not
    an interrupt, which leaves a segment with no end) is written to ``summary.json``."""
    finish_loggers(trainer.loggers, {}, trainer.global_step, failed=True)
    if isinstance(err, Exception) and trainer.is_global_zero:
        write_summary(
            state.run_dir, {"error": f"{type(err).__name__}: {err}"}, time.monotonic() - started, status="failed"
        )


def report(
    state: RunState, trainer: pl.Trainer, summary: dict[str, float], started: float
) -> float | tuple[float, ...]:
    """Close the loggers with the final numbers, write ``summary.json`` and
    print the final accuracy; returns the final val accuracy (linear
    evaluation, else the online probe), or the metric(s) ``optimized_metric`` names."""
    online = summary.get("final/val_probe_acc", math.nan)
    evaluated = "final/linear_eval_top1" in summary
    acc = summary["final/linear_eval_top1"] if evaluated else online
    finish_loggers(trainer.loggers, summary, trainer.global_step, failed=False, hp_metric=acc)
    if not trainer.is_global_zero:  # linear evaluation runs on rank 0; sweepers read rank 0's value
        return acc
    write_summary(state.run_dir, summary, time.monotonic() - started)
    line = (
        f"ssl_it: final val linear-probe accuracy = {acc:.4f} "
        f"({'frozen-feature logistic regression' if evaluated else 'online probe'}; "
        f"online probe {online:.4f})  run dir: {state.run_dir}"
    )
    print(line)
    run_log.write_to_files(logging.INFO, line)
    return returned_value(summary, acc, state.config.get("optimized_metric"))
