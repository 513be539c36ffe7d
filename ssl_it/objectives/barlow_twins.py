"""Barlow Twins: push the cross-correlation of two views to the identity."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from typing_extensions import override

from ssl_it import checks
from ssl_it.linalg import off_diagonal
from ssl_it.objectives.base import ViewPairObjective, check_embeddings, full_precision
from ssl_it.objectives.heads import MLPHead


@full_precision
def batch_standardize(z: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """``(z - mean) / sqrt(var + eps)`` per column with the biased batch
    variance: what the authors' affine-free ``BatchNorm1d`` does in training.
    Shape ``(batch, dim)``."""
    z = z.float()
    return (z - z.mean(dim=0)) / torch.sqrt(z.var(dim=0, unbiased=False) + eps)


@full_precision
def cross_correlation(z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
    """``C_ij = 1/N sum_b zhat1_bi zhat2_bj`` of the batch-standardised views.
    Shapes ``(batch, dim) -> (dim, dim)``."""
    check_embeddings(z1, z2)
    return batch_standardize(z1).T @ batch_standardize(z2) / z1.shape[0]


def barlow_twins_loss(z1: torch.Tensor, z2: torch.Tensor, lambd: float = 0.0051) -> dict[str, torch.Tensor]:
    """Barlow Twins loss ``sum_i (1 - C_ii)^2 + lambda sum_{i != j} C_ij^2``.

    Zbontar, Jing, Misra, LeCun & Deny (2021), "Barlow Twins: Self-Supervised
    Learning via Redundancy Reduction", arXiv:2103.03230.

    Args:
        z1: ``(batch, dim)`` embeddings of view 1, batch >= 2.
        z2: ``(batch, dim)`` embeddings of view 2.
        lambd: lambda, the off-diagonal weight (paper 0.0051).

    Returns:
        ``{"loss", "invariance", "redundancy_reduction"}``: the unweighted
        on-diagonal and off-diagonal sums.
    """
    c = cross_correlation(z1, z2)
    on_diag = (torch.diagonal(c) - 1).pow(2).sum()
    off_diag = off_diagonal(c).pow(2).sum()
    return {
        "loss": on_diag + lambd * off_diag,
        "invariance": on_diag,
        "redundancy_reduction": off_diag,
    }


class BarlowTwins(ViewPairObjective):
    """Barlow Twins with its projector; the loss averaged over pairs of views.

    Args:
        in_dim: backbone feature width.
        hidden_dims: projector hidden widths, Linear-BN-ReLU (paper [8192,
            8192]; default config [1024, 1024]).
        out_dim: embedding width (paper 8192; default config 1024). The last
            layer has no bias, as in the authors' code.
        lambd: off-diagonal weight (paper 0.0051, tuned for 8192 dims).
    """

    def __init__(
        self,
        in_dim: int,
        hidden_dims: Sequence[int] = (1024, 1024),
        out_dim: int = 1024,
        lambd: float = 0.0051,
    ) -> None:
        super().__init__()
        checks.positive("lambd", lambd, allow_zero=True)
        self.lambd = lambd
        self.projector = MLPHead(in_dim, hidden_dims, out_dim, last_bias=False)

    @override
    def pair_loss(self, z1: torch.Tensor, z2: torch.Tensor) -> dict[str, torch.Tensor]:
        return barlow_twins_loss(z1, z2, self.lambd)
