"""What Hydra knows about the current job: its invocation, its sweep, its directories.

The one run module besides :mod:`ssl_it.run.hydra_errors` that imports Hydra
(the import-linter contract names both). ``ssl_it.train`` asks it for the
job (:func:`current_job`) and for what to record in ``cfg.run``
(:func:`record_invocation`) and runs the job's flow (:func:`run_job`; its
record, its message and exit status: :func:`job_outcome`, which
``ssl_it.measure`` shares); :class:`SweepReport` is the Hydra callback that
``configs/train.yaml`` installs; importing this module registers the
resolvers the configs use (``${ssl_it.suffix:}`` and the ``--help`` text).
"""

from __future__ import annotations

import os
import shutil
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol, TypeVar

from hydra.conf import HydraConf
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import InstantiationException
from hydra.experimental.callback import Callback as HydraCallback
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.utilities import rank_zero_only
from typing_extensions import override

from ssl_it.run import log_file as run_log
from ssl_it.run.checkpoint_io import describe_partial_writes
from ssl_it.run.config_checks import ConfigError, qualify_key
from ssl_it.run.config_dir import CONFIG_DIR
from ssl_it.run.folder import RUN_ID_FILE, read_run_id, run_suffix
from ssl_it.run.help_text import KEYS, groups_text, keys_text
from ssl_it.run.hydra_errors import task_started
from ssl_it.run.job import EXIT_CONFIG, EXIT_DIVERGED, Job, config_error
from ssl_it.run.names import sweep_name, wandb_sweep_id
from ssl_it.run.preemption import EXIT_PREEMPTED, Preempted
from ssl_it.run.resume import AlreadyFinished, RunState, last_good_checkpoint
from ssl_it.run.sweep_failures import SweepJob, report

BASIC_SWEEPER = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"


def config_groups() -> list[str]:
    """The config groups of ``configs/`` (``objective``, ``debug``, ...; not Hydra's own ``hydra/``)."""
    return sorted(
        p.name
        for p in Path(CONFIG_DIR).iterdir()
        if p.is_dir() and p.name != "hydra" and not p.name.startswith(("_", "."))
    )


def _help_groups(*, _root_: DictConfig) -> str:
    choices = OmegaConf.select(_root_, "hydra.runtime.choices", default=None) or {}
    return groups_text(Path(CONFIG_DIR), choices)


def _help_keys(*, _root_: DictConfig) -> str:
    absent = object()
    values = {key: OmegaConf.select(_root_, key, default=absent) for key, _ in KEYS}
    return keys_text(
        {key: OmegaConf.to_object(v) if OmegaConf.is_config(v) else v for key, v in values.items() if v is not absent}
    )


if not OmegaConf.has_resolver("ssl_it.suffix"):
    # cached: one value per composed config, shared by the jobs of a sweep (like ${now:})
    OmegaConf.register_new_resolver("ssl_it.suffix", run_suffix, use_cache=True)
for _name, _resolver in (("ssl_it.help_groups", _help_groups), ("ssl_it.help_keys", _help_keys)):
    if not OmegaConf.has_resolver(_name):  # the text of --help (configs/hydra/help/ssl_it.yaml)
        OmegaConf.register_new_resolver(_name, _resolver)


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
    the run (:mod:`ssl_it.run.names`)."""
    if not HydraConfig.initialized() or "run" not in cfg:
        return
    hydra_cfg = HydraConfig.get()
    choices = hydra_cfg.runtime.choices
    cfg.run.choices = {k: v for k, v in choices.items() if v is not None and not k.startswith("hydra/")}
    cfg.run.overrides = list(hydra_cfg.overrides.task)
    cfg.run.sweep = sweep_group()
    cfg.run.swept = swept_keys(hydra_cfg)


@contextmanager
def config_errors(cfg: DictConfig, also: tuple[type[Exception], ...] = (), first_line: bool = False) -> Iterator[None]:
    """Within the block, a bad value is a :class:`ConfigError` that names its
    full key: Hydra's instantiation error and a constructor's ``ValueError``
    (and the exceptions of ``also``) are reworded
    (:func:`~ssl_it.run.config_checks.qualify_key`); ``first_line`` keeps the
    first line of the constructor's message."""
    reworded: tuple[type[Exception], ...] = (ValueError, *also)
    try:
        yield
    except InstantiationException as err:
        raise ConfigError(qualify_key(str(config_error(err)), cfg)) from err.__cause__
    except ConfigError:
        raise
    except reworded as err:
        message = str(err).splitlines()[0] if first_line else str(err)
        raise ConfigError(qualify_key(message, cfg)) from err


def current_job(cfg: DictConfig) -> tuple[Job, list[str]]:
    """This Hydra job's directories, sweep and typed overrides."""
    hydra_cfg = HydraConfig.get()
    overrides = list(hydra_cfg.overrides.task)
    sweep = None
    if hydra_cfg.mode == RunMode.MULTIRUN:
        sweep = SweepJob(
            num=int(hydra_cfg.job.num),
            sweep_dir=Path(hydra_cfg.sweep.dir),
            job_dir=Path(hydra_cfg.runtime.output_dir),
            overrides=overrides,
        )
    job = Job(
        hydra_dir=Path(hydra_cfg.runtime.output_dir),
        outputs_root=Path(cfg.paths.outputs_root),
        sweep=sweep,
        raise_on_failure=sweep is not None and hydra_cfg.sweeper.get("_target_") != BASIC_SWEEPER,
        rank_zero=rank_zero_only.rank == 0,  # type: ignore[attr-defined]
    )
    return job, overrides


