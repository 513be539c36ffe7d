"""How one Hydra job ends: its messages, exit status, directory and sweep record.

=====================  ==========================  ===============================
outcome                single run                  job of a multirun
=====================  ==========================  ===============================
invalid configuration  one line on stderr, exit 2,  ``FAILED`` in the job dir, a
                       Hydra's run dir removed     ``failed`` line in the sweep
training diverged      one line on stderr, exit 3   summary; the sweep goes on and
preempted (SIGTERM)    one line, exit 143           (the same)
other error            traceback, exit 1 (Hydra)    exits 1 at the end
success                exit 0                       an ``ok`` line
=====================  ==========================  ===============================

Under an optimising sweeper (Optuna) a failed job raises :class:`JobFailed`
after recording itself, so that the sweeper marks the trial as failed (a
returned NaN would crash hydra-optuna-sweeper 1.3's ``study.tell``).
"""

from __future__ import annotations

import logging
import math
import sys
from dataclasses import dataclass
from pathlib import Path

from ssl_it.run import log_file as run_log
from ssl_it.run.config_checks import ConfigError
from ssl_it.run.folder import remove_if_only_hydra
from ssl_it.run.resume import RunState
from ssl_it.run.sweep_failures import JobFailed, SweepJob

log = logging.getLogger("ssl_it")

EXIT_CONFIG = 2
EXIT_DIVERGED = 3


def config_error(err: BaseException) -> ConfigError:
    """A failure to build the run (Hydra's instantiation error) as a
    :class:`ConfigError`: the message of the ``ValueError`` a constructor
    raised (it names the key), else the error's own."""
    cause = err.__cause__
    return ConfigError(str(cause) if isinstance(cause, ValueError) else str(err))


@dataclass
class Job:
    """One Hydra job.

    Args:
        hydra_dir: the directory Hydra made for the job (the run dir of a new
            run; a directory to remove again when the job resumes another run).
        outputs_root: the ``outputs/`` folder (empty date folders inside it
            are removed with the directory).
        sweep: the job's place in a multirun, ``None`` for a single run.
        raise_on_failure: re-raise failures to the sweeper (Optuna).
        rank_zero: only the first process of a DDP job records and tidies.
    """

    hydra_dir: Path
    outputs_root: Path
    sweep: SweepJob | None = None
    raise_on_failure: bool = False
    rank_zero: bool = True
    run_dir: Path | None = None

    def started(self, state: RunState, overrides: list[str]) -> None:
        """Send the log to the run's ``train.log``; say what a resume continues."""
        self.run_dir = state.run_dir
        run_log.route_to(state.run_dir)
        if state.resumed:
            log.info(
                f"resuming {state.checkpoint} (epoch {state.resumed_epoch}) with overrides {overrides}; "
                f"applied: {state.applied or 'none'}"
            )
        if state.relocated:
            log.info(f"the run folder was moved or copied: its saved paths now point into it: {state.relocated}")

    def finished(self, value: float | tuple[float, ...]) -> float | tuple[float, ...]:
        """Record a finished run; in a sweep a NaN metric counts as a failure
        (an optimiser cannot rank it, and Optuna 2 crashes on it)."""
        values = value if isinstance(value, tuple) else (value,)
        if self.sweep is not None and not all(math.isfinite(v) for v in values):
            return self.failed(f"the run finished but its metric is {value}: a sweeper cannot rank it", 1)
        if self.sweep is not None and self.rank_zero:
            self.sweep.record("ok", value)
        self.tidy()
        return value

    def failed(self, message: str, exit_code: int, details: str = "") -> float:
        """Report a failure; exits (single run), or records it and returns NaN
        or raises :class:`JobFailed` (multirun)."""
        print(f"ssl_it: {message}", file=sys.stderr, flush=True)
        run_log.write_to_files(logging.ERROR, message + (f"\n{details}" if details else ""))
        if self.sweep is None:
            self.tidy()
            sys.exit(exit_code)
        if self.rank_zero:
            self.sweep.record("failed", message=message, details=details)
        if self.raise_on_failure:
            raise JobFailed(message)
        return math.nan

    def tidy(self) -> None:
        """Remove Hydra's directory when no run lives in it (configuration
        error, or a resume that wrote into the original run's directory)."""
        if not self.rank_zero or self.run_dir == self.hydra_dir:
            return
        run_log.detach(self.hydra_dir)
        remove_if_only_hydra(self.hydra_dir, self.outputs_root)
