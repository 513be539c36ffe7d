"""How a run reads its final numbers from the callbacks: :class:`ResultReporter`.

A callback that has final numbers (the online probe's accuracy, the linear
evaluation, kNN, the information plane's last evaluation) reports them as
``{"final/<name>": value}`` from ``results()``; ``train()`` merges them into
``summary.json`` and the loggers' summaries without knowing which callbacks
ran.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, runtime_checkable


@runtime_checkable
class ResultReporter(Protocol):
    """A callback with final numbers."""

    def results(self) -> dict[str, float]:
        """``{"final/<name>": value}``; empty when there is nothing to report
        (off rank 0, or before the measurement ran)."""
        ...


def final_results(callbacks: Iterable[object]) -> dict[str, float]:
    """The merged ``results()`` of every :class:`ResultReporter` in ``callbacks``."""
    out: dict[str, float] = {}
    for callback in callbacks:
        if isinstance(callback, ResultReporter):
            out.update(callback.results())
    return out
