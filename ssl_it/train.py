"""Hydra entry point: compose -> validate -> instantiate -> check -> fit -> report.

:func:`build` wires the config groups in dependency order, each instantiated
once; :func:`prepare` raises ``ConfigError`` (naming the key) for anything
that cannot work, before a file is written; :func:`train` returns the final
val accuracy of a linear classifier on the frozen features (the online
probe's when linear evaluation is off), or the metric(s) ``optimized_metric``
names. The plumbing is in :mod:`ssl_it.run` (the Hydra job and its exit
status: :mod:`~ssl_it.run.hydra_job`; files around the fit: :mod:`~ssl_it.run.lifecycle`).
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import hydra
import pytorch_lightning as pl
import torch
from hydra.utils import get_object, instantiate
from omegaconf import DictConfig
from pytorch_lightning.utilities import rank_zero_only
from pytorch_lightning.utilities.exceptions import SIGTERMException

from ssl_it.build import build_data_and_model, build_estimator, enabled
from ssl_it.callbacks import Diverged, final_results, received_signal
from ssl_it.callbacks.from_run import FromRun
from ssl_it.callbacks.protocols import check_callbacks
from ssl_it.module import SSLModule
from ssl_it.run import lifecycle
from ssl_it.run.checkpoint_io import AtomicCheckpointIO
from ssl_it.run.config_checks import (
    check_batch_size,
    check_constructor_keys,
    check_hardware,
    check_view_count,
    trainer_overrides,
    validate_config,
)
from ssl_it.run.config_dir import CONFIG_DIR
from ssl_it.run.folder import claim
from ssl_it.run.hydra_errors import one_line_errors
from ssl_it.run.hydra_job import config_errors, config_groups, record_invocation, run_job
from ssl_it.run.lifecycle import Run
from ssl_it.run.loggers import finish_loggers, run_loggers
from ssl_it.run.names import run_identity
from ssl_it.run.preemption import preempted
from ssl_it.run.resume import AlreadyFinished, RunState, open_run
from ssl_it.run.summary import check_optimized_metric

__all__ = ["CONFIG_DIR", "build", "build_callbacks", "main", "prepare", "train"]


def callback_nodes(cfg: DictConfig) -> dict[str, DictConfig]:
    """Every enabled callback node by name: the ``callbacks`` group, then the
    information plane (its own group, ``infoplane=default|none``, beside the
    ``estimator`` group it reads)."""
    nodes = {**(cfg.get("callbacks") or {}), "infoplane": cfg.get("infoplane")}
    return {name: node for name, node in nodes.items() if enabled(node)}


def build_callbacks(cfg: DictConfig) -> list[pl.Callback]:
    """One callback per node, in the nodes' order, each given the pieces of
    the run its constructor names (:class:`~ssl_it.callbacks.from_run.FromRun`:
    ``estimator``, ``probe_cache``)."""
    from_run = FromRun(estimator=lambda: build_estimator(cfg.estimator))
    callbacks = []
    for node in callback_nodes(cfg).values():
        made = instantiate(node, **from_run.arguments_for(get_object(node._target_), given=set(node)))
        callbacks.append(made() if node.get("_partial_") else made)
    return callbacks


def build_loggers(cfg: DictConfig, state: RunState) -> list[Any]:
    """``metrics.csv``, then the ``logger`` group's.

    W&B gets a readable name, tags from the choices and the sweep as group."""
    identity = run_identity(cfg) if enabled(cfg.logger) and "group" in cfg.logger else None
    names = {"name": identity.name, "tags": identity.tags, "group": identity.group} if identity else None
    return run_loggers(
        state.run_dir,
        state.run_id,
        state.resumed_epoch,
        instantiate(cfg.logger) if enabled(cfg.logger) else None,
        names,
    )


def build(cfg: DictConfig, state: RunState) -> tuple[pl.Trainer, SSLModule, Any, list[pl.Callback]]:
    """Instantiate every group, in dependency order; raises on bad values."""
    augmentation, datamodule, backbone, objective = build_data_and_model(cfg)
    check_view_count(getattr(augmentation, "n_views", 2), objective)
    scheduler = instantiate(cfg.scheduler) if cfg.get("scheduler") is not None else None
    module = SSLModule(backbone, objective, optimizer=instantiate(cfg.optimizer), scheduler=scheduler)
    callbacks = build_callbacks(cfg)
    make_trainer = instantiate(cfg.trainer)
    plugins = list(make_trainer.keywords.pop("plugins", None) or [])  # e.g. a SLURMEnvironment without auto-requeue
    trainer = make_trainer(
        callbacks=callbacks,
        logger=build_loggers(cfg, state),
        default_root_dir=str(state.run_dir),
        plugins=[*plugins, AtomicCheckpointIO()],
        **trainer_overrides(cfg.trainer),
    )
    return trainer, module, datamodule, callbacks


def preflight(trainer: pl.Trainer, module: SSLModule, datamodule: Any, callbacks: list[pl.Callback]) -> int:
    """Checks that need the data: batch and probe sizes, what the callbacks declare. Returns the probe set's size.

    The data module is set up here, once, so it is given the trainer first (``fit`` would attach it only
    later): it decides from the trainer's device whether the views are made there."""
    if getattr(datamodule, "trainer", None) is None:
        datamodule.trainer = trainer
    datamodule.setup("fit")
    check_batch_size(
        datamodule.batch_size, datamodule.drop_last, len(datamodule.train_set), module.objective, trainer.world_size
    )
    check_callbacks(module, callbacks, datamodule.num_classes, datamodule.probe_size_used)
    return int(datamodule.probe_size_used)


