"""The columns every accuracy row of the estimator benchmarks starts with.

Imported as ``from task_rows import accuracy_row``: a script's own folder is
on ``sys.path`` when it runs as ``python benchmarks/<script>.py``.
"""

from __future__ import annotations

from typing import Any


def accuracy_row(key: str, task: Any, n: int, seed: int, estimator: str, truth: float) -> dict[str, Any]:
    """The row's key, its task's name, family, label kind and width, the sample size, seed, estimator and truth."""
    return {
        "key": key,
        "section": "accuracy",
        "task": task.name,
        "family": task.family,
        "labels": task.labels,
        "dim": task.dim,
        "n": n,
        "seed": seed,
        "estimator": estimator,
        "truth": truth,
    }
