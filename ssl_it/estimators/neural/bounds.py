"""Variational MI bounds as functions of a critic score matrix.

``scores`` is ``(B, B)`` with ``scores[i, j] = f(x_i, y_j)``: the diagonal
holds samples of the joint p(x, y), the off-diagonal entries samples of the
product of marginals p(x) p(y). All values in nats.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def log_mean_exp(v: torch.Tensor) -> torch.Tensor:
    """``log mean exp(v)`` over all entries, computed stably."""
    return torch.logsumexp(v.flatten(), 0) - math.log(v.numel())


def dv_bound(joint: torch.Tensor, marginal: torch.Tensor) -> torch.Tensor:
    """Donsker–Varadhan: ``E_p[f] - log E_q[e^f]`` (Belghazi et al. 2018, arXiv:1801.04062)."""
    return joint.mean() - log_mean_exp(marginal)


def nwj_bound(joint: torch.Tensor, marginal: torch.Tensor) -> torch.Tensor:
    """NWJ / f-divergence: ``E_p[f] - E_q[e^(f - 1)]`` (Nguyen, Wainwright & Jordan 2010, arXiv:0809.0853)."""
    return joint.mean() - torch.exp(log_mean_exp(marginal) - 1.0)


def infonce_bound(scores: torch.Tensor) -> torch.Tensor:
    """InfoNCE: ``mean_i [f_ii - log 1/B sum_j e^f_ij]`` <= log B (van den Oord et al. 2018, arXiv:1807.03748)."""
    b = scores.shape[0]
    return (torch.diagonal(scores) - torch.logsumexp(scores, dim=1)).mean() + math.log(b)


def js_objective(joint: torch.Tensor, marginal: torch.Tensor) -> torch.Tensor:
    """Jensen–Shannon (f-GAN / DIM) objective ``E_p[-sp(-f)] - E_q[sp(f)]`` (Hjelm et al. 2019, arXiv:1808.06670).

    Its maximiser is ``f* = log p(x,y) / (p(x) p(y))``; the MI is then read
    with :func:`nwj_bound` on ``f + 1`` (Poole et al. 2019, arXiv:1905.06922).
    """
    return -F.softplus(-joint).mean() - F.softplus(marginal).mean()


def smile_estimate(joint: torch.Tensor, marginal: torch.Tensor, clip: float) -> torch.Tensor:
    """SMILE: DV with ``e^f`` clipped to ``[e^-clip, e^clip]`` in the partition term.

    Song & Ermon 2020, arXiv:1910.06222.
    """
    return joint.mean() - log_mean_exp(marginal.clamp(-clip, clip))
