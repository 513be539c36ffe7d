"""Sample-geometry helpers shared by the estimators: chunked pairwise distances, ranks.

Nothing here allocates an ``(N, N)`` matrix: rows are processed in chunks so
that one ``(chunk, N)`` block stays under :data:`BLOCK_BYTES` (with N = 50,000
in float64 that is a few hundred rows at a time), on CPU or CUDA alike.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Literal

import torch

Scale = Literal["absolute", "unit_rms", "total"]

BLOCK_BYTES: int = 64 * 2**20
"""Budget of one ``(chunk, N)`` float block (64 MiB)."""


def row_chunks(n_rows: int, n_cols: int, n_blocks: int = 4, element_bytes: int = 8) -> Iterator[slice]:
    """Slices of rows so that ``n_blocks`` ``(chunk, n_cols)`` blocks fit the budget."""
    size = max(1, BLOCK_BYTES // max(1, n_cols * element_bytes * n_blocks))
    for start in range(0, n_rows, size):
        yield slice(start, min(start + size, n_rows))


def sq_dists(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Squared Euclidean distances ``(n, m)`` between rows of ``a`` ``(n, d)`` and ``b`` ``(m, d)``."""
    d2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * (a @ b.T)
    return d2.clamp_min_(0.0)


def max_dists(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Max-norm (Chebyshev) distances ``(n, m)`` between rows of ``a`` and ``b``."""
    return torch.cdist(a, b, p=float("inf"))


def space_dists(a: torch.Tensor, b: torch.Tensor, metric: str) -> torch.Tensor:
    """Distances ``(n, m)`` of the within-space metric of the k-NN estimators (``"max"`` or ``"euclidean"``).

    Euclidean distances are summed directly (not by the ``|a|^2 + |b|^2 - 2ab``
    matrix product), so a point's distance to itself is exactly 0 and near ties
    keep full precision (at the speed of the max-norm ``cdist``:
    docs/results/framework-overhead.md).
    """
    if metric == "max":
        return max_dists(a, b)
    return torch.cdist(a, b, p=2.0, compute_mode="donot_use_mm_for_euclid_dist")


def standardize(t: torch.Tensor) -> torch.Tensor:
    """Zero-mean, unit-variance columns; constant columns become exactly 0."""
    t = t - t.mean(0, keepdim=True)
    std = t.std(0, keepdim=True)
    return torch.where(std > 0, t / std.clamp_min(torch.finfo(t.dtype).tiny), torch.zeros_like(t))


def seeded_normal(shape: tuple[int, ...], seed: int, like: torch.Tensor) -> torch.Tensor:
    """Standard normal noise from a private CPU generator (device-independent values)."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=gen, dtype=torch.float64).to(device=like.device, dtype=like.dtype)


def rank_columns(t: torch.Tensor) -> torch.Tensor:
    """Per-column ranks in [0, N) with ties given their average rank (float64)."""
    out = torch.empty_like(t, dtype=torch.float64)
    for j in range(t.shape[1]):
        values, inverse, counts = torch.unique(t[:, j], sorted=True, return_inverse=True, return_counts=True)
        start = torch.cumsum(counts, 0) - counts
        out[:, j] = (start + (counts - 1) / 2.0).to(torch.float64)[inverse]
    return out


def gauss_rank(t: torch.Tensor) -> torch.Tensor:
    """Normal scores ``Phi^-1((rank + 1) / (N + 1))`` per column, then z-scored.

    A bijection of each coordinate on the observed values (ties stay ties), so
    it leaves the MI of the sample's distribution unchanged, and it removes the
    heavy tails that make exponential-moment bounds (DV, NWJ) explode.
    """
    n = t.shape[0]
    u = (rank_columns(t) + 1.0) / (n + 1.0)
    return standardize(torch.special.ndtri(u).to(t.dtype))


def knn_scale(t: torch.Tensor, k: int, seed: int, p: float = 2.0, max_queries: int = 512) -> float:
    """Median distance from a row of ``t`` to its k-th nearest other row (Minkowski ``p``).

    Computed for at most ``max_queries`` seeded rows against all N rows (so
    O(max_queries N d), never ``(N, N)``). Returns 1.0 when the median is 0
    (a constant or heavily tied representation).
    """
    n = t.shape[0]
    gen = torch.Generator().manual_seed(seed)
    rows = torch.randperm(n, generator=gen)[:max_queries].to(t.device)
    kth = torch.empty(len(rows), dtype=t.dtype, device=t.device)
    for block in row_chunks(len(rows), n, n_blocks=2):
        dist = torch.cdist(t[rows[block]], t, p=p)  # (chunk, N); the row itself is at 0
        kth[block] = torch.kthvalue(dist, min(k + 1, n), dim=1).values
    med = float(kth.median())
    return med if med > 0 else 1.0


def kth_neighbour_distances(t: torch.Tensor, k: int) -> torch.Tensor:
    """Euclidean distance from each row of ``t`` ``(N, d)`` to its k-th nearest other row, ``(N,)``
    (0 where k other rows coincide with it)."""
    n = t.shape[0]
    kth = torch.empty(n, dtype=t.dtype, device=t.device)
    for block in row_chunks(n, n, n_blocks=2):
        dist = torch.cdist(t[block], t)  # the row itself is at 0
        kth[block] = torch.kthvalue(dist, min(k + 1, n), dim=1).values
    return kth


def neighbour_jump_share(t: torch.Tensor, parts: list[torch.Tensor], k: int, factor: float = 2.0) -> float:
    """The share of the rows of ``parts`` (subsets of ``t``'s rows) whose k-th neighbour distance within their
    part is more than ``factor`` times that within all of ``t``, averaged over the parts.

    Halving a sample of a continuous density of local dimension ``m`` stretches
    the k-th neighbour distance by about ``2 ** (1 / m)``: by more than 2 only
    where ``m < 1``, which a density never has in the dimensions a reduced
    pair has. A row whose k neighbours at N are members of a tight cluster
    that the half no longer fills jumps to the distance between clusters:
    this share is the part of the sample in such clusters."""
    full = kth_neighbour_distances(t, k)
    shares = [float((kth_neighbour_distances(t[part], k) > factor * full[part]).to(t.dtype).mean()) for part in parts]
    return sum(shares) / len(shares)


def layer_scale(t: torch.Tensor, scale: Scale) -> float:
    """Divisor that puts T ``(N, d)`` on the chosen reference scale (1.0 for ``"absolute"``).

    ``"unit_rms"``: the RMS of the per-unit standard deviations,
    ``sqrt(tr Cov(T) / d)``; ``"total"``: ``sqrt(tr Cov(T))``, so that the
    mean squared distance between two samples is 2 whatever d. Both are
    unchanged by rotations of T and scale with it; 1.0 for a constant T.
    """
    if scale == "absolute":
        return 1.0
    total = float(t.var(0, unbiased=False).sum()) if t.shape[0] > 1 else 0.0
    if total <= 0:
        return 1.0
    return math.sqrt(total / t.shape[1]) if scale == "unit_rms" else math.sqrt(total)
