"""What a resumed Optuna sweep does differently from Hydra's own.

Hydra's Optuna sweeper loads an existing study (``load_if_exists``) but then
runs ``n_trials`` more trials, numbers its jobs from 0 again (so job
directories of the earlier session are reused), leaves trials that were
running when the sweep was killed as ``RUNNING`` forever, and restarts the
sampler's random stream (so the first new trials repeat earlier ones). Here,
before the first batch:

- the storage's folder is created (SQLite cannot create it);
- trials still ``RUNNING`` are marked ``FAIL`` and their parameters queued
  to be tried first;
- ``n_trials`` is the study's total: trials already finished (complete,
  pruned or failed, the killed ones excepted) count towards it;
- job numbers continue from the number of trials, so job ``k`` of the sweep
  directory is trial ``k`` of the study;
- the sampler is reseeded, so it does not draw the earlier session's points again.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import optuna
from hydra_plugins.hydra_optuna_sweeper._impl import OptunaSweeperImpl
from optuna.trial import TrialState

log = logging.getLogger(__name__)
SQLITE = "sqlite:///"


class ResumableOptunaSweeperImpl(OptunaSweeperImpl):
    def sweep(self, arguments: list[str]) -> None:
        if self.storage is not None:
            self._resume(str(self.storage))
        super().sweep(arguments)

    def _resume(self, storage: str) -> None:
        if storage.startswith(SQLITE):
            Path(storage[len(SQLITE):]).parent.mkdir(parents=True, exist_ok=True)
        try:
            study = optuna.load_study(study_name=self.study_name, storage=storage)
        except KeyError:  # a new study
            return
        trials = study.get_trials(deepcopy=False)
        killed = [t for t in trials if t.state == TrialState.RUNNING]
        done = [t for t in trials if t.state.is_finished()]
        for trial in killed:
            _set_state(study, trial._trial_id, TrialState.FAIL)
            study.enqueue_trial(trial.params)
        self.job_idx = len(trials)
        self.n_trials = max(0, self.n_trials - len(done))
        if hasattr(self.sampler, "reseed_rng"):  # not the GridSampler's partial
            self.sampler.reseed_rng()
        log.info(
            f"Resuming study '{self.study_name}' in {storage}: {len(done)} finished trials kept, "
            f"{len(killed)} killed trials marked failed and queued again, {self.n_trials} trials to go"
        )


def _set_state(study: optuna.Study, trial_id: int, state: TrialState) -> Any:
    storage = study._storage
    if hasattr(storage, "set_trial_state_values"):  # optuna >= 3
        return storage.set_trial_state_values(trial_id, state=state)
    return storage.set_trial_state(trial_id, state)