def prepare(cfg: DictConfig, overrides: list[str] | tuple[str, ...] = ()) -> Run:
    """Validate, resolve a resume, instantiate and check the run, then claim
    its directory. Raises :class:`ConfigError` (naming the key) before any
    file is written. ``overrides``: what the user typed (checked on resume)."""
    warnings.filterwarnings("ignore", message=".*Experiment logs directory.*")
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    started = time.monotonic()
    with config_errors(cfg):
        validate_config(cfg)
        check_optimized_metric(cfg)
        record_invocation(cfg)
        state = open_run(cfg, overrides, config_groups())
        check_constructor_keys(state.config)
        check_hardware(state.config.trainer, torch.cuda.device_count() if torch.cuda.is_available() else 0)
        trainer, module, datamodule, callbacks = build(state.config, state)
        n_probe = preflight(trainer, module, datamodule, callbacks)
        if not state.resumed and rank_zero_only.rank == 0:  # type: ignore[attr-defined]
            claim(state.run_dir, state.run_id)
    return Run(state, trainer, module, datamodule, callbacks, n_probe, started, tuple(overrides))


def fit(run: Run) -> float | tuple[float, ...]:
    """Train, evaluate and report; returns the final val accuracy, or the
    final metric(s) named by ``optimized_metric``."""
    state, trainer = run.state, run.trainer
    lifecycle.begin(state, trainer, run.overrides, run.probe_size)
    try:
        trainer.fit(run.module, datamodule=run.datamodule, ckpt_path=state.checkpoint)
    except SIGTERMException:  # a SystemExit(0): without this the process would exit 0 as if done
        finish_loggers(trainer.loggers, {}, trainer.global_step, failed=True)
        raise preempted(
            state.run_dir, trainer, run.started, write=trainer.is_global_zero, signal=received_signal(run.callbacks)
        ) from None
    except BaseException as err:  # an error (summary.json: failed) or an interrupt (a segment with no end)
        lifecycle.stopped(state, trainer, run.started, err)
        raise
    return lifecycle.report(state, trainer, final_results(run.callbacks), run.started)


def train(cfg: DictConfig, overrides: list[str] | tuple[str, ...] = ()) -> float | tuple[float, ...]:
    """Run one training job described by ``cfg``; return the final val
    accuracy, or the final metric(s) named by ``optimized_metric``."""
    try:
        return fit(prepare(cfg, overrides))
    except AlreadyFinished as done:
        print(f"ssl_it: {done}")
        return done.value()


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="train")
def hydra_main(cfg: DictConfig) -> float | tuple[float, ...]:
    """One job of ``python train.py`` (its record, message and exit status: :func:`~ssl_it.run.hydra_job.run_job`)."""
    return run_job(cfg, prepare, fit, diverged=Diverged)


def main() -> None:
    """``python train.py``: Hydra's main, with its own errors before a job starts as one line, exit 2."""
    with one_line_errors(CONFIG_DIR):
        hydra_main()


if __name__ == "__main__":
    main()
