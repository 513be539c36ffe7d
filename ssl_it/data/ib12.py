"""The 12-bit task of the classic information-plane experiments.

Following the construction described by Shwartz-Ziv & Tishby (2017,
arXiv:1703.00810, §3): the 12 inputs stand for 12 uniformly distributed
points p_1..p_12 on the 2-sphere (here the vertices of the icosahedron), X
ranges over all 2^12 = 4,096 binary patterns, and the label thresholds a
spherically symmetric function of the pattern,

    f(x) = || sum_i x_i p_i ||^2,    y = 1[f(x) > theta],

with theta the value that splits the patterns closest to half/half
(p(y=1) = 0.497, so H(Y) = 0.99998 bits). f is invariant under rotations of
the sphere that permute the points. Labels are deterministic here, so
I(X;Y) = H(Y); the paper's noisy sigmoid labels gave 0.99 bits.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def icosahedron_vertices() -> np.ndarray:
    """The 12 unit vectors of the icosahedron's vertices, ``(12, 3)``."""
    phi = (1 + 5**0.5) / 2
    pts = []
    for a in (-1.0, 1.0):
        for b in (-1.0, 1.0):
            pts += [(0.0, a, b * phi), (a, b * phi, 0.0), (b * phi, 0.0, a)]
    v = np.array(pts)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def make_12bit_task() -> tuple[np.ndarray, np.ndarray]:
    """All 4,096 patterns ``(4096, 12)`` float32 in {0, 1} and their labels ``(4096,)``."""
    x = ((np.arange(4096)[:, None] >> np.arange(12)) & 1).astype(np.float32)
    f = np.linalg.norm(x.astype(np.float64) @ icosahedron_vertices(), axis=1) ** 2
    values = np.unique(np.round(f, 9))
    splits = [(abs((f > v + 1e-9).mean() - 0.5), v) for v in values]
    theta = min(splits)[1]
    return x, (f > theta + 1e-9).astype(np.int64)


def write_12bit_npz(path: str | Path, train_fraction: float = 0.85, seed: int = 0) -> Path:
    """Write ``x_train, y_train, x_val, y_val`` (a seeded split; 85 % train as in
    the paper) and the full ``x, y`` to ``path``."""
    x, y = make_12bit_task()
    order = np.random.default_rng(seed).permutation(len(x))
    n_train = int(round(train_fraction * len(x)))
    tr, va = np.sort(order[:n_train]), np.sort(order[n_train:])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, x_train=x[tr], y_train=y[tr], x_val=x[va], y_val=y[va])
    return path