class _Run(Protocol):
    state: RunState


R = TypeVar("R", bound=_Run)
Value = float | tuple[float, ...]


def begin_job(cfg: DictConfig) -> tuple[Job, list[str]]:
    """The first steps of every job (``ssl-it-train``, ``ssl-it-measure``):
    the task has started, and its log goes to its folder. Returns
    :func:`current_job`."""
    task_started()
    job, overrides = current_job(cfg)
    run_log.route_to(job.hydra_dir)
    return job, overrides


def job_outcome(job: Job, work: Callable[[], Value], diverged: tuple[type[Exception], ...] = ()) -> Value:
    """Run ``work`` (the job's whole task) and end ``job`` by its outcome:
    recorded (a sweep's summary) and said in one line with its exit status,
    an invalid configuration (:class:`ConfigError`) 2, a diverged run (one of
    ``diverged``) 3, a preempted one 143; another error is raised in a single
    run and recorded in a sweep. A resume of a finished run returns its saved
    value."""
    try:
        value = work()
    except AlreadyFinished as done:
        print(f"ssl_it: {done}", flush=True)
        return job.finished(done.value())
    except ConfigError as err:
        return job.failed(f"invalid configuration: {err}", EXIT_CONFIG)
    except Preempted as err:
        return job.failed(str(err), EXIT_PREEMPTED)
    except diverged as err:
        kept = last_good_checkpoint(job.run_dir or job.hydra_dir)
        return job.failed(f"training diverged: {err} {kept}", EXIT_DIVERGED)
    except Exception as err:
        if job.sweep is None:
            job.tidy()
            raise
        return job.failed(f"{type(err).__name__}: {err}", 1, details=traceback.format_exc())
    return job.finished(value)


def run_job(
    cfg: DictConfig, prepare: Callable[[DictConfig, list[str]], R], fit: Callable[[R], Value], diverged: type[Exception]
) -> Value:
    """One training job: :func:`begin_job`, then ``prepare`` and ``fit``,
    ended by :func:`job_outcome` (``diverged``: the callbacks' exception)."""
    job, overrides = begin_job(cfg)

    def work() -> Value:
        run = prepare(cfg, overrides)
        job.started(run.state, overrides)  # job.run_dir: the run's folder
        return fit(run)

    return job_outcome(job, work, (diverged,))


def refuse(message: str) -> None:
    """A configuration error found before Hydra writes anything: one line, exit 2."""
    print(f"ssl_it: invalid configuration: {message}", file=sys.stderr, flush=True)
    sys.exit(EXIT_CONFIG)


class SweepReport(HydraCallback):
    """Hydra callback. Before Hydra writes into a directory: a new run in a
        folder that holds a run, a basic multirun into a sweep directory
        that holds a sweep, and ``launcher=slurm`` where there is no SLURM, are
        refused (exit 2), so the existing run or sweep is left as it was. At the end
    of a multirun: print the sweep summary and
        exit with status 1 if any job failed."""

    @override
    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        run_dir = Path(str(config.hydra.run.dir))
        rank_zero = rank_zero_only.rank == 0  # type: ignore[attr-defined]  # DDP ranks re-run Hydra into rank 0's folder
        if rank_zero and config.get("resume") is None and (run_dir / RUN_ID_FILE).is_file():
            partial = describe_partial_writes(run_dir / "checkpoints")
            refuse(
                f"hydra.run.dir={run_dir}: the directory already holds run {read_run_id(run_dir)}; a new run "
                f"never writes over another's files. Continue that run with resume={run_dir}, or choose "
                f"another hydra.run.dir" + (f" ({partial}; a resume removes it)" if partial else "")
            )

    @override
    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(str(config.hydra.sweep.dir))
        launcher = str(config.hydra.launcher.get("_target_", ""))
        if launcher.endswith("SlurmLauncher") and shutil.which("sbatch") is None:
            refuse(
                "launcher=slurm: there is no SLURM here (sbatch is not on PATH); submit the sweep from the "
                "cluster's login node, or run it on this machine with launcher=local or launcher=submitit_local"
            )
        if config.hydra.sweeper.get("_target_") != BASIC_SWEEPER:
            return  # Optuna continues the study saved in its sweep directory
        if (sweep_dir / "sweep_summary.jsonl").is_file() or (sweep_dir / "multirun.yaml").is_file():
            refuse(
                f"hydra.sweep.dir={sweep_dir}: the directory already holds a sweep; a new sweep would mix "
                f"its jobs and summary with it. Choose another hydra.sweep.dir"
            )

    @override
    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        text, any_failed = report(Path(config.hydra.sweep.dir))
        print(text, file=sys.stderr if any_failed else sys.stdout, flush=True)
        if any_failed:
            sys.exit(1)
