"""How many probe samples the information plane can afford (``infoplane.probe_size: auto``).

The estimators' error shrinks with the probe size N (docs/design.md §8,
"Levels against N"), their cost grows with it. With ``probe_size: auto`` the
callback picks the largest N whose evaluations keep it within
``time_share`` of the run without it:

* the run's length: the median wall time of a training step (timed between
  consecutive steps, leaving out those that hold an evaluation) times the
  run's steps;
* the cost of one evaluation at N: timed at two pilot sizes on the first
  evaluation's representations, and extended by the power law
  ``c N^p`` through them (``p`` clipped to [1, 3]: the k-NN searches are
  ``N^2``, the eigendecompositions ``N^2 d`` to ``N^3``);
* the budget of one evaluation: ``time_share x run length / evaluations``.

The choice is a pure function of those timings (:func:`choose_probe_size`),
so it is tested with injected numbers.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch

AUTO_GRID: int = 256
"""``auto`` picks a multiple of this (or every available sample)."""


@dataclass(frozen=True)
class ProbeChoice:
    """The chosen probe size and what it was chosen from (seconds)."""

    n: int
    available: int
    exponent: float
    predicted_seconds: float
    budget_seconds: float

    def summary(self) -> dict[str, float]:
        """``infoplane/probe_*`` entries for the run summary."""
        return {
            "infoplane/probe_size": float(self.n),
            "infoplane/probe_available": float(self.available),
            "infoplane/probe_cost_exponent": self.exponent,
            "infoplane/probe_predicted_seconds": self.predicted_seconds,
            "infoplane/probe_budget_seconds": self.budget_seconds,
        }


def cost_exponent(pilot: Mapping[int, float]) -> float:
    """``p`` of ``seconds = c N^p``, least squares in log-log through the pilot timings, clipped to [1, 3]."""
    points = [(math.log(n), math.log(s)) for n, s in pilot.items() if s > 0]
    if len(points) < 2:
        return 2.0
    mx = statistics.fmean(p[0] for p in points)
    my = statistics.fmean(p[1] for p in points)
    sxx = sum((p[0] - mx) ** 2 for p in points)
    slope = sum((p[0] - mx) * (p[1] - my) for p in points) / sxx if sxx > 0 else 2.0
    return min(3.0, max(1.0, slope))


def choose_probe_size(
    pilot: Mapping[int, float], budget_seconds: float, available: int, minimum: int, grid: int = AUTO_GRID
) -> ProbeChoice:
    """The largest N (a multiple of ``grid``, or ``available``) whose predicted evaluation fits the budget.

    Args:
        pilot: ``{N: seconds of one evaluation's estimates at N}``, two sizes or more.
        budget_seconds: what one evaluation may cost.
        available: the probe samples there are (the cap).
        minimum: the fewest samples the estimators need; chosen when even
            that is over the budget.
    """
    exponent = cost_exponent(pilot)
    n_ref = max(pilot)
    seconds_ref = pilot[n_ref]

    def predicted(n: int) -> float:
        return seconds_ref * (n / n_ref) ** exponent

    candidates = sorted({available, *range(grid, available, grid)})
    fitting = [n for n in candidates if n >= minimum and predicted(n) <= budget_seconds]
    n = max(fitting) if fitting else min(available, max(minimum, min(candidates)))
    return ProbeChoice(n, available, exponent, predicted(n), budget_seconds)


def stratified_subset(labels: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    """Indices of ``n`` rows (sorted) whose class shares follow ``labels``': each class's rows in a
    seeded random order, and rows taken by their rank within their class over the class's size."""
    lab = labels.cpu()
    if n >= len(lab):
        return torch.arange(len(lab))
    perm = torch.randperm(len(lab), generator=torch.Generator().manual_seed(seed))
    order = perm[torch.argsort(lab[perm], stable=True)]  # grouped by class, random within
    counts = torch.bincount(lab)
    first = torch.cumsum(counts, 0) - counts
    rank = torch.arange(len(lab)) - first[lab[order]]
    fraction = (rank.double() + 0.5) / counts[lab[order]].double()
    return torch.sort(order[torch.argsort(fraction, stable=True)[:n]]).values


class StepClock:
    """Wall time per training step, from the gaps between consecutive step ends; a gap that held an
    evaluation (or a validation loop, an epoch end) is left out by :meth:`skip`."""

    def __init__(self) -> None:
        self.gaps: list[float] = []
        self._last: float | None = None

    def tick(self, now: float) -> None:
        """Count the gap since the previous tick (unless :meth:`skip` came between); ``now`` in seconds."""
        if self._last is not None:
            self.gaps.append(now - self._last)
        self._last = now

    def skip(self) -> None:
        """The next gap holds something other than training: do not count it."""
        self._last = None

    def seconds_per_step(self) -> float:
        """The median counted gap in seconds (NaN before any)."""
        return statistics.median(self.gaps) if self.gaps else math.nan


def evaluations_in_run(
    at_start: bool, log_spaced_steps: set[int], total_steps: int, epochs: int, every_n_epochs: int
) -> int:
    """How many evaluations a run of ``total_steps`` steps over ``epochs`` epochs will have (every
    ``every_n_epochs``-th epoch and the last)."""
    after_epochs = epochs // every_n_epochs + int(epochs % every_n_epochs != 0)
    return int(at_start) + sum(1 for s in log_spaced_steps if s < total_steps) + after_epochs


class ProbeSizer:
    """Which probe rows the estimates use: all (``None``), a fixed number, or ``"auto"`` (module docstring).

    Args: ``probe_size``, ``time_share``, ``auto_after_steps`` and ``seed`` as in
    :class:`~ssl_it.callbacks.InformationPlane`.
    """

    def __init__(self, probe_size: int | str | None, time_share: float, auto_after_steps: int, seed: int) -> None:
        self.probe_size, self.time_share, self.auto_after_steps, self.seed = (
            probe_size,
            time_share,
            auto_after_steps,
            seed,
        )
        self.clock = StepClock()
        self.choice: ProbeChoice | None = None

    @property
    def waiting(self) -> bool:
        """``auto`` has not chosen yet."""
        return self.probe_size == "auto" and self.choice is None

    def can_choose(self) -> bool:
        """Whether ``auto_after_steps`` step times have been counted, enough for ``auto`` to choose."""
        return len(self.clock.gaps) >= self.auto_after_steps

    def size(self, available: int) -> int:
        """The number of probe rows used (only once chosen)."""
        if self.choice is not None:
            return self.choice.n
        return self.probe_size if isinstance(self.probe_size, int) else available

    def subset(self, labels: torch.Tensor) -> torch.Tensor | None:
        """Row indices of the subset used, ``None`` for all rows."""
        n = self.size(len(labels))
        return None if n >= len(labels) else stratified_subset(labels, n, self.seed)

    def choose(
        self,
        labels: torch.Tensor,
        minimum: int,
        time_at: Callable[[torch.Tensor], float],
        total_steps: int,
        evaluations: int,
    ) -> ProbeChoice:
        """Time ``time_at(rows)`` (one evaluation's estimates on those probe rows) at two pilot sizes,
        and keep the largest size whose predicted cost fits ``time_share`` of the run.

        A run too short to time its steps uses every probe sample."""
        available = len(labels)
        n2 = min(available, 512)
        pilot = {n: time_at(stratified_subset(labels, n, self.seed)) for n in sorted({max(minimum, n2 // 2), n2})}
        per_step = self.clock.seconds_per_step()
        budget = self.time_share * per_step * total_steps / max(1, evaluations) if math.isfinite(per_step) else math.inf
        self.choice = choose_probe_size(pilot, budget, available, minimum)
        return self.choice
