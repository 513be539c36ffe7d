"""Compiled KD-tree searches for KSG: the joint k-NN under ``max(||dx||, ||dy||)`` and radius counts.

scipy's and sklearn's trees support one Minkowski norm of the whole vector,
so the KSG joint distance with L2 inside each space,
``max(||x_i - x_j||_2, ||y_i - y_j||_2)``, has no tree there. Here a KD-tree
over the joint space ``z = (x, y)`` bounds a node by that same distance from
the query to the node's box, which serves the max-norm and the per-space L2
alike. The marginal counts use one tree per space and add a node whole when
its farthest corner lies inside the ball. Queries run in parallel over all
cores (numba ``prange``).

All distances come from :func:`_raw_dist` (squares summed in coordinate
order, the square root taken last), so the k-th neighbour's distance and the
counts compared with it agree to the bit. Box bounds apply the same operations to the box's nearest (farthest)
corner and floating-point rounding is monotonic, so a bound is never above
(below) the computed distance of a point in the box: no pruning or whole-node
count differs from checking every point.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Iterator
from typing import NamedTuple

import numba
import numpy as np
import torch
from numba import njit, prange

LEAF_SIZE: int = 16

_LAUNCH_LOCK = threading.Lock()


@contextlib.contextmanager
def parallel_launch() -> Iterator[None]:
    """Held around every parallel kernel.

    * One launch at a time: numba's workqueue threading layer aborts the
      process when two Python threads launch parallel kernels at once, and
      estimators may run in threads (the information plane's
      ``estimate_workers``).
    * The kernels use torch's intra-op thread count of the calling thread
      (the budget the run or the callback set), and leave it as it was:
      numba's OpenMP layer sets the calling thread's OpenMP thread count,
      which torch's own kernels then use. Left at 2 on the callback's
      one-thread budget, the classifier bound after a KSG estimate ran 14x
      slower beside another busy process (docs/results/infoplane-cost.md).
    """
    with _LAUNCH_LOCK:
        torch_threads, numba_threads = torch.get_num_threads(), numba.get_num_threads()
        numba.set_num_threads(max(1, min(torch_threads, numba.config.NUMBA_NUM_THREADS)))  # type: ignore[attr-defined]
        try:
            yield
        finally:
            numba.set_num_threads(numba_threads)
            torch.set_num_threads(torch_threads)


class Tree(NamedTuple):
    """Balanced KD-tree in heap layout (children of node ``n``: ``2n+1``, ``2n+2``; leaves last).

    ``points`` are the input rows reordered so that node ``n`` holds rows
    ``start[n]:end[n]``; ``perm[r]`` is the input index of reordered row r.
    """

    points: np.ndarray
    perm: np.ndarray
    start: np.ndarray
    end: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    first_leaf: int
    depth: int

    def nodes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int, int]:
        """``(start, end, lo, hi, first_leaf, depth)``: the node arrays every search kernel takes."""
        return self.start, self.end, self.lo, self.hi, self.first_leaf, self.depth


@njit(cache=True)
def _build(pts: np.ndarray, depth: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    n, d = pts.shape
    n_nodes = 2 ** (depth + 1) - 1
    first_leaf = 2**depth - 1
    start = np.zeros(n_nodes, np.int64)
    end = np.zeros(n_nodes, np.int64)
    perm = np.arange(n)
    end[0] = n
    for node in range(first_leaf):
        s, e = start[node], end[node]
        dim, widest = 0, -1.0
        for c in range(d):
            lo_c, hi_c = np.inf, -np.inf
            for t in range(s, e):
                v = pts[perm[t], c]
                lo_c, hi_c = min(lo_c, v), max(hi_c, v)
            if hi_c - lo_c > widest:
                dim, widest = c, hi_c - lo_c
        vals = np.empty(e - s)
        for t in range(s, e):
            vals[t - s] = pts[perm[t], dim]
        perm[s:e] = perm[s:e][np.argsort(vals, kind="mergesort")]
        mid = s + (e - s) // 2
        start[2 * node + 1], end[2 * node + 1] = s, mid
        start[2 * node + 2], end[2 * node + 2] = mid, e
    lo = np.full((n_nodes, d), np.inf)
    hi = np.full((n_nodes, d), -np.inf)
    for node in range(n_nodes - 1, -1, -1):
        for c in range(d):
            if node >= first_leaf:
                for t in range(start[node], end[node]):
                    v = pts[perm[t], c]
                    lo[node, c], hi[node, c] = min(lo[node, c], v), max(hi[node, c], v)
            else:
                lo[node, c] = min(lo[2 * node + 1, c], lo[2 * node + 2, c])
                hi[node, c] = max(hi[2 * node + 1, c], hi[2 * node + 2, c])
    return perm, start, end, lo, hi


def build_tree(points: np.ndarray, leaf_size: int | None = None) -> Tree:
    """Median-split KD-tree of ``points`` ``(N, d)`` (split on the widest coordinate)."""
    leaf_size = leaf_size or LEAF_SIZE
    pts = np.ascontiguousarray(points, dtype=np.float64)
    depth = max(0, math.ceil(math.log2(max(1.0, len(pts) / leaf_size))))
    perm, start, end, lo, hi = _build(pts, depth)
    return Tree(np.ascontiguousarray(pts[perm]), perm, start, end, lo, hi, 2**depth - 1, depth)


@njit(cache=True, inline="always")
def _raw_dist(a: np.ndarray, b: np.ndarray, c0: int, c1: int, euclid: bool) -> float:
    """Squared L2 (``euclid``) or max-norm distance between rows ``a`` and ``b`` on columns ``c0:c1``."""
    acc = 0.0
    for c in range(c0, c1):
        t = a[c] - b[c]
        if euclid:
            acc += t * t
        else:
            acc = max(acc, abs(t))
    return acc


@njit(cache=True, inline="always")
def _raw_box(q: np.ndarray, lo: np.ndarray, hi: np.ndarray, c0: int, c1: int, euclid: bool, farthest: bool) -> float:
    """:func:`_raw_dist` from ``q`` to the nearest (``farthest=False``) or farthest corner of a box."""
    acc = 0.0
    for c in range(c0, c1):
        if farthest:
            t = max(abs(q[c] - lo[c]), abs(q[c] - hi[c]))
        else:
            t = max(lo[c] - q[c], q[c] - hi[c], 0.0)
        if euclid:
            acc += t * t
        else:
            acc = max(acc, t)
    return acc


@njit(cache=True, parallel=True)
def _joint_knn(
    z: np.ndarray,
    split: int,
    start: np.ndarray,
    end: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    first_leaf: int,
    depth: int,
    k1: int,
    euclid: bool,
) -> tuple[np.ndarray, np.ndarray]:
    n, d = z.shape
    dist = np.empty((n, k1))
    idx = np.empty((n, k1), np.int64)
    for i in prange(n):
        q = z[i]
        best_d = np.full(k1, np.inf)  # raw joint distances, ascending
        best_i = np.full(k1, -1, np.int64)
        stack_node = np.empty(depth + 2, np.int64)
        stack_bound = np.empty(depth + 2)
        stack_node[0], stack_bound[0], top = 0, 0.0, 1
        while top > 0:
            top -= 1
            node, bound = stack_node[top], stack_bound[top]
            if bound >= best_d[k1 - 1]:
                continue
            if node >= first_leaf:
                for j in range(start[node], end[node]):
                    dj = _raw_dist(q, z[j], 0, split, euclid)
                    if dj >= best_d[k1 - 1]:
                        continue
                    dj = max(dj, _raw_dist(q, z[j], split, d, euclid))
                    if dj >= best_d[k1 - 1]:
                        continue
                    pos = k1 - 1
                    while pos > 0 and best_d[pos - 1] > dj:
                        best_d[pos], best_i[pos] = best_d[pos - 1], best_i[pos - 1]
                        pos -= 1
                    best_d[pos], best_i[pos] = dj, j
                continue
            a, b = 2 * node + 1, 2 * node + 2
            bound_a = max(
                _raw_box(q, lo[a], hi[a], 0, split, euclid, False), _raw_box(q, lo[a], hi[a], split, d, euclid, False)
            )
            bound_b = max(
                _raw_box(q, lo[b], hi[b], 0, split, euclid, False), _raw_box(q, lo[b], hi[b], split, d, euclid, False)
            )
            if bound_a > bound_b:
                a, b, bound_a, bound_b = b, a, bound_b, bound_a
            stack_node[top], stack_bound[top] = b, bound_b  # the farther child waits
            stack_node[top + 1], stack_bound[top + 1] = a, bound_a
            top += 2
        for m in range(k1):
            # sqrt is monotonic, so the order statistics of the squared sums give those of the distances
            dist[i, m] = math.sqrt(best_d[m]) if euclid else best_d[m]
        idx[i] = best_i
    return dist, idx


@njit(cache=True, inline="always")
def _inside(raw: float, r: float, r_lo: float, r_hi: float, strict: bool, euclid: bool) -> bool:
    """Whether the distance of raw value ``raw`` is ``< r`` (``strict``) or ``<= r``.

    For L2 the squared radius bounds ``r_lo < r^2 < r_hi`` settle all but the
    values within 1e-12 of ``r^2``, which are decided on the square root.
    """
    if euclid:
        if raw < r_lo:
            return True
        if raw > r_hi:
            return False
        raw = math.sqrt(raw)
    return raw < r or (not strict and raw == r)


@njit(cache=True, parallel=True)
def _radius_counts(
    p: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    first_leaf: int,
    depth: int,
    radius: np.ndarray,
    strict: bool,
    euclid: bool,
) -> np.ndarray:
    n, d = p.shape
    counts = np.zeros(n, np.int64)
    for i in prange(n):
        q, r = p[i], radius[i]
        r_lo, r_hi = r * r * (1.0 - 1e-12), r * r * (1.0 + 1e-12)
        stack = np.empty(depth + 2, np.int64)
        stack[0], top, count = 0, 1, 0
        while top > 0:
            top -= 1
            node = stack[top]
            near = _raw_box(q, lo[node], hi[node], 0, d, euclid, False)
            if not _inside(near, r, r_lo, r_hi, strict, euclid):
                continue
            if _inside(_raw_box(q, lo[node], hi[node], 0, d, euclid, True), r, r_lo, r_hi, strict, euclid):
                count += end[node] - start[node]
                continue
            if node >= first_leaf:
                for j in range(start[node], end[node]):
                    if _inside(_raw_dist(q, p[j], 0, d, euclid), r, r_lo, r_hi, strict, euclid):
                        count += 1
                continue
            stack[top], stack[top + 1] = 2 * node + 2, 2 * node + 1
            top += 2
        counts[i] = count
    return counts


@njit(cache=True, parallel=True)
def _neighbour_extent(z: np.ndarray, idx: np.ndarray, c0: int, c1: int, euclid: bool) -> np.ndarray:
    """``max_m dist(z_i, z_idx[i, m])`` on columns ``c0:c1``."""
    out = np.zeros(z.shape[0])
    for i in prange(z.shape[0]):
        for m in range(idx.shape[1]):
            out[i] = max(out[i], _raw_dist(z[i], z[idx[i, m]], c0, c1, euclid))
        if euclid:
            out[i] = math.sqrt(out[i])
    return out


def joint_knn(x: np.ndarray, y: np.ndarray, k: int, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """The ``k + 1`` nearest rows (the row itself first) under ``max(||dx||, ||dy||)``.

    Returns distances and input indices, both ``(N, k + 1)``, sorted by distance.
    """
    tree = build_tree(np.hstack([x, y]))
    with parallel_launch():
        dist, idx = _joint_knn(tree.points, x.shape[1], *tree.nodes(), k + 1, metric == "euclidean")
    out_d, out_i = np.empty_like(dist), np.empty_like(idx)
    out_d[tree.perm], out_i[tree.perm] = dist, tree.perm[idx]
    return out_d, out_i


def radius_counts(points: np.ndarray, radius: np.ndarray, metric: str, strict: bool) -> np.ndarray:
    """Number of rows (the row itself included) within ``radius[i]`` of row i: ``<`` if ``strict``, else ``<=``."""
    tree = build_tree(points)
    with parallel_launch():
        radius = np.ascontiguousarray(radius[tree.perm], dtype=np.float64)
        counts = _radius_counts(tree.points, *tree.nodes(), radius, strict, metric == "euclidean")
    out = np.empty_like(counts)
    out[tree.perm] = counts
    return out


def neighbour_extent(points: np.ndarray, idx: np.ndarray, metric: str) -> np.ndarray:
    """Largest distance from each row to its neighbours ``idx`` ``(N, m)`` (same distance as the counts)."""
    pts = np.ascontiguousarray(points, dtype=np.float64)
    with parallel_launch():
        return _neighbour_extent(pts, np.ascontiguousarray(idx), 0, pts.shape[1], metric == "euclidean")


def ksg_tree_counts(x: np.ndarray, y: np.ndarray, k: int, algorithm: int, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """Marginal neighbour counts ``(n_x, n_y)`` of KSG algorithm 1 or 2 (see :class:`~ssl_it.estimators.KSGMI`)."""
    dist, idx = joint_knn(x, y, k, metric)
    if algorithm == 1:
        eps = dist[:, -1]
        return (radius_counts(x, eps, metric, strict=True) - 1, radius_counts(y, eps, metric, strict=True) - 1)
    nbr = idx[:, 1:]  # (N, k): the k neighbours after the row itself
    eps_x, eps_y = neighbour_extent(x, nbr, metric), neighbour_extent(y, nbr, metric)
    return (radius_counts(x, eps_x, metric, strict=False) - 1, radius_counts(y, eps_y, metric, strict=False) - 1)
