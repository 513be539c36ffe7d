"""Entropy side: Gaussian log-det entropy, RankMe.

Plain functions of an embedding ``z`` ``(N, d)`` (torch tensor on any device
or NumPy array), returning Python floats (entropies in nats).
"""

from __future__ import annotations

import math
from typing import Any

import torch

from ssl_it import checks
from ssl_it.estimators.base import as_float_matrix, to_tensor
from ssl_it.estimators.gaussian import Shrinkage, check_shrinkage, ledoit_wolf_intensity


def _embedding(z: Any, min_samples: int) -> torch.Tensor:
    t = as_float_matrix(to_tensor(z, "z"), "z", torch.float64)
    if t.shape[0] < min_samples:
        raise ValueError(f"N = {t.shape[0]} samples is below the minimum of {min_samples}")
    return t


def gaussian_entropy(z: Any, shrinkage: Shrinkage = 0.0, eps: float = 1e-6) -> float:
    """Entropy of the Gaussian with the covariance of ``z``: an upper bound on ``H(Z)``.

    ``H = d/2 log(2 pi e) + 1/2 log det(Sigma + eps I)`` (nats), the maximum
    entropy of any density with covariance Sigma (Cover & Thomas, Thm 8.6.5);
    the log-det view of VICReg (Shwartz-Ziv et al. 2023, arXiv:2303.00633).

    Args:
        z: ``(N, d)`` embedding.
        shrinkage: ``"ledoit_wolf"`` or an intensity in [0, 1] towards ``mu I``.
        eps: ridge added to the covariance (>= 0); a collapsed embedding gives
            the finite degenerate value ``d/2 log(2 pi e eps)`` instead of -inf.
    """
    check_shrinkage(shrinkage)
    checks.positive("eps", eps, allow_zero=True)
    t = _embedding(z, 2)
    d = t.shape[1]
    zc = t - t.mean(0, keepdim=True)
    lam = covariance_eigenvalues(zc)
    mu = float(lam.sum()) / d
    if isinstance(shrinkage, str):
        a = ledoit_wolf_intensity(zc, lam, mu)
    else:
        a = float(shrinkage)
    shrunk = (1 - a) * lam + a * mu + eps
    n_zero = d - lam.shape[0]
    logdet = float(torch.log(shrunk).sum())
    if n_zero:
        logdet += n_zero * math.log(a * mu + eps) if a * mu + eps > 0 else -math.inf
    return 0.5 * d * math.log(2 * math.pi * math.e) + 0.5 * logdet


def covariance_eigenvalues(zc: torch.Tensor) -> torch.Tensor:
    """Eigenvalues of ``S = zc^T zc / N`` for centred ``zc`` ``(N, d)``.

    Taken from whichever of ``S`` (d x d) and the Gram matrix ``zc zc^T / N``
    (N x N) is smaller: both share their non-zero spectrum, so a 25,000-wide
    convolutional feature map on 1,000 probe samples costs a 1,000 x 1,000
    eigendecomposition, not a 5 GB covariance. Returns ``min(N, d)`` values
    (the remaining ``d - N`` are zero).
    """
    n, d = zc.shape
    gram = zc.T @ zc if d <= n else zc @ zc.T
    return torch.linalg.eigvalsh(gram / n).clamp(min=0)


def effective_rank(z: Any, eps: float = 1e-7) -> float:
    """RankMe effective rank of an embedding (Garrido et al. 2023, arXiv:2210.02885).

    ``exp(-sum_k p_k log p_k)`` with ``p_k = sigma_k / ||sigma||_1 + eps``
    over the singular values of ``z`` ``(N, d)`` (not centred, as in the
    paper). Between 1 and min(N, d); an all-zero embedding gives 0.0 (the
    stated degenerate value).
    """
    checks.positive("eps", eps, allow_zero=True)
    t = _embedding(z, 1)
    n, d = t.shape
    if d > 4 * n or n > 4 * d:  # singular values from the smaller Gram matrix
        gram = t.T @ t if d < n else t @ t.T
        s = torch.linalg.eigvalsh(gram).clamp(min=0).sqrt()
    else:
        s = torch.linalg.svdvals(t)
    total = s.sum()
    if float(total) == 0.0:
        return 0.0
    p = s / total + eps
    return float(torch.exp(-(p * p.log()).sum()))
