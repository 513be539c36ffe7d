"""KSG's time against N: the compiled KD-tree search against the previous searches and benchmark-mi.

    python benchmarks/bench_ksg_scaling.py [--sizes 1000,10000,100000] [--repeats 3]

Correlated Gaussians with true MI 1 nat (``ssl_it.synthetic``), d = 5+5, k = 3,
algorithm 1, max-norm and Euclidean metrics. "new" is ``KSGMI(metric=...)``
as shipped (compiled KD-trees, :mod:`ssl_it.estimators.ksg_tree`); "old" is
the same estimator with the previous neighbour search swapped in, in the same
process: for the max-norm a copy of the former ``_ksg_kdtree`` (scipy
``cKDTree`` k-NN with ``workers=-1``, sklearn ``KDTree.query_radius``
counts), for the Euclidean metric the chunked torch brute force
(``_ksg_brute``, which the Euclidean metric always used). Times are medians of
``--repeats`` runs (old at N >= 100,000 and benchmark-mi: ``--slow-repeats``),
after one warm-up that loads or compiles the numba kernels.

benchmark-mi's ``KSGEnsembleFirstEstimator(neighborhoods=(3,))`` (Euclidean,
its defaults otherwise) runs where ``bmi`` can be imported: benchmark-mi 0.1.3
pins numpy<2 and JAX, but its KSG module needs neither, so it is loaded from a
``--no-deps`` install (``pip install --no-deps --target .venv-bmi-ksg
benchmark-mi``; the folder is git-ignored) without running the package's
``__init__`` (which imports JAX). Its cost is O(N^2 log N) (an argsort of
each full distance row), so it runs only up to ``--bmi-max-n``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import statistics
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numba
import numpy as np
import torch
from scipy.spatial import cKDTree
from sklearn.neighbors import KDTree

from ssl_it import synthetic
from ssl_it.estimators import KSGMI
from ssl_it.estimators import ksg as ksg_module

ROOT = Path(__file__).resolve().parents[1]
BMI_DIR = ROOT / ".venv-bmi-ksg"


# ----- the previous CPU search (copy of ssl_it.estimators.ksg before the compiled trees) -----
def _old_ball_counts(points: np.ndarray, radius: np.ndarray) -> np.ndarray:
    tree = KDTree(points, metric="chebyshev")
    return tree.query_radius(points, r=radius, count_only=True) - 1


def _old_ksg_kdtree(x: np.ndarray, y: np.ndarray, k: int, algorithm: int) -> tuple[np.ndarray, np.ndarray]:
    joint = np.hstack([x, y])
    dist, idx = cKDTree(joint).query(joint, k=k + 1, p=np.inf, workers=-1)
    if algorithm == 1:
        eps = np.nextafter(dist[:, -1], 0)
        return _old_ball_counts(x, eps), _old_ball_counts(y, eps)
    nbr = idx[:, 1:]
    eps_x = np.abs(x[nbr] - x[:, None]).max(axis=(1, 2))
    eps_y = np.abs(y[nbr] - y[:, None]).max(axis=(1, 2))
    return _old_ball_counts(x, eps_x), _old_ball_counts(y, eps_y)


def _old_counts(x: np.ndarray, y: np.ndarray, k: int, algorithm: int, metric: str) -> tuple[np.ndarray, np.ndarray]:
    if metric == "max":
        return _old_ksg_kdtree(x, y, k, algorithm)
    return ksg_module._ksg_brute(torch.from_numpy(x), torch.from_numpy(y), k, algorithm, metric)


def old_estimate(metric: str, x: np.ndarray, y: np.ndarray) -> float:
    """``KSGMI(metric=metric)`` with the previous neighbour search."""
    new = ksg_module.ksg_tree_counts
    ksg_module.ksg_tree_counts = _old_counts  # type: ignore[assignment]
    try:
        return KSGMI(metric=metric).estimate(x, y)  # type: ignore[arg-type]
    finally:
        ksg_module.ksg_tree_counts = new


def new_estimate(metric: str, x: np.ndarray, y: np.ndarray) -> float:
    """KSG as shipped (compiled KD-trees) on ``(x, y)`` with ``metric``."""
    return KSGMI(metric=metric).estimate(x, y)  # type: ignore[arg-type]


# ----- benchmark-mi -------------------------------------------------------------------------
def load_bmi_ksg() -> Any | None:
    """benchmark-mi's KSG module without its package ``__init__`` (JAX), or None if not installed."""
    base = next((p for p in [BMI_DIR, *map(Path, sys.path)] if (p / "bmi" / "estimators" / "ksg.py").exists()), None)
    if base is None:
        return None
    for name, sub in (("bmi", "bmi"), ("bmi.estimators", "bmi/estimators")):
        module = types.ModuleType(name)
        module.__path__ = [str(base / sub)]
        sys.modules.setdefault(name, module)
    return importlib.import_module("bmi.estimators.ksg")


