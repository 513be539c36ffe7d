"""An Optuna study that lives in its sweep directory and survives a kill.

The sweeper (``hydra_plugins/ssl_it_sweepers``) asks this module for the
study and tells it each trial's result; Optuna is the current release
(ask/tell interface), with the study in ``sqlite:///<sweep dir>/optuna.db``.

:func:`open_study` creates the study or loads it (``load_if_exists``), and
turns a storage that cannot be read (not a database, a damaged file, a
schema from an older Optuna) into :class:`StorageError`, one line that
names the file. :func:`resume` prepares a loaded study after a kill: the
trials still ``RUNNING`` (their process died) are told ``FAIL`` and their
parameters queued, so they are tried again first; the number of trials
still to run counts the finished ones (complete, pruned, failed before the
kill) towards ``n_trials``.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import optuna
import yaml  # type: ignore[import-untyped]
from optuna.trial import TrialState
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger(__name__)
SQLITE = "sqlite:///"
RETRY_OF = "retry_of"


class StorageError(Exception):
    """The study's storage cannot be opened (the message is one line naming it)."""


@dataclass
class Resumed:
    """What :func:`resume` found: trials kept, killed trials queued again, trials left to run."""

    finished: int
    killed: list[int]
    to_run: int


def storage_path(storage: str) -> Path | None:
    """The file of a ``sqlite:///`` storage URL, else ``None``."""
    return Path(storage[len(SQLITE) :]) if storage.startswith(SQLITE) else None


def open_study(storage: str | None, study_name: str, directions: list[str], sampler: Any = None) -> optuna.Study:
    """``optuna.create_study(load_if_exists=True)`` in ``storage`` (``None``: in
    memory); the folder of a SQLite file is created first (SQLite cannot).
    Raises :class:`StorageError`."""
    path = storage_path(storage) if storage else None
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return optuna.create_study(
            storage=storage,
            study_name=study_name,
            directions=cast("list[Any]", directions),
            sampler=sampler,
            load_if_exists=True,
        )
    except (SQLAlchemyError, RuntimeError) as err:  # not a database, damaged, an older Optuna's schema
        raise StorageError(_storage_message(storage, path, err)) from err


def _storage_message(storage: str | None, path: Path | None, err: Exception) -> str:
    first = next((line.strip() for line in str(err).splitlines() if line.strip()), type(err).__name__)
    where = f"'{path}'" if path is not None else storage
    if "optuna storage upgrade" in str(err):
        fix = f"upgrade it with `optuna storage upgrade --storage {storage}` (it was written by an older Optuna)"
    else:
        fix = "move the file away to start a new study there, or choose another hydra.sweep.dir"
    return f"hydra.sweeper.storage: cannot open the Optuna study in {where} ({first}); {fix}"


def resume(study: optuna.Study, n_trials: int) -> Resumed:
    """Mark the trials a kill left ``RUNNING`` as failed and queue their
    parameters again; return how many trials are still to run."""
    trials = study.get_trials(deepcopy=False)
    finished = sum(t.state.is_finished() for t in trials)
    killed = [t for t in trials if t.state == TrialState.RUNNING]
    for trial in killed:
        study.tell(trial.number, state=TrialState.FAIL)
        study.enqueue_trial(trial.params, user_attrs={RETRY_OF: trial.number})
    return Resumed(finished, [t.number for t in killed], max(0, n_trials - finished))


def values_of(returned: Any, n_objectives: int) -> list[float] | None:
    """The trial's values from what the training function returned (a float,
    or a tuple for several objectives); ``None`` when they cannot be ranked."""
    items = list(returned) if isinstance(returned, (tuple, list)) else [returned]
    try:
        values = [float(v) for v in items]
    except (TypeError, ValueError):
        return None
    if len(values) != n_objectives or not all(math.isfinite(v) for v in values):
        return None
    return values


def write_results(study: optuna.Study, path: Path) -> None:
    """``optimization_results.yaml``: the best parameters and value, or the
    Pareto front (``solutions``) of a multi-objective study."""
    complete = [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.COMPLETE]
    out: dict[str, Any] = {"name": "optuna", "study_name": study.study_name, "n_complete": len(complete)}
    if complete and len(study.directions) == 1:
        out.update(
            best_params=dict(study.best_trial.params),
            best_value=float(study.best_value),
            best_trial=study.best_trial.number,
        )
    elif complete:
        out["solutions"] = [
            {"trial": t.number, "params": dict(t.params), "values": [float(v) for v in t.values]}
            for t in study.best_trials
        ]
    path.write_text(yaml.safe_dump(out, sort_keys=False))
