"""Gao, Kannan, Oh & Viswanath (2017) k-NN MI for discrete-continuous mixtures.

Gao et al. ("Estimating mutual information for discrete-continuous
mixtures", NeurIPS 2017, arXiv:1709.06212) keep KSG's k-NN construction
but let the joint distribution put mass on points (ties, discrete
coordinates, deterministic maps of discrete inputs)::

    rho_i = distance from (x_i, y_i) to its k-th nearest neighbour (joint max distance)
    k_i   = k if rho_i > 0, else the number of other samples at distance 0 (the ties)
    n_x,i = #{j != i : ||x_j - x_i|| <= rho_i},   n_y,i likewise
    I     = mean_i [psi(k_i) + log N - log(n_x,i + 1) - log(n_y,i + 1)]

Where the data have a density it is a KSG-type estimate (with log for
psi and inclusive counts); where samples repeat it counts them as a
plug-in estimator would. These functions return the per-sample terms;
:class:`~ssl_it.estimators.ksg.KSGMI` with ``variant="gao2017"`` uses them.
"""

from __future__ import annotations

import math

import torch

from ssl_it.estimators.pairwise import row_chunks, space_dists


def gao_continuous(x: torch.Tensor, y: torch.Tensor, k: int, metric: str) -> tuple[float, dict[str, float]]:
    """Gao et al.'s estimate for a continuous (possibly tied) pair, by chunked brute force."""
    n = x.shape[0]
    terms = torch.empty(n, dtype=torch.float64, device=x.device)
    tied = 0
    for rows in row_chunks(n, n, n_blocks=6):
        dx, dy = space_dists(x[rows], x, metric), space_dists(y[rows], y, metric)  # (chunk, N)
        joint = torch.maximum(dx, dy)
        rho = torch.kthvalue(joint, k + 1, dim=1).values[:, None]  # the row itself is the 0th
        zero = rho[:, 0] == 0
        k_i = torch.where(zero, (joint == 0).sum(1) - 1, torch.full_like(zero, k, dtype=torch.int64))
        nx = (dx <= rho).sum(1) - 1
        ny = (dy <= rho).sum(1) - 1
        terms[rows] = (
            torch.special.digamma(k_i.double()) + math.log(n) - torch.log1p(nx.double()) - torch.log1p(ny.double())
        )
        tied += int(zero.sum())
    return float(terms.mean()), {"tied_share": tied / n}


def gao_labels(x: torch.Tensor, labels: torch.Tensor, k: int, metric: str) -> tuple[float, dict[str, float]]:
    """Gao et al.'s estimate with discrete labels y (joint distance infinite across classes).

    ``rho_i`` is the distance to the k-th same-class neighbour (``k_i =
    min(k, N_c - 1)``; ties counted within the class when it is 0),
    ``n_y,i + 1 = N_c`` and ``n_x,i`` counts samples of any class within
    ``rho_i``. Samples of single-sample classes are left out.
    """
    n = x.shape[0]
    sizes = torch.bincount(labels)[labels]  # (N,) size of each sample's class
    k_c = (sizes - 1).clamp(max=k)
    keep = k_c >= 1
    if int(keep.sum()) < 2:
        raise ValueError("y needs at least one class with two or more samples for the mixed KSG estimator")
    terms = torch.zeros(n, dtype=torch.float64, device=x.device)
    tied = torch.zeros(n, dtype=torch.bool, device=x.device)
    for rows in row_chunks(n, n, n_blocks=3):
        dx = space_dists(x[rows], x, metric)  # (chunk, N)
        within = dx.masked_fill(labels[rows, None] != labels[None, :], math.inf)
        nearest = torch.topk(within, min(k + 1, n), dim=1, largest=False).values  # self first
        rho = nearest.gather(1, k_c[rows, None].clamp(max=nearest.shape[1] - 1))
        zero = rho[:, 0] == 0
        k_i = torch.where(zero, (within == 0).sum(1) - 1, k_c[rows]).clamp_min(1)
        n_x = (dx <= rho).sum(1) - 1
        terms[rows] = (
            torch.special.digamma(k_i.double()) + math.log(n) - torch.log1p(n_x.double()) - sizes[rows].double().log()
        )
        tied[rows] = zero
    kept = int(keep.sum())
    return float(terms[keep].mean()), {"tied_share": float(tied[keep].sum()) / kept, "dropped_singletons": n - kept}