def timed(fn: Callable[[], float], repeats: int) -> tuple[float, float]:
    """``(median seconds, value)`` of ``fn`` over ``repeats`` runs."""
    times, value = [], float("nan")
    for _ in range(repeats):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), value


def main() -> None:
    """Print the table of old, new and benchmark-mi KSG times against N."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--slow-repeats", type=int, default=1)
    parser.add_argument("--bmi-max-n", type=int, default=10000)
    args = parser.parse_args()
    bmi = load_bmi_ksg()
    start = time.perf_counter()
    warm = synthetic.correlated_gaussian(200, 5, 0.5, seed=1)
    for metric in ("max", "euclidean"):
        new_estimate(metric, warm.x, warm.y)
    print(
        f"numba kernels loaded/compiled in {time.perf_counter() - start:.1f} s; {platform.processor() or 'cpu'}, "
        f"{os.cpu_count()} cores, torch threads {torch.get_num_threads()}, numba threads "
        f"{numba.get_num_threads()} ({numba.threading_layer()}); load average at start "
        f"{' / '.join(f'{v:.1f}' for v in os.getloadavg())}; benchmark-mi: {'yes' if bmi else 'not installed'}\n"
    )
    print(
        "| metric | N | old (s) | new (s) | old / new | values equal | value | benchmark-mi (s) | benchmark-mi value |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    rho = synthetic.rho_for_mi(1.0, 5)
    for n in map(int, args.sizes.split(",")):
        s = synthetic.correlated_gaussian(n, 5, rho, seed=0)
        x, y = np.asarray(s.x), np.asarray(s.y)
        slow = args.slow_repeats if n >= 100_000 else args.repeats
        for metric in ("max", "euclidean"):
            t_new, v_new = timed(lambda m=metric, a=x, b=y: new_estimate(m, a, b), args.repeats)
            t_old, v_old = timed(lambda m=metric, a=x, b=y: old_estimate(m, a, b), slow)
            bmi_cells = "not installed | -"
            if bmi is not None and metric == "euclidean":
                if n <= args.bmi_max_n:
                    est = bmi.KSGEnsembleFirstEstimator(neighborhoods=(3,))
                    t_bmi, v_bmi = timed(lambda e=est, a=x, b=y: e.estimate(a, b), args.slow_repeats)
                    bmi_cells = f"{t_bmi:.2f} | {v_bmi:.4f}"
                else:
                    bmi_cells = f"not run (N > {args.bmi_max_n:,}) | -"
            elif metric == "max":
                bmi_cells = "- (Euclidean only here) | -"
            print(
                f"| {metric} | {n:,} | {t_old:.2f} | {t_new:.2f} | {t_old / t_new:.1f}x | "
                f"{'yes' if v_old == v_new else 'NO'} | {v_new:.4f} | {bmi_cells} |",
                flush=True,
            )
    print(f"\nload average at end {' / '.join(f'{v:.1f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
