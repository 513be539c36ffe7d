"""ssl_it.run.hydra_errors: what happens to an error once the job has started."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import hydra._internal.utils as hydra_utils
import pytest

from ssl_it.run import hydra_errors


class JobError(RuntimeError):
    pass


def _failing_job() -> None:
    raise JobError("the job's own error")


def test_a_started_jobs_error_reaches_hydras_reporter_even_when_it_calls_later(monkeypatch):
    # The callable handed to Hydra's reporter must re-raise the job's error whenever it is called: the
    # except block that caught the error has ended by then if the reporter defers the call.
    handed: list[Callable[[], Any]] = []
    monkeypatch.setattr(hydra_utils, "run_and_report", lambda func: handed.append(func))
    monkeypatch.setitem(hydra_errors._state, "task_started", True)
    with hydra_errors.one_line_errors(config_dir="unused"):
        hydra_utils.run_and_report(_failing_job)
    assert len(handed) == 1
    with pytest.raises(JobError, match="the job's own error"):
        handed[0]()


def test_a_started_jobs_error_goes_through_hydras_own_reporter(monkeypatch):
    # HYDRA_FULL_ERROR=1: Hydra's reporter re-raises the error it was handed instead of printing it
    monkeypatch.setenv("HYDRA_FULL_ERROR", "1")
    monkeypatch.setitem(hydra_errors._state, "task_started", True)
    with hydra_errors.one_line_errors(config_dir="unused"), pytest.raises(JobError, match="the job's own error"):
        hydra_utils.run_and_report(_failing_job)


def test_an_error_before_the_job_starts_is_one_line_and_exit_2(monkeypatch, capsys):
    monkeypatch.setitem(hydra_errors._state, "task_started", False)
    with hydra_errors.one_line_errors(config_dir="unused"), pytest.raises(SystemExit) as exit_info:
        hydra_utils.run_and_report(_failing_job)
    assert exit_info.value.code == hydra_errors.EXIT_CONFIG
    assert capsys.readouterr().err == "ssl_it: invalid configuration: the job's own error\n"
