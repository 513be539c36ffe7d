"""Matrix-based Rényi alpha-entropy mutual information."""

from __future__ import annotations

import math
from typing import Any

import torch
from typing_extensions import override

from ssl_it import checks
from ssl_it.estimators.base import MIEstimator, Pair, YKind
from ssl_it.estimators.pairwise import row_chunks, sq_dists

EIG_MAX_SAMPLES: int = 5000
"""alpha != 2 needs a full eigendecomposition; refused above this N."""


def silverman_width(t: torch.Tensor) -> float:
    """Silverman's rule ``sigma = s (4 / ((d + 2) N))^(1 / (d + 4))``, s = mean column std."""
    n, d = t.shape
    s = float(t.std(0).mean()) if n > 1 else 0.0
    return s * (4.0 / ((d + 2) * n)) ** (1.0 / (d + 4)) if s > 0 else 1.0


def median_width(t: torch.Tensor, seed: int, max_rows: int = 1000) -> float:
    """Median heuristic: sigma = median pairwise Euclidean distance (on <= ``max_rows`` seeded rows)."""
    if t.shape[0] > max_rows:
        idx = torch.randperm(t.shape[0], generator=torch.Generator().manual_seed(seed))[:max_rows]
        t = t[idx.to(t.device)]
    d2 = sq_dists(t, t)
    upper = d2[torch.triu(torch.ones_like(d2, dtype=torch.bool), diagonal=1)]
    med = float(upper.median().sqrt()) if upper.numel() else 0.0
    return med if med > 0 else 1.0


def _gram_block(t: torch.Tensor | None, labels: torch.Tensor | None, rows: slice, width: float) -> torch.Tensor:
    """Rows of the Gaussian (or label-equality) kernel matrix: ``(chunk, N)``."""
    if labels is not None:
        return (labels[rows, None] == labels[None, :]).to(torch.float64)
    assert t is not None
    return torch.exp(-sq_dists(t[rows], t) / (2 * width**2))


def _renyi2_terms(
    x: torch.Tensor, y: torch.Tensor | None, ylab: torch.Tensor | None, wx: float, wy: float
) -> tuple[float, float, float]:
    """``sum K_x^2``, ``sum K_y^2``, ``sum (K_x K_y)^2`` accumulated in row chunks."""
    n = x.shape[0]
    sx = sy = sxy = 0.0
    for rows in row_chunks(n, n, n_blocks=4):
        kx = _gram_block(x, None, rows, wx)
        ky = _gram_block(y, ylab, rows, wy)
        sx += float((kx * kx).sum())
        sy += float((ky * ky).sum())
        sxy += float(((kx * ky) ** 2).sum())
    return sx, sy, sxy


def _entropy_eig(a: torch.Tensor, alpha: float) -> float:
    """``S_alpha(A) = 1/(1-alpha) log sum_i lambda_i^alpha`` of a unit-trace PSD ``A``."""
    lam = torch.linalg.eigvalsh(a).clamp_min(0.0)
    lam = lam / lam.sum()
    return float(torch.log((lam[lam > 0] ** alpha).sum()) / (1 - alpha))


