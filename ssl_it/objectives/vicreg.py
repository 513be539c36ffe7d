"""VICReg: variance-invariance-covariance regularisation."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from typing_extensions import override

from ssl_it import checks
from ssl_it.linalg import off_diagonal
from ssl_it.objectives.base import ViewPairObjective, check_embeddings, full_precision
from ssl_it.objectives.heads import MLPHead


@full_precision
def invariance_loss(z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
    """Invariance term ``s(Z, Z') = 1/(N d) sum_i ||z_i - z'_i||^2`` (mean
    squared error). Bardes, Ponce & LeCun (2022), VICReg, arXiv:2105.04906.
    Shapes ``(batch, dim)``."""
    check_embeddings(z1, z2, min_batch=1)
    return F.mse_loss(z1.float(), z2.float())


@full_precision
def variance_loss(z: torch.Tensor, eps: float = 1e-4, gamma: float = 1.0) -> torch.Tensor:
    """Variance term ``v(Z) = 1/d sum_j max(0, gamma - sqrt(Var(z^j) + eps))``
    with the unbiased variance over the batch. Bardes, Ponce & LeCun (2022),
    VICReg, arXiv:2105.04906. Shape ``(batch, dim)``, batch >= 2."""
    check_embeddings(z, z)
    std = torch.sqrt(z.float().var(dim=0) + eps)
    return F.relu(gamma - std).mean()


@full_precision
def covariance_loss(z: torch.Tensor) -> torch.Tensor:
    """Covariance term ``c(Z) = 1/d sum_{i != j} C(Z)_ij^2`` with
    ``C(Z) = 1/(N-1) sum_n (z_n - zbar)(z_n - zbar)^T``. Bardes, Ponce & LeCun
    (2022), VICReg, arXiv:2105.04906. Shape ``(batch, dim)``, batch >= 2."""
    check_embeddings(z, z)
    z = z.float()
    n, d = z.shape
    zc = z - z.mean(dim=0)
    cov = zc.T @ zc / (n - 1)  # (d, d)
    return off_diagonal(cov).pow(2).sum() / d


@full_precision
def vicreg_loss(
    z1: torch.Tensor,
    z2: torch.Tensor,
    sim_coeff: float = 25.0,
    std_coeff: float = 25.0,
    cov_coeff: float = 1.0,
    eps: float = 1e-4,
) -> dict[str, torch.Tensor]:
    """VICReg loss ``lambda s(Z,Z') + mu [v(Z) + v(Z')]/2 + nu [c(Z) + c(Z')]``.

    As in the authors' code the variance term averages the two views and the
    covariance term sums them. ``lambda, mu, nu`` = ``sim_coeff, std_coeff,
    cov_coeff``.

    Bardes, Ponce & LeCun (2022), "VICReg: Variance-Invariance-Covariance
    Regularization for Self-Supervised Learning", arXiv:2105.04906.

    Args:
        z1: ``(batch, dim)`` embeddings of view 1, batch >= 2.
        z2: ``(batch, dim)`` embeddings of view 2.
        sim_coeff: weight of the invariance term (lambda).
        std_coeff: weight of the variance term (mu).
        cov_coeff: weight of the covariance term (nu).
        eps: added to the variance under the square root.

    Returns:
        ``{"loss", "invariance", "variance", "covariance"}`` (terms unweighted).
    """
    check_embeddings(z1, z2)  # the pair: same shape, batch >= 2
    inv = invariance_loss(z1, z2)
    var = (variance_loss(z1, eps) + variance_loss(z2, eps)) / 2
    cov = covariance_loss(z1) + covariance_loss(z2)
    loss = sim_coeff * inv + std_coeff * var + cov_coeff * cov
    return {"loss": loss, "invariance": inv, "variance": var, "covariance": cov}


class VICReg(ViewPairObjective):
    """VICReg with its expander; the loss averaged over all pairs of views.

    Args:
        in_dim: backbone feature width.
        hidden_dims: expander hidden widths, Linear-BN-ReLU each (paper:
            [8192, 8192] on ResNet-50; default config [1024, 1024]).
        out_dim: embedding width (paper 8192; default config 1024).
        sim_coeff: lambda, invariance weight (paper 25).
        std_coeff: mu, variance weight (paper 25).
        cov_coeff: nu, covariance weight (paper 1).
        eps: variance epsilon (paper 1e-4).
    """

    def __init__(
        self,
        in_dim: int,
        hidden_dims: Sequence[int] = (1024, 1024),
        out_dim: int = 1024,
        sim_coeff: float = 25.0,
        std_coeff: float = 25.0,
        cov_coeff: float = 1.0,
        eps: float = 1e-4,
    ) -> None:
        super().__init__()
        for name, value in [("sim_coeff", sim_coeff), ("std_coeff", std_coeff), ("cov_coeff", cov_coeff)]:
            checks.positive(name, value, allow_zero=True)
        checks.positive("eps", eps)
        self.sim_coeff, self.std_coeff, self.cov_coeff, self.eps = (
            sim_coeff,
            std_coeff,
            cov_coeff,
            eps,
        )
        self.projector = MLPHead(in_dim, hidden_dims, out_dim)

    @override
    def pair_loss(self, z1: torch.Tensor, z2: torch.Tensor) -> dict[str, torch.Tensor]:
        return vicreg_loss(z1, z2, self.sim_coeff, self.std_coeff, self.cov_coeff, self.eps)
