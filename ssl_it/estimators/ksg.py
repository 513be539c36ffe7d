"""Kraskov–Stögbauer–Grassberger k-NN mutual information (and Ross's mixed variant).

Two neighbour searches give identical counts: compiled KD-trees
(:mod:`ssl_it.estimators.ksg_tree`: the joint k-NN under
``max(||dx||, ||dy||)`` for the max-norm and for L2 inside each space, then
per-space radius counts, on all cores) for CPU inputs of moderate
dimension, and a chunked brute-force torch search (``(chunk, N)`` blocks,
never ``(N, N)``) for CUDA tensors and high dimension.

The file is longer than most because the two searches must give identical
counts and are kept side by side; Gao et al.'s variant lives in
:mod:`ssl_it.estimators.ksg_gao`.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import torch
from scipy.spatial import cKDTree
from scipy.special import digamma
from sklearn.neighbors import KDTree
from typing_extensions import override

from ssl_it import checks
from ssl_it.estimators.base import MIEstimator, Pair, YKind, to_tensor
from ssl_it.estimators.ksg_gao import gao_continuous, gao_labels
from ssl_it.estimators.ksg_tree import ksg_tree_counts
from ssl_it.estimators.pairwise import knn_scale, rank_columns, row_chunks, seeded_normal, space_dists, standardize

Search = Literal["auto", "kdtree", "brute"]
Preprocess = Literal["standardize", "rank", "none"]
Metric = Literal["max", "euclidean"]
SpaceScale = Literal["auto", "none", "dim", "knn"]
Variant = Literal["ksg", "gao2017"]
KDTREE_MAX_DIM: int = 40
"""``search="auto"`` uses the KD-tree on CPU up to this joint dimension."""


_P: dict[str, float] = {"max": float("inf"), "euclidean": 2.0}
"""Minkowski exponent of each within-space metric."""
_SKLEARN_METRIC: dict[str, str] = {"max": "chebyshev", "euclidean": "euclidean"}
_REL_SLACK: float = 1e-12
"""Relative widening of Euclidean radii in inclusive counts: the same pair's L2
distance summed in another order (another tree, another block) may differ in the
last bits, whereas max-norm distances are exact there."""


def _ball_counts(points: np.ndarray, radius: np.ndarray, metric: str = "max") -> np.ndarray:
    """Number of *other* points within ``radius`` (inclusive) of each point.

    sklearn's ``KDTree.query_radius(count_only=True)`` measured ~2.5x faster
    here than ``cKDTree.query_ball_point(return_length=True, workers=-1)``.
    """
    if metric == "euclidean":
        radius = radius * (1.0 + _REL_SLACK)
    tree = KDTree(points, metric=_SKLEARN_METRIC[metric])
    return tree.query_radius(points, r=radius, count_only=True) - 1


def _ksg_brute(
    x: torch.Tensor, y: torch.Tensor, k: int, algorithm: int, metric: str = "max"
) -> tuple[np.ndarray, np.ndarray]:
    """Same counts as :func:`~ssl_it.estimators.ksg_tree.ksg_tree_counts` by chunked torch distances (any device).

    With ``metric="euclidean"`` the within-space distances are L2 and the joint
    distance is their maximum; ``eps`` and the counts come from the same
    ``(chunk, N)`` blocks, so the k-th neighbour itself is never counted as
    strictly closer than ``eps`` (algorithm 1).
    """
    n = x.shape[0]
    nx = torch.empty(n, dtype=torch.int64, device=x.device)
    ny = torch.empty_like(nx)
    for rows in row_chunks(n, n, n_blocks=6):
        dx, dy = space_dists(x[rows], x, metric), space_dists(y[rows], y, metric)  # (chunk, N)
        dist, idx = torch.topk(torch.maximum(dx, dy), k + 1, dim=1, largest=False)
        if algorithm == 1:
            eps = dist[:, -1:]
            nx[rows] = (dx < eps).sum(1) - 1
            ny[rows] = (dy < eps).sum(1) - 1
        else:
            eps_x = dx.gather(1, idx[:, 1:]).amax(1, keepdim=True)
            eps_y = dy.gather(1, idx[:, 1:]).amax(1, keepdim=True)
            nx[rows] = (dx <= eps_x).sum(1) - 1
            ny[rows] = (dy <= eps_y).sum(1) - 1
    return nx.cpu().numpy(), ny.cpu().numpy()


def _class_radius(
    x: torch.Tensor, labels: torch.Tensor, k: int, use_tree: bool, metric: str = "max"
) -> tuple[np.ndarray, np.ndarray]:
    """Distance to the k_c-th same-class neighbour and k_c = min(k, N_c - 1) per sample."""
    n = x.shape[0]
    radius, k_used = np.zeros(n), np.zeros(n, dtype=np.int64)
    lab = labels.cpu().numpy()
    for c in np.unique(lab):
        members = np.flatnonzero(lab == c)
        kc = min(k, len(members) - 1)
        if kc < 1:
            continue
        if use_tree:
            pts = x.cpu().numpy()[members]
            radius[members] = cKDTree(pts).query(pts, k=kc + 1, p=_P[metric], workers=-1)[0][:, -1]
        else:
            own = x[torch.as_tensor(members, device=x.device)]
            for rows in row_chunks(len(members), len(members), n_blocks=2):
                kth = torch.kthvalue(space_dists(own[rows], own, metric), kc + 1, dim=1).values
                radius[members[rows]] = kth.cpu().numpy()
        k_used[members] = kc
    return radius, k_used


def _mixed_counts(x: torch.Tensor, radius: np.ndarray, use_tree: bool, metric: str = "max") -> np.ndarray:
    """Number of other samples (any class) within ``radius`` of each sample."""
    if use_tree:
        return _ball_counts(x.cpu().numpy(), radius, metric)
    if metric == "euclidean":
        radius = radius * (1.0 + _REL_SLACK)
    r = torch.as_tensor(radius, device=x.device, dtype=x.dtype)
    counts = torch.empty(x.shape[0], dtype=torch.int64, device=x.device)
    for rows in row_chunks(x.shape[0], x.shape[0], n_blocks=2):
        counts[rows] = (space_dists(x[rows], x, metric) <= r[rows, None]).sum(1) - 1
    return counts.cpu().numpy()


class KSGMI(MIEstimator):
    """Kraskov–Stögbauer–Grassberger k-NN estimator of ``I(X;Y)`` (point estimate).

    With ``eps_i`` the distance of sample i to its k-th neighbour in the joint
    space, under the joint distance (Kraskov, Stögbauer & Grassberger 2004,
    arXiv:cond-mat/0305641)::

        d((x, y), (x', y')) = max(||x - x'||, ||y - y'||)

        algorithm 1: I = psi(k) + psi(N) - < psi(n_x + 1) + psi(n_y + 1) >
        algorithm 2: I = psi(k) - 1/k + psi(N) - < psi(n_x) + psi(n_y) >

    where ``n_x`` counts samples strictly closer than ``eps_i`` in x
    (``||x_j - x_i|| < eps_i``, algorithm 1) or within the x-extent of the k
    neighbours (``||x_j - x_i|| <= eps_x,i = max over the k neighbours of
    ||x_nbr - x_i||``, algorithm 2); likewise ``n_y``. ``metric`` chooses the
    norm ``||.||`` inside each space: ``"max"`` (max-norm / Chebyshev, so the
    joint distance is the max-norm of the joint vector: Kraskov et al.'s
    choice, the default) or ``"euclidean"`` (L2 inside x and inside y, the
    joint distance the larger of the two, as the KSG of the benchmark-mi
    package: Czyż, Grabowski, Vogt, Beerenwinkel & Marx 2023, "Beyond normal:
    on the evaluation of mutual information estimators", NeurIPS). The
    digamma formulas are the same for both (the unit-ball volumes cancel).
    With integer labels y it switches to Ross's mixed discrete/continuous
    estimator (Ross 2014, PLoS ONE 9(2):e87357)::

        I = psi(N) - < psi(N_y) > + < psi(k) > - < psi(m) >

    with the k-th neighbour taken within the sample's class and ``m`` the
    number of samples of any class within that radius (classes with a
    single sample are left out). There ``metric`` is the norm of the
    continuous x space (``"euclidean"``: L2 class radius and counts).

    Scale of the two spaces (continuous y): the joint distance compares a
    distance in x with one in y, so the two must be on a comparable scale.
    Per-column standardisation is not enough for the Euclidean metric when
    the widths differ: with x 64 and y 2,048 standardised columns, every
    y-distance (~sqrt(2 * 2048)) exceeds every x-distance (~sqrt(2 * 64)),
    the joint neighbours are the y-neighbours, ``n_x = N - 1`` and the
    estimate is exactly 0 whatever the dependence. ``space_scale`` divides
    each space by ``sqrt(its width)`` (``"dim"``: equal RMS pairwise
    distances; the default for ``metric="euclidean"``) or by its median
    distance to the k-th neighbour (``"knn"``, from <= 512 seeded queries);
    ``"none"`` keeps the standardised columns (the default for the
    max-norm, whose distances grow only like sqrt(log d)). Equal widths
    give identical results under ``"none"`` and ``"dim"``.

    ``variant="gao2017"`` replaces the estimate by that of Gao, Kannan, Oh &
    Viswanath 2017 (arXiv:1709.06212; :mod:`ssl_it.estimators.ksg_gao`),
    which counts tied samples (repeated inputs, discrete coordinates) the way
    a plug-in estimator does instead of breaking them with jitter; no jitter
    is added then. Its regime: low-dimensional data with atoms, e.g. a
    deterministic map of a few distinct inputs, where ``I = H(X)`` is
    finite; with a density it behaves like KSG with ``log`` for ``psi``.
    Measured (benchmarks/bench_highdim.py, x uniform on 64 points of the line,
    T = tanh(w x + b), truth log 64 = 4.159): 3.857 / 4.095 / 4.144 at
    N = 512 / 2,048 / 8,192 with a spread of 0.001-0.02, against 4.146-4.150
    (spread 0.005-0.03) for the jittered KSG; on the embedded Gaussian
    channels it reads lower than KSG (worst -25 % against -20 %). So it is
    an option for atoms at large N, not a default.

    Ceiling (:meth:`ceiling`): ``psi(N) - psi(k)`` for algorithm 1 and
    ``psi(N) - psi(k) - 1/k`` for algorithm 2 (the counts are at least
    ``k - 1`` or k), ``log N + psi(k) - 2 log(k + 1)`` for Gao's; with labels
    ``psi(N) - mean psi(N_y)`` (Ross) or ``H(Y) + psi(k) - log(k + 1)`` (Gao).

    Assumptions: i.i.d. samples of a distribution with a density (ties are
    broken by ``noise`` std of Gaussian jitter after standardising each
    column; a constant representation therefore gives ~0, not NaN). Known
    bias: small and negative for weak dependence; large and negative when
    the MI is high relative to log N (it cannot resolve MI >> log(N/k)).
    For the information plane, ``estimate(x_repr, t)`` estimates the MI
    between the stated representation of X and T plus the jitter.

    Shapes: x ``(N, dx)``, y ``(N, dy)`` or ``(N,)`` labels. Units: nats.
    Cost: compiled KD-trees for low dimension, brute force O(N^2 d) in
    ``(chunk, N)`` blocks otherwise (see ``search``). Measured at d = 5+5,
    N = 100,000 (scripts/bench_ksg_scaling.py, 2 cores shared with other
    jobs at load ~17): max-norm 57 s against 585 s for the former cKDTree +
    sklearn search; 13 / 25 CPU-seconds (max-norm / Euclidean).

    Args:
        k: neighbours (1 <= k < N).
        algorithm: KSG algorithm 1 or 2 (continuous y only).
        preprocess: ``"standardize"`` (z-score each column: KSG's max-norm
            is not invariant to per-axis scale, MI is), ``"rank"`` (replace
            each column by its ranks, ties averaged, then z-score: the
            empirical copula, which makes the estimate exactly invariant to
            strictly increasing maps of each coordinate and robust to heavy
            tails) or ``"none"``.
        noise: std of the seeded jitter added after standardising (>= 0).
        search: ``"kdtree"`` (compiled KD-trees on the CPU; both metrics),
            ``"brute"`` (chunked torch, any device) or ``"auto"`` (KD-tree on
            CPU up to 40 joint dimensions, else brute). Both give the same
            neighbours and counts.
        seed: seed of the jitter.
        y_kind: see :class:`~ssl_it.estimators.base.MIEstimator`.
        metric: ``"max"`` (max-norm in each space, Kraskov et al.) or
            ``"euclidean"`` (L2 in each space, joint distance the max of the
            two, as benchmark-mi); see above.
        space_scale: ``"auto"`` (``"dim"`` for the Euclidean metric,
            ``"none"`` for the max-norm), ``"none"``, ``"dim"`` or ``"knn"``;
            see above.
        variant: ``"ksg"`` (Kraskov et al.; Ross with labels) or
            ``"gao2017"`` (ties counted; see above).
    """

    name = "ksg"
    bound = "point"

    def __init__(
        self,
        k: int = 3,
        algorithm: int = 1,
        preprocess: Preprocess = "standardize",
        noise: float = 1e-10,
        search: Search = "auto",
        seed: int = 0,
        y_kind: YKind = "auto",
        metric: Metric = "max",
        space_scale: SpaceScale = "auto",
        variant: Variant = "ksg",
    ) -> None:
        super().__init__(seed=seed, y_kind=y_kind)
        checks.integer("k", k)
        checks.choice("algorithm", algorithm, (1, 2))
        checks.choice("preprocess", preprocess, ("standardize", "rank", "none"))
        checks.positive("noise", noise, allow_zero=True)
        checks.choice("search", search, ("auto", "kdtree", "brute"))
        checks.choice("metric", metric, ("max", "euclidean"))
        checks.choice("space_scale", space_scale, ("auto", "none", "dim", "knn"))
        checks.choice("variant", variant, ("ksg", "gao2017"))
        self.k, self.algorithm, self.preprocess = k, algorithm, preprocess
        self.noise, self.search, self.metric = float(noise), search, metric
        self.space_scale, self.variant = space_scale, variant

    @property
    @override
    def min_samples(self) -> int:
        return self.k + 1

    @override
    def settings(self) -> dict[str, Any]:
        return {
            "k": self.k,
            "algorithm": self.algorithm,
            "preprocess": self.preprocess,
            "noise": self.noise,
            "search": self.search,
            "seed": self.seed,
            "y_kind": self.y_kind,
            "metric": self.metric,
            "space_scale": self.space_scale,
            "variant": self.variant,
        }

    @override
    def ceiling(self, n_samples: int, labels: Any | None = None) -> float | None:
        k = self.k
        if labels is None:
            if self.variant == "gao2017":
                return float(np.log(n_samples) + digamma(k) - 2 * np.log(k + 1))
            return float(digamma(n_samples) - digamma(k) - (1.0 / k if self.algorithm == 2 else 0.0))
        lab = to_tensor(labels, "labels").cpu().numpy().astype(np.int64)
        sizes = np.bincount(lab)[lab]
        sizes = sizes[sizes >= 2]
        if len(sizes) == 0:
            return 0.0
        if self.variant == "gao2017":
            return float(np.log(len(lab)) - np.log(sizes).mean() + digamma(k) - np.log(k + 1))
        return float(digamma(len(sizes)) - digamma(sizes).mean())

    def _scale_of(self, t: torch.Tensor, offset: int) -> float:
        mode = self.space_scale
        if mode == "auto":
            mode = "dim" if self.metric == "euclidean" else "none"
        if mode == "dim":
            return float(np.sqrt(t.shape[1]))
        if mode == "knn":
            return knn_scale(t, self.k, self.seed + 7 * offset, p=_P[self.metric])
        return 1.0

    def _prepare(self, t: torch.Tensor, offset: int) -> torch.Tensor:
        if self.preprocess == "rank":
            t = standardize(rank_columns(t))
        elif self.preprocess == "standardize":
            t = standardize(t)
        if self.noise > 0 and self.variant == "ksg":
            t = t + self.noise * seeded_normal(tuple(t.shape), self.seed + offset, t)
        return t

    def _use_tree(self, dim: int, device: torch.device) -> bool:
        if self.search == "auto":
            return device.type == "cpu" and dim <= KDTREE_MAX_DIM
        return self.search == "kdtree"

    def _estimate(self, pair: Pair) -> tuple[float, dict[str, Any]]:
        x = self._prepare(pair.x, 0)
        if pair.labels:
            if self.variant == "gao2017":
                value, diag = gao_labels(x, pair.y, self.k, self.metric)
                return value, {**diag, "search": "brute", "variant": "gao2017"}
            return self._mixed(x, pair.y)
        y = self._prepare(pair.y, 1)
        sx, sy = self._scale_of(x, 0), self._scale_of(y, 1)
        x, y = x / sx, y / sy
        if self.variant == "gao2017":
            value, diag = gao_continuous(x, y, self.k, self.metric)
            return value, {**diag, "search": "brute", "variant": "gao2017", "scale_x": sx, "scale_y": sy}
        use_tree = self._use_tree(x.shape[1] + y.shape[1], x.device)
        if use_tree:
            nx, ny = ksg_tree_counts(x.cpu().numpy(), y.cpu().numpy(), self.k, self.algorithm, self.metric)
        else:
            nx, ny = _ksg_brute(x, y, self.k, self.algorithm, self.metric)
        n, k = pair.n, self.k
        if self.algorithm == 1:
            value = digamma(k) + digamma(n) - np.mean(digamma(nx + 1) + digamma(ny + 1))
        else:
            value = digamma(k) - 1.0 / k + digamma(n) - np.mean(digamma(nx) + digamma(ny))
        return float(value), {
            "search": "kdtree" if use_tree else "brute",
            "scale_x": sx,
            "scale_y": sy,
            "mean_nx": float(nx.mean()),
            "mean_ny": float(ny.mean()),
        }

    def _mixed(self, x: torch.Tensor, labels: torch.Tensor) -> tuple[float, dict[str, Any]]:
        use_tree = self._use_tree(x.shape[1], x.device)
        radius, k_used = _class_radius(x, labels, self.k, use_tree, self.metric)
        keep = k_used > 0
        if keep.sum() < 2:
            raise ValueError("y needs at least one class with two or more samples for the mixed KSG estimator")
        m = _mixed_counts(x, radius, use_tree, self.metric)[keep]
        lab = labels.cpu().numpy()[keep]
        class_size = np.bincount(lab)[lab]
        value = (
            digamma(int(keep.sum()))
            + np.mean(digamma(k_used[keep]))
            - np.mean(digamma(class_size))
            - np.mean(digamma(np.maximum(m, 1)))
        )
        return float(value), {
            "search": "kdtree" if use_tree else "brute",
            "variant": "ross2014",
            "dropped_singletons": int((~keep).sum()),
        }