class RenyiMI(MIEstimator):
    """Matrix-based Rényi alpha-order MI (Giraldo, Rao & Príncipe 2014, arXiv:1211.2459).

    With Gram matrices ``K_x``, ``K_y`` (Gaussian kernels of width sigma;
    for labels ``K_y[i, j] = 1[y_i = y_j]``), ``A = K / tr(K)`` and
    ``S_alpha(A) = 1/(1 - alpha) log sum_i lambda_i(A)^alpha``::

        I_alpha = S_alpha(A_x) + S_alpha(A_y) - S_alpha(A_x o A_y / tr(A_x o A_y))

    (o = Hadamard product). It is a Rényi-type dependence measure of the
    kernel-smoothed data, not Shannon MI: it is 0 for a constant x, at most
    ``min(S_alpha(A_x), S_alpha(A_y)) <= log N``, and with labels at most
    the Rényi-alpha entropy of Y (<= H(Y) for alpha > 1).

    ``alpha = 2`` (default) needs only Frobenius norms,
    ``S_2(A) = -log ||A||_F^2``, computed in ``(chunk, N)`` blocks: O(N^2 d)
    time, O(chunk N) memory, N up to 50,000 on CPU or CUDA. Other alpha
    need the eigenvalues of N x N matrices (N <= 5,000).

    Kernel width, per variable: ``"median"`` (default: the median pairwise
    distance, which scales with the dimension and keeps the Gram matrix
    informative for wide representations), ``"silverman"`` (Silverman's
    rule on the raw columns, as in Giraldo et al.; it shrinks with N and in
    high dimension makes every Gram matrix near-diagonal, so that
    ``I -> log N`` even for independent variables) or a fixed number.

    Shapes: x ``(N, dx)``, y ``(N, dy)`` or ``(N,)`` labels. Units: nats.

    Args:
        alpha: Rényi order (> 0, != 1).
        kernel_width: ``"median"``, ``"silverman"`` or a positive width sigma.
        seed: seed of the subsample used by the median heuristic.
        y_kind: see :class:`~ssl_it.estimators.base.MIEstimator`.
    """

    name = "renyi"
    bound = "point"

    def __init__(
        self, alpha: float = 2.0, kernel_width: float | str = "median", seed: int = 0, y_kind: YKind = "auto"
    ) -> None:
        super().__init__(seed=seed, y_kind=y_kind)
        if not (checks.is_number(alpha) and alpha > 0 and alpha != 1):
            checks.fail("alpha", "a number > 0 other than 1 (the Shannon limit is not defined by this formula)", alpha)
        if kernel_width not in ("median", "silverman") and not (checks.is_number(kernel_width) and kernel_width > 0):
            checks.fail("kernel_width", "median, silverman or a number > 0", kernel_width)
        self.alpha, self.kernel_width = float(alpha), kernel_width

    @override
    def settings(self) -> dict[str, Any]:
        return {"alpha": self.alpha, "kernel_width": self.kernel_width, "seed": self.seed, "y_kind": self.y_kind}

    def ceiling(self, n_samples: int, labels: Any | None = None) -> float | None:
        """log N; with labels, the Renyi-alpha entropy of the label frequencies (<= H(Y) for alpha > 1)."""
        if labels is None:
            return math.log(n_samples)
        counts = torch.unique(torch.as_tensor(labels), return_counts=True)[1].double()
        p = counts / counts.sum()
        return min(math.log(n_samples), float(torch.log((p**self.alpha).sum()) / (1 - self.alpha)))

    def _width(self, t: torch.Tensor) -> float:
        if self.kernel_width == "median":
            return median_width(t, self.seed)
        return silverman_width(t) if self.kernel_width == "silverman" else float(self.kernel_width)

    def _estimate(self, pair: Pair) -> tuple[float, dict[str, Any]]:
        n = pair.n
        wx = self._width(pair.x)
        y, ylab = (None, pair.y) if pair.labels else (pair.y, None)
        wy = 1.0 if y is None else self._width(y)
        diag = {"width_x": wx, "width_y": None if y is None else wy}
        if self.alpha == 2.0:
            sx, sy, sxy = _renyi2_terms(pair.x, y, ylab, wx, wy)
            # S_2(K / N) = -log(sum K^2 / N^2); joint A = K_x o K_y / N (unit diagonals).
            return 2 * math.log(n) + math.log(sxy) - math.log(sx) - math.log(sy), diag
        if n > EIG_MAX_SAMPLES:
            raise ValueError(
                f"N = {n} is too large for alpha = {self.alpha} (eigendecomposition, N <= "
                f"{EIG_MAX_SAMPLES}); use alpha = 2, which is chunked"
            )
        every = slice(0, n)
        kx = _gram_block(pair.x, None, every, wx)
        ky = _gram_block(y, ylab, every, wy)
        hx, hy = _entropy_eig(kx / n, self.alpha), _entropy_eig(ky / n, self.alpha)
        hxy = _entropy_eig(kx * ky / n, self.alpha)
        diag.update({"H_x": hx, "H_y": hy, "H_xy": hxy})
        return hx + hy - hxy, diag
