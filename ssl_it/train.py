"""Hydra entry point: compose -> validate -> instantiate -> check -> fit -> report.

The only module that imports Hydra. ``train(cfg)`` wires the config groups
in dependency order, each instantiated once, writes the final numbers to
``summary.json`` and returns the final validation accuracy of a linear
classifier on the frozen features (the metric sweepers optimise; the online
probe's accuracy when linear evaluation is switched off), or the final
metric(s) that ``optimized_metric`` names (run_summary.py). ``prepare`` raises :class:`ConfigError` for
anything that cannot work before a file is written; ``main`` turns failures
into messages and exit codes (see ``ssl_it/run/job.py``).
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import sys
import time
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import hydra
import pytorch_lightning as pl
import torch
from hydra.conf import HydraConf
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import InstantiationException
from hydra.experimental.callback import Callback as HydraCallback
from hydra.types import RunMode
from hydra.utils import get_class, instantiate
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.utilities import rank_zero_only
from pytorch_lightning.utilities.exceptions import SIGTERMException
from typing_extensions import override

from ssl_it.run import log_file as run_log
from ssl_it.run import segments as run_segments
from ssl_it.callbacks import Diverged, DivergenceGuard, StepSeed, final_results, received_signal
from ssl_it.callbacks.taps import check_layers
from ssl_it.run.checkpoint_io import AtomicCheckpointIO, describe_partial_writes, remove_partial_writes
from ssl_it.run.help_text import KEYS, groups_text, keys_text
from ssl_it.run.config_checks import (
    ConfigError, check_batch_size, check_constructor_keys, check_hardware, check_label_classes, check_probe_size,
    qualify_key, validate_config,
)
from ssl_it.run.config_dir import CONFIG_DIR
from ssl_it.run.hydra_errors import one_line_errors, task_started
from ssl_it.run.job import EXIT_CONFIG, EXIT_DIVERGED, Job, config_error
from ssl_it.run.loggers import ResumableCSVLogger, finish_loggers
from ssl_it.module import SSLModule
from ssl_it.run.preemption import EXIT_PREEMPTED, Preempted, preempted
from ssl_it.run.resume import RunState, last_good_checkpoint, resolve_resume
from ssl_it.run.folder import RUN_ID_FILE, claim, read_run_id, run_suffix
from ssl_it.run.names import adopt_wandb_sweep_run_id, run_identity, sweep_name, wandb_sweep_id
from ssl_it.run.summary import check_optimized_metric, finished, read_summary, returned_value, write_summary
from ssl_it.run.sweep_failures import SweepJob, report
from ssl_it.threads import set_threads

log = logging.getLogger(__name__)
BASIC_SWEEPER = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"

if not OmegaConf.has_resolver("ssl_it.suffix"):
    # cached: one value per composed config, shared by the jobs of a sweep (like ${now:})
    OmegaConf.register_new_resolver("ssl_it.suffix", run_suffix, use_cache=True)


def config_groups() -> list[str]:
    """The config groups of ``configs/`` (``objective``, ``debug``, ...; not Hydra's own ``hydra/``)."""
    return sorted(p.name for p in Path(CONFIG_DIR).iterdir() if p.is_dir() and p.name != "hydra"
                  and not p.name.startswith(("_", ".")))


def _help_groups(*, _root_: DictConfig) -> str:
    choices = OmegaConf.select(_root_, "hydra.runtime.choices", default=None) or {}
    return groups_text(Path(CONFIG_DIR), choices)


def _help_keys(*, _root_: DictConfig) -> str:
    absent = object()
    values = {key: OmegaConf.select(_root_, key, default=absent) for key, _ in KEYS}
    return keys_text({key: OmegaConf.to_object(v) if OmegaConf.is_config(v) else v
                      for key, v in values.items() if v is not absent})


for _name, _resolver in (("ssl_it.help_groups", _help_groups), ("ssl_it.help_keys", _help_keys)):
    if not OmegaConf.has_resolver(_name):  # the text of --help (configs/hydra/help/ssl_it.yaml)
        OmegaConf.register_new_resolver(_name, _resolver)


def enabled(node: Any) -> bool:
    """An optional group (logger, infoplane) is off when null; an experiment
    preset's settings merged onto a null option leave a node with no
    ``_target_``, which means off too."""
    return node is not None and "_target_" in node


def build_objective(cfg: DictConfig, in_dim: int, num_classes: int) -> Any:
    """The ``objective`` node completed with the backbone's width (and the
    data's class count when the objective declares ``needs_num_classes``)."""
    declared: bool = getattr(get_class(cfg._target_), "needs_num_classes", False)
    extra = {"num_classes": num_classes} if declared else {}
    return instantiate(cfg)(in_dim=in_dim, **extra)


def build_estimator(node: DictConfig) -> Any:
    """One estimator for every quantity (a node with a ``_target_``:
    ``estimator=kde``), or ``{quantity: estimator}`` from a node of per-quantity
    sub-nodes (``estimator=calibrated``: ``I_XT``, ``I_TY``, ``I_Z1Z2``);
    :class:`~ssl_it.callbacks.InformationPlane` checks the keys."""
    return instantiate(node, _convert_="all")


def callback_nodes(cfg: DictConfig) -> dict[str, DictConfig]:
    """Every enabled callback node by name: the ``callbacks`` group, then the
    information plane (its own group, ``infoplane=default|none``, beside the
    ``estimator`` group it reads). The progress bar only when the trainer
    shows one."""
    nodes = {**(cfg.get("callbacks") or {}), "infoplane": cfg.get("infoplane")}
    show_bar = cfg.trainer.get("enable_progress_bar", True)
    return {name: node for name, node in nodes.items() if enabled(node) and (show_bar or name != "progress_bar")}


def build_callbacks(cfg: DictConfig) -> list[pl.Callback]:
    """The run's safety callbacks (divergence guard, per-step reseeding), then
    one per callback node. A node with ``_partial_: true`` is completed with
    what only the run knows: ``estimator=`` (the ``estimator`` group, built once)."""
    runtime: dict[str, Any] = {}
    callbacks: list[pl.Callback] = [DivergenceGuard(), StepSeed(cfg.seed)]
    for node in callback_nodes(cfg).values():
        made = instantiate(node)
        if node.get("_partial_"):
            runtime = runtime or {"estimator": build_estimator(cfg.estimator)}
            made = made(**runtime)
        callbacks.append(made)
    return callbacks


def sweep_group() -> str | None:
    """The sweep this job belongs to: a W&B sweep id, or the multirun sweep
    directory's name (jobs of one sweep share a W&B group)."""
    if wandb_sweep_id():
        return wandb_sweep_id()
    if not HydraConfig.initialized():
        return None
    hydra_cfg = HydraConfig.get()
    return sweep_name(hydra_cfg.sweep.dir) if hydra_cfg.mode == RunMode.MULTIRUN else None


def swept_keys(hydra_cfg: HydraConf) -> list[str] | None:
    """Keys the current sweep varies (W&B sweep parameters, Optuna's search
    space, multirun overrides such as ``seed=0,1``); ``None`` outside a sweep."""
    if wandb_sweep_id() and os.environ.get("WANDB_SWEEP_PARAM_PATH"):
        return [str(k) for k in OmegaConf.load(os.environ["WANDB_SWEEP_PARAM_PATH"]) if k != "wandb_version"]
    if hydra_cfg.mode != RunMode.MULTIRUN:
        return None
    keys = [str(k) for k in (hydra_cfg.sweeper.get("params") or {})]
    multirun = Path(hydra_cfg.sweep.dir) / "multirun.yaml"  # the command line, saved by Hydra's basic sweeper
    if multirun.is_file():
        parsed = OverridesParser.create().parse_overrides(list(OmegaConf.load(multirun).hydra.overrides.task))
        keys += [o.get_key_element() for o in parsed if o.is_sweep_override()]
    return keys


def record_invocation(cfg: DictConfig) -> None:
    """Fill ``cfg.run`` (group choices, command-line overrides, the sweep and
    the keys it varies) from Hydra; saved in config.yaml, it names and tags
    the run (run_names.py)."""
    if not HydraConfig.initialized() or "run" not in cfg:
        return
    hydra_cfg = HydraConfig.get()
    choices = hydra_cfg.runtime.choices
    cfg.run.choices = {k: v for k, v in choices.items() if v is not None and not k.startswith("hydra/")}
    cfg.run.overrides = list(hydra_cfg.overrides.task)
    cfg.run.sweep = sweep_group()
    cfg.run.swept = swept_keys(hydra_cfg)


def build_loggers(cfg: DictConfig, state: RunState) -> list[Any]:
    """The run's loggers: the resumable CSV logger, and the configured one (W&B, TensorBoard) when enabled."""
    loggers: list[Any] = [ResumableCSVLogger(str(state.run_dir), keep_until_epoch=state.resumed_epoch)]
    if enabled(cfg.logger):
        extra = {}
        if "group" in cfg.logger:  # W&B: readable name, tags from the choices, the sweep as group
            identity = run_identity(cfg)
            extra = {"name": identity.name, "tags": identity.tags, "group": identity.group}
        loggers.append(instantiate(cfg.logger)(save_dir=str(state.run_dir), run_id=state.run_id, **extra))
    return loggers


class AlreadyFinished(Exception):
    """A resume of a run that has finished, with nothing more asked: a no-op."""

    def __init__(self, state: RunState) -> None:
        super().__init__(f"run {state.run_dir} has already finished its {(state.resumed_epoch or 0) + 1} epoch(s); "
                         f"nothing to do (give trainer.max_epochs=N above that to train further)")
        self.state = state

    def value(self) -> float | tuple[float, ...]:
        """What the finished run returned, read back from its ``summary.json``."""
        summary = {k: (math.nan if v is None else v) for k, v in read_summary(self.state.run_dir).items()
                   if k.startswith("final/")}
        acc = summary.get("final/linear_eval_top1", summary.get("final/val_probe_acc", math.nan))
        return returned_value(summary, acc, self.state.config.get("optimized_metric"))


@dataclass
class Run:
    """One prepared job, ready to fit: its run state, trainer, module, data and callbacks."""
    state: RunState
    trainer: pl.Trainer
    module: SSLModule
    datamodule: Any
    callbacks: list[pl.Callback]
    probe_size: int
    started: float  # time.monotonic() when the job began (wall time in summary.json)
    overrides: tuple[str, ...] = ()  # what this segment's command line asked for (summary.json "segments")


def trainer_overrides(trainer_cfg: DictConfig) -> dict[str, Any]:
    """Settings that cannot work on the chosen hardware, switched off with a
    log line: synchronised batch norm needs CUDA (``trainer=ddp`` on CPUs
    runs over gloo, where SyncBatchNorm raises)."""
    accelerator = str(trainer_cfg.get("accelerator", "auto"))
    on_cpu = accelerator == "cpu" or (accelerator == "auto" and not torch.cuda.is_available())
    if trainer_cfg.get("sync_batchnorm") and on_cpu:
        log.info("ssl_it: trainer.sync_batchnorm=true needs CUDA; turned off for this CPU (gloo) run")
        return {"sync_batchnorm": False}
    return {}


def build(cfg: DictConfig, state: RunState) -> tuple[pl.Trainer, SSLModule, Any, list[pl.Callback]]:
    """Instantiate every group, in dependency order; raises on bad values."""
    pl.seed_everything(cfg.seed, workers=True)
    set_threads(cfg.get("torch_threads"), key="torch_threads")
    source = instantiate(cfg.data)
    source.check_available()
    augmentation = instantiate(cfg.augmentation)(
        image_size=source.image_size, channels=source.channels, mean=source.mean, std=source.std
    )
    datamodule = instantiate(cfg.datamodule)(source=source, augmentation=augmentation, seed=cfg.seed)
    backbone = instantiate(cfg.backbone)(input_shape=source.input_shape)
    objective = build_objective(cfg.objective, backbone.out_dim, source.num_classes)
    if getattr(augmentation, "n_views", 2) < objective.min_views:
        raise ConfigError(
            f"augmentation.n_views={augmentation.n_views}: objective '{type(objective).__name__}' "
            f"needs at least {objective.min_views} views"
        )
    scheduler = instantiate(cfg.scheduler) if cfg.get("scheduler") is not None else None
    module = SSLModule(backbone, objective, optimizer=instantiate(cfg.optimizer), scheduler=scheduler)
    callbacks = build_callbacks(cfg)
    make_trainer = instantiate(cfg.trainer)
    plugins = list(make_trainer.keywords.pop("plugins", None) or [])  # e.g. a SLURMEnvironment without auto-requeue
    trainer = make_trainer(
        callbacks=callbacks, logger=build_loggers(cfg, state), default_root_dir=str(state.run_dir),
        plugins=[*plugins, AtomicCheckpointIO()],
        **trainer_overrides(cfg.trainer),
    )
    return trainer, module, datamodule, callbacks


def preflight(trainer: pl.Trainer, module: SSLModule, datamodule: Any, callbacks: list[pl.Callback]) -> int:
    """Checks that need the data: batch and probe sizes. Returns the probe set's size."""
    datamodule.setup("fit")
    check_batch_size(datamodule.batch_size, datamodule.drop_last, len(datamodule.train_set), module.objective,
                     trainer.world_size)
    check_label_classes(datamodule.num_classes, callbacks)
    for callback in callbacks:  # the information plane's setup() would check its layers only once training starts
        check_layers(module, getattr(callback, "layers", []))
    n_probe = datamodule.probe_size_used
    check_probe_size(n_probe, callbacks)
    return n_probe


def prepare(cfg: DictConfig, overrides: list[str] | tuple[str, ...] = ()) -> Run:
    """Validate, resolve a resume, instantiate and check the run, then claim
    its directory. Raises :class:`ConfigError` (naming the key) before any
    file is written. ``overrides``: what the user typed (checked on resume)."""
    warnings.filterwarnings("ignore", message=".*Experiment logs directory.*")
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    started = time.monotonic()
    try:
        validate_config(cfg)
        check_optimized_metric(cfg)
        record_invocation(cfg)
        state = resolve_resume(cfg, Path(cfg.paths.output_dir), Path(cfg.paths.outputs_root), overrides,
                               config_groups())
        done = state.resumed_epoch is not None and int(state.config.trainer.max_epochs) <= state.resumed_epoch + 1
        if done and finished(state.run_dir):
            raise AlreadyFinished(state)
        if not state.resumed:  # in a W&B sweep, W&B uses the agent's run id whatever id we give
            state.run_id = adopt_wandb_sweep_run_id(state.run_id)
        if rank_zero_only.rank > 0:  # type: ignore[attr-defined]  # a DDP rank re-running the script: rank 0 owns the run id
            state.run_id = read_run_id(state.run_dir) or state.run_id
        check_constructor_keys(state.config)
        check_hardware(state.config.trainer, torch.cuda.device_count() if torch.cuda.is_available() else 0)
        trainer, module, datamodule, callbacks = build(state.config, state)
        n_probe = preflight(trainer, module, datamodule, callbacks)
        if not state.resumed and rank_zero_only.rank == 0:  # type: ignore[attr-defined]
            claim(state.run_dir, state.run_id)
    except InstantiationException as err:
        raise ConfigError(qualify_key(str(config_error(err)), cfg)) from err.__cause__
    except ConfigError:
        raise
    except ValueError as err:
        raise ConfigError(qualify_key(str(err), cfg)) from err
    return Run(state, trainer, module, datamodule, callbacks, n_probe, started, tuple(overrides))


def fit(run: Run) -> float | tuple[float, ...]:
    """Train, evaluate and report; returns the final val accuracy, or the
    final metric(s) named by ``optimized_metric``."""
    state, trainer, callbacks = run.state, run.trainer, run.callbacks
    state.save_config()
    if trainer.is_global_zero:
        run_segments.begin(state.run_dir, run.overrides)
    if state.resumed and trainer.is_global_zero:
        removed, kept = remove_partial_writes(state.run_dir / "checkpoints")
        if removed:
            log.warning(f"ssl_it: removed checkpoint writes cut short by a kill: {', '.join(removed)}; "
                        f"resuming from '{state.checkpoint}'")
        if kept:
            log.warning(f"ssl_it: kept checkpoint writes of processes still running: {', '.join(kept)}; "
                        f"is another job writing into {state.run_dir}?")
    hparams = cast("dict[str, Any]", OmegaConf.to_container(state.config, resolve=True))  # a DictConfig: str keys
    for lg in trainer.loggers:
        lg.log_hyperparams({**hparams, "probe_size_used": run.probe_size})
    try:
        trainer.fit(run.module, datamodule=run.datamodule, ckpt_path=state.checkpoint)
    except SIGTERMException:  # a SystemExit(0): without this the process would exit 0 as if done
        finish_loggers(trainer.loggers, {}, trainer.global_step, failed=True)
        raise preempted(state.run_dir, trainer, run.started, write=trainer.is_global_zero,
                        signal=received_signal(callbacks)) from None
    except Exception as err:
        finish_loggers(trainer.loggers, {}, trainer.global_step, failed=True)
        if trainer.is_global_zero:
            write_summary(state.run_dir, {"error": f"{type(err).__name__}: {err}"}, time.monotonic() - run.started,
                          status="failed")
        raise
    except BaseException:  # an interrupt: recorded as killed (a segment with no end)
        finish_loggers(trainer.loggers, {}, trainer.global_step, failed=True)
        raise
    summary = final_results(callbacks)
    online = summary.get("final/val_probe_acc", float("nan"))
    evaluated = "final/linear_eval_top1" in summary
    acc = summary["final/linear_eval_top1"] if evaluated else online
    finish_loggers(trainer.loggers, summary, trainer.global_step, failed=False, hp_metric=acc)
    if not trainer.is_global_zero:  # linear evaluation runs on rank 0; sweepers read rank 0's value
        return acc
    write_summary(state.run_dir, summary, time.monotonic() - run.started)
    line = (
        f"ssl_it: final val linear-probe accuracy = {acc:.4f} "
        f"({'frozen-feature logistic regression' if evaluated else 'online probe'}; "
        f"online probe {online:.4f})  run dir: {state.run_dir}"
    )
    print(line)
    run_log.write_to_files(logging.INFO, line)
    return returned_value(summary, acc, state.config.get("optimized_metric"))


def train(cfg: DictConfig, overrides: list[str] | tuple[str, ...] = ()) -> float | tuple[float, ...]:
    """Run one training job described by ``cfg``; return the final val
    accuracy, or the final metric(s) named by ``optimized_metric``."""
    try:
        return fit(prepare(cfg, overrides))
    except AlreadyFinished as done:
        print(f"ssl_it: {done}")
        return done.value()


def current_job(cfg: DictConfig) -> tuple[Job, list[str]]:
    """This Hydra job's directories, sweep and typed overrides."""
    hydra_cfg = HydraConfig.get()
    overrides = list(hydra_cfg.overrides.task)
    sweep = None
    if hydra_cfg.mode == RunMode.MULTIRUN:
        sweep = SweepJob(num=int(hydra_cfg.job.num), sweep_dir=Path(hydra_cfg.sweep.dir),
                         job_dir=Path(hydra_cfg.runtime.output_dir), overrides=overrides)
    job = Job(
        hydra_dir=Path(hydra_cfg.runtime.output_dir), outputs_root=Path(cfg.paths.outputs_root), sweep=sweep,
        raise_on_failure=sweep is not None and hydra_cfg.sweeper.get("_target_") != BASIC_SWEEPER,
        rank_zero=rank_zero_only.rank == 0,  # type: ignore[attr-defined]
    )
    return job, overrides


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="train")
def hydra_main(cfg: DictConfig) -> float | tuple[float, ...]:
    """Hydra's task function: one job (a single run, or one job of a multirun); returns what a sweeper optimises."""
    task_started()
    job, overrides = current_job(cfg)
    run_log.route_to(job.hydra_dir)
    try:
        run = prepare(cfg, overrides)
        job.started(run.state, overrides)
        value = fit(run)
    except AlreadyFinished as done:
        print(f"ssl_it: {done}", flush=True)
        return job.finished(done.value())
    except ConfigError as err:
        return job.failed(f"invalid configuration: {err}", EXIT_CONFIG)
    except Preempted as err:
        return job.failed(str(err), EXIT_PREEMPTED)
    except Diverged as err:
        return job.failed(f"training diverged: {err} {last_good_checkpoint(run.state.run_dir)}", EXIT_DIVERGED)
    except Exception as err:
        if job.sweep is None:
            job.tidy()
            raise
        return job.failed(f"{type(err).__name__}: {err}", 1, details=traceback.format_exc())
    return job.finished(value)


