"""``hparams_search=optuna``: a small Hydra sweeper on current Optuna (ask/tell).

``python train.py -m hparams_search=optuna`` runs, in ``<sweep dir>``:

1. open the study ``sqlite:///<sweep dir>/optuna.db`` (``load_if_exists``;
   a file that cannot be read stops the sweep with one line naming it,
   exit 2), and after a kill mark the trials left ``RUNNING`` as failed and
   queue their parameters again (``ssl_it.run.optuna_study``);
2. ask ``n_jobs`` trials at a time, each a command line of sampled values
   (``hydra.sweeper.params`` and ``-m`` sweeps, Hydra's grammar:
   ``search_space``) plus the fixed overrides;
3. hand the batch to Hydra's launcher, which calls the training function
   (``launcher=submitit_local`` or ``slurm`` runs the batch in parallel);
   job directory *k* is trial *k*;
4. tell each trial its values (``FAIL`` when the job failed or returned a
   value that cannot be ranked), until the study holds ``n_trials``
   finished trials; then write ``optimization_results.yaml``.

Hydra finds sweepers only under ``hydra_plugins``, hence this package; its
config is registered as ``hydra/sweeper=ssl_it_optuna``. Optuna is imported
when a sweep starts, not at every start of ``train.py``.
"""

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from hydra.core.plugins import Plugins
from hydra.core.utils import JobStatus
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf
from typing_extensions import override


@dataclass
class OptunaSweeperConf:
    """The ``hydra/sweeper=ssl_it_optuna`` settings: storage, study, directions, budget, sampler, search space."""

    _target_: str = "hydra_plugins.ssl_it_sweepers.optuna_sweeper.OptunaSweeper"
    storage: str | None = None  # an Optuna storage URL (null: in memory, nothing to resume)
    study_name: str = "ssl_it"
    direction: Any = "maximize"  # or a list, one per value the training function returns
    n_trials: int = 20  # finished trials the study should hold (earlier sessions' included)
    n_jobs: int = 1  # trials asked and launched together
    max_failure_rate: float = 1.0  # stop when more than this share of this session's trials failed
    sampler: Any = None  # an Optuna sampler (a node with _target_); null: TPE
    params: dict[str, str] = field(default_factory=dict)  # key -> Hydra sweep, e.g. tag(log, interval(1e-4, 1e-2))


ConfigStore.instance().store(group="hydra/sweeper", name="ssl_it_optuna", node=OptunaSweeperConf, provider="ssl_it")


class OptunaSweeper(Sweeper):
    """See the module docstring; arguments as :class:`OptunaSweeperConf`."""

    def __init__(
        self,
        storage: str | None,
        study_name: str,
        direction: Any,
        n_trials: int,
        n_jobs: int,
        max_failure_rate: float,
        sampler: Any,
        params: dict[str, str],
    ) -> None:
        for key, value, low in (("n_trials", n_trials, 0), ("n_jobs", n_jobs, 1)):
            if not isinstance(value, int) or value < low:
                raise ValueError(f"hydra.sweeper.{key} must be an integer >= {low}, got {value!r}")
        if not 0.0 <= max_failure_rate <= 1.0:
            raise ValueError(f"hydra.sweeper.max_failure_rate must be in [0, 1], got {max_failure_rate}")
        self.storage, self.study_name, self.n_trials, self.n_jobs = storage, study_name, n_trials, n_jobs
        several = isinstance(direction, (list, tuple)) or OmegaConf.is_list(direction)
        directions = list(direction) if several else [direction]
        self.directions = [str(d) for d in directions]
        self.max_failure_rate, self.sampler, self.params = max_failure_rate, sampler, dict(params or {})
        self.config: DictConfig | None = None

    @override
    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.config = config
        self.hydra_context = hydra_context
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )
        self.sweep_dir = Path(str(config.hydra.sweep.dir))

    @override
    def sweep(self, arguments: list[str]) -> None:
        from hydra_plugins.ssl_it_sweepers.search_space import search_space
        from ssl_it.run import optuna_study

        assert self.config is not None
        space, fixed = search_space(self.params, arguments)
        study = self._open_study(optuna_study)
        resumed = optuna_study.resume(study, self.n_trials)
        if resumed.finished or resumed.killed:
            if hasattr(study.sampler, "reseed_rng"):  # else a seeded sampler would draw the earlier points again
                study.sampler.reseed_rng()
            print(
                f"ssl_it: resuming Optuna study '{self.study_name}' ({self.storage}): {resumed.finished} finished "
                f"trial(s) kept, killed trial(s) {resumed.killed or 'none'} marked failed and queued again, "
                f"{resumed.to_run} to run",
                flush=True,
            )
        self.sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, self.sweep_dir / "multirun.yaml")
        self._run(study, space, fixed, resumed.to_run, optuna_study)

    def _open_study(self, optuna_study: Any) -> Any:
        """The study; a storage that cannot be read ends the sweep (one line, exit 2)."""
        try:
            return optuna_study.open_study(self.storage, self.study_name, self.directions, self.sampler)
        except optuna_study.StorageError as err:
            print(f"ssl_it: invalid configuration: {err}", file=sys.stderr, flush=True)
            sys.exit(2)

    def _run(self, study: Any, space: dict[str, Any], fixed: list[str], to_run: int, optuna_study: Any) -> None:
        from optuna.trial import TrialState

        from hydra_plugins.ssl_it_sweepers.search_space import trial_overrides

        told = failed = 0
        while to_run > 0:
            trials = [study.ask(fixed_distributions=space) for _ in range(min(self.n_jobs, to_run))]
            numbers = [t.number for t in trials]
            assert numbers == list(range(numbers[0], numbers[0] + len(numbers))), numbers  # job k is trial k
            batch = [trial_overrides(t.params, fixed) for t in trials]
            returns = self.launcher.launch(batch, initial_job_idx=numbers[0])
            for trial, ret in zip(trials, returns):
                values = None
                if ret.status == JobStatus.COMPLETED:
                    values = optuna_study.values_of(ret.return_value, len(self.directions))
                trial.set_user_attr("job_dir", _job_dir(ret))
                if values is None:
                    study.tell(trial, state=TrialState.FAIL)
                    failed += 1
                else:
                    study.tell(trial, values)
            told += len(trials)
            to_run -= len(trials)
            if failed / told > self.max_failure_rate:
                raise RuntimeError(
                    f"{failed} of {told} trials failed, more than hydra.sweeper.max_failure_rate="
                    f"{self.max_failure_rate}"
                )
        optuna_study.write_results(study, self.sweep_dir / "optimization_results.yaml")


def _job_dir(ret: Any) -> str:
    """The job's output directory (``hydra.runtime.output_dir``; the working
    directory stays the user's, ``hydra.job.chdir: false``)."""
    hydra_cfg = getattr(ret, "hydra_cfg", None)
    if hydra_cfg is None:
        return str(ret.working_dir)
    return str(OmegaConf.select(hydra_cfg, "hydra.runtime.output_dir"))
