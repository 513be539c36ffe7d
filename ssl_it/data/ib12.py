"""The 12-bit task of the classic information-plane experiments, two ways.

**The published task file.** Shwartz-Ziv & Tishby (2017, arXiv:1703.00810)
trained on a fixed file of 4,096 patterns, shipped as ``data/var_u.mat`` in
the authors' public IDNNs repository (download it yourself; nothing here
fetches it). It is a MATLAB file with ``F``: ``(4096, 12)`` uint8 inputs, all
2^12 binary patterns, and ``y``: ``(1, 4096)`` uint8 labels. Its labels lie
close to a threshold on the number of active bits: p(y=1 | <= 4 active) = 0,
p(y=1 | >= 8 active) = 1, p(y=1) = 0.517. :class:`IB12Mat` reads it
(``data=ib12_mat data.path=/path/var_u.mat``).

**The generator** (:func:`make_12bit_task`, ``scripts/make_12bit_dataset.py``)
is this project's own rule, built from the paper's description rather than
its file: the 12 inputs stand for the vertices p_1..p_12 of the icosahedron
on the 2-sphere and

    f(x) = || sum_i x_i p_i ||^2,    y = 1[f(x) > theta],

with theta the value that splits the patterns closest to half/half
(p(y=1) = 0.497). f is invariant under the rotations of the sphere that
permute the points, as in the paper, but the labels are *not* the published
ones: they agree with ``var_u.mat`` on 50.8 % of the patterns (chance
level). Labels are deterministic, so I(X;Y) = H(Y).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from typing_extensions import override

from ssl_it.data.sources import InMemorySource


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
    """All 4,096 patterns ``(4096, 12)`` float32 in {0, 1} and the generator's labels ``(4096,)``."""
    x = ((np.arange(4096)[:, None] >> np.arange(12)) & 1).astype(np.float32)
    f = np.linalg.norm(x.astype(np.float64) @ icosahedron_vertices(), axis=1) ** 2
    values = np.unique(np.round(f, 9))
    splits = [(abs((f > v + 1e-9).mean() - 0.5), v) for v in values]
    theta = min(splits)[1]
    return x, (f > theta + 1e-9).astype(np.int64)


def write_12bit_npz(path: str | Path, train_fraction: float = 0.85, seed: int = 0) -> Path:
    """Write ``x_train, y_train, x_val, y_val`` (a seeded split; 85 % train as in
    the paper) of the generated task to ``path``."""
    x, y = make_12bit_task()
    order = np.random.default_rng(seed).permutation(len(x))
    n_train = int(round(train_fraction * len(x)))
    tr, va = np.sort(order[:n_train]), np.sort(order[n_train:])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, x_train=x[tr], y_train=y[tr], x_val=x[va], y_val=y[va])
    return path


def load_12bit_mat(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Inputs ``(N, D)`` float32 in {0, 1} and labels ``(N,)`` int64 of a task
    file in the published ``.mat`` format (keys ``F`` and ``y``).

    Raises:
        ValueError: naming ``data.path`` when the file is missing, is not a
            MATLAB file, lacks ``F``/``y``, or their shapes or values do not fit.
    """
    from scipy.io import loadmat
    from scipy.io.matlab import MatReadError

    path = Path(path)
    if not path.is_file():
        raise ValueError(
            f"data.path: no .mat file at '{path}' (the published task is data/var_u.mat in the IDNNs repository)"
        )
    try:
        mat = loadmat(str(path))
    except (MatReadError, ValueError, OSError, NotImplementedError) as err:
        raise ValueError(f"data.path: '{path}' is not a readable MATLAB .mat file ({err})") from err
    if "F" not in mat or "y" not in mat:
        found = sorted(k for k in mat if not k.startswith("__"))
        raise ValueError(f"data.path: '{path}' must hold 'F' (inputs) and 'y' (labels); found {found}")
    x, y = np.asarray(mat["F"]), np.asarray(mat["y"]).reshape(-1)
    if x.ndim != 2 or x.shape[0] != y.shape[0]:
        raise ValueError(f"data.path: 'F' must be (N, D) with N = len(y) = {y.shape[0]}, got shape {x.shape}")
    if not np.isin(x, (0, 1)).all() or not np.isin(y, (0, 1)).all():
        raise ValueError(f"data.path: '{path}': 'F' and 'y' must hold only 0 and 1")
    return x.astype(np.float32), y.astype(np.int64)


class IB12Mat(InMemorySource):
    """The published 12-bit task (or any task file in its ``.mat`` format).

    Args:
        path: the ``.mat`` file (``data/var_u.mat`` of the IDNNs repository).
        val_fraction: held-out share, split by class and ``split_seed``
            (0.15: the paper trained on 85 % of the patterns).
        split_seed: seeds the split.
    """

    num_classes = 2
    mean = (0.0,)
    std = (1.0,)

    def __init__(self, path: str, val_fraction: float = 0.15, split_seed: int = 0) -> None:
        super().__init__(val_fraction=val_fraction, split_seed=split_seed)
        self.path = Path(path)
        x, _ = load_12bit_mat(self.path)
        self.input_shape = (int(x.shape[1]),)

    @override
    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return load_12bit_mat(self.path)