def main() -> None:
    """``python train.py``: Hydra's main, with its own errors before a job starts as one line, exit 2."""
    with one_line_errors(CONFIG_DIR):
        hydra_main()


def refuse(message: str) -> None:
    """A configuration error found before Hydra writes anything: one line, exit 2."""
    print(f"ssl_it: invalid configuration: {message}", file=sys.stderr, flush=True)
    sys.exit(EXIT_CONFIG)


class SweepReport(HydraCallback):
    """Hydra callback. Before Hydra writes into a directory: a new run in a
    folder that holds a run, a basic multirun into a sweep directory
    that holds a sweep, and ``launcher=slurm`` where there is no SLURM, are
    refused (exit 2), so the existing run or sweep is left as it was. At the end of a multirun: print the sweep summary and
    exit with status 1 if any job failed."""

    @override
    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        run_dir = Path(str(config.hydra.run.dir))
        rank_zero = rank_zero_only.rank == 0  # type: ignore[attr-defined]  # DDP ranks re-run Hydra into rank 0's folder
        if rank_zero and config.get("resume") is None and (run_dir / RUN_ID_FILE).is_file():
            partial = describe_partial_writes(run_dir / "checkpoints")
            refuse(f"hydra.run.dir={run_dir}: the directory already holds run {read_run_id(run_dir)}; a new run "
                   f"never writes over another's files. Continue that run with resume={run_dir}, or choose "
                   f"another hydra.run.dir" + (f" ({partial}; a resume removes it)" if partial else ""))

    @override
    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(str(config.hydra.sweep.dir))
        launcher = str(config.hydra.launcher.get("_target_", ""))
        if launcher.endswith("SlurmLauncher") and shutil.which("sbatch") is None:
            refuse("launcher=slurm: there is no SLURM here (sbatch is not on PATH); submit the sweep from the "
                   "cluster's login node, or run it on this machine with launcher=local or launcher=submitit_local")
        if config.hydra.sweeper.get("_target_") != BASIC_SWEEPER:
            return  # Optuna continues the study saved in its sweep directory
        if (sweep_dir / "sweep_summary.jsonl").is_file() or (sweep_dir / "multirun.yaml").is_file():
            refuse(f"hydra.sweep.dir={sweep_dir}: the directory already holds a sweep; a new sweep would mix "
                   f"its jobs and summary with it. Choose another hydra.sweep.dir")

    @override
    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        text, any_failed = report(Path(config.hydra.sweep.dir))
        print(text, file=sys.stderr if any_failed else sys.stdout, flush=True)
        if any_failed:
            sys.exit(1)


if __name__ == "__main__":
    main()
