"""When the information plane is measured.

Once before the first optimiser step, at a few log-spaced steps early on
(where compression is fastest: Shwartz-Ziv & Tishby 2017 saw the fitting
phase end within the first few hundred epochs), after every n-th epoch, and
after the run's last epoch (so the trained model is always measured).
"""

from __future__ import annotations

import numpy as np

from ssl_it import checks


def log_spaced_steps(n_evals: int, horizon: int) -> set[int]:
    """Up to ``n_evals`` distinct steps in ``[1, horizon)``, spaced evenly in
    log-step (fewer when rounding merges them)."""
    if n_evals <= 0:
        return set()
    grid = np.unique(np.round(np.geomspace(1, max(2, horizon), n_evals + 1)[:-1]).astype(int))
    return {int(s) for s in grid if s < horizon}


class EvaluationSchedule:
    """Args as in :class:`~ssl_it.callbacks.InformationPlane`: ``every_n_epochs``,
    ``log_spaced_evals`` within ``log_spaced_epochs`` epochs, ``at_start``."""

    def __init__(self, every_n_epochs: int, log_spaced_evals: int, log_spaced_epochs: float, at_start: bool) -> None:
        checks.integer("infoplane.every_n_epochs", every_n_epochs)
        checks.integer("infoplane.log_spaced_evals", log_spaced_evals, minimum=0)
        checks.positive("infoplane.log_spaced_epochs", log_spaced_epochs)
        self.every_n_epochs = every_n_epochs
        self.log_spaced_evals = log_spaced_evals
        self.log_spaced_epochs = log_spaced_epochs
        self.at_start = at_start
        self.steps: set[int] = set()
        self.max_epochs: int | None = None

    def fit_start(self, steps_per_epoch: int, max_epochs: int | None = None) -> None:
        """Fix the log-spaced steps once the epoch length is known, and the run's last epoch (``max_epochs``;
        ``None`` or ``-1``: a run limited by steps or time, whose end is not an epoch known in advance)."""
        horizon = max(2, int(self.log_spaced_epochs * max(1, steps_per_epoch)))
        self.steps = log_spaced_steps(self.log_spaced_evals, horizon)
        self.max_epochs = max_epochs if isinstance(max_epochs, int) and max_epochs > 0 else None

    def due_at_start(self, global_step: int) -> bool:
        """Whether to measure before the first optimiser step."""
        return self.at_start and global_step == 0

    def due_after_batch(self, global_step: int) -> bool:
        """Whether ``global_step`` is one of the log-spaced steps."""
        return global_step in self.steps

    def due_after_epoch(self, epoch: int) -> bool:
        """Whether to measure after the 0-based ``epoch``: every ``every_n_epochs``-th, and the last."""
        return (epoch + 1) % self.every_n_epochs == 0 or epoch + 1 == self.max_epochs
