"""Spread of any estimate over disjoint folds of the sample."""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ssl_it import checks
from ssl_it.estimators.base import MIEstimator, to_tensor


@dataclass
class Spread:
    """Estimates on ``n_folds`` disjoint folds (each of N / n_folds samples).

    Attributes:
        values: one estimate per fold (nats).
        mean: their mean.
        std: their standard deviation (ddof=1); the standard error of an
            estimate at N / n_folds samples, an upper guide for the full N.
    """

    values: list[float]
    mean: float
    std: float


def fold_spread(estimator: MIEstimator, x: Any, y: Any, n_folds: int = 5, seed: int = 0) -> Spread:
    """Run a fresh copy of ``estimator`` on each of ``n_folds`` disjoint random folds.

    Disjoint folds rather than a bootstrap: resampling with replacement
    creates duplicate points, which break k-NN and KDE estimators (zero
    distances). The spread is that of estimates at ``N / n_folds`` samples.

    Args:
        estimator: any :class:`MIEstimator` (deep-copied per fold, so a
            warm-started critic is not shared between folds).
        x: ``(N, dx)`` floats; y: ``(N, dy)`` floats or ``(N,)`` labels.
        n_folds: number of folds (>= 2).
        seed: seed of the fold assignment.
    """
    checks.integer("n_folds", n_folds, minimum=2)
    xt, yt = to_tensor(x, "x"), to_tensor(y, "y")
    if xt.shape[0] != yt.shape[0]:
        raise ValueError(f"x and y must have the same number of samples N, got {xt.shape[0]} and {yt.shape[0]}")
    perm = torch.randperm(xt.shape[0], generator=torch.Generator().manual_seed(seed)).to(xt.device)
    values = [copy.deepcopy(estimator).estimate(xt[idx], yt[idx.to(yt.device)]) for idx in perm.chunk(n_folds)]
    arr = np.asarray(values, dtype=float)
    return Spread(values=values, mean=float(arr.mean()), std=float(arr.std(ddof=1)) if len(arr) > 1 else math.nan)
