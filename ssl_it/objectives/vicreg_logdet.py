"""VICReg with a log-determinant entropy term in place of variance + covariance.

Shwartz-Ziv, Balestriero, Kawaguchi, Rudner & LeCun (2023), "An
Information-Theoretic Perspective on Variance-Invariance-Covariance
Regularization", arXiv:2303.00633, read VICReg's variance and covariance
terms as a proxy for the entropy of the embedding and suggest maximising an
entropy estimate directly. Here the estimate is the Gaussian (log-det)
entropy of the regularised batch covariance; this is our reading of that
suggestion, not code from the paper.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from typing_extensions import override

from ssl_it import checks
from ssl_it.objectives.base import ViewPairObjective, check_embeddings, full_precision
from ssl_it.objectives.heads import MLPHead
from ssl_it.objectives.vicreg import invariance_loss


@full_precision
def logdet_entropy(z: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    """Gaussian entropy of the batch: ``H = 1/2 log det(2 pi e (C + eps I))``.

    ``C`` is the unbiased batch covariance; ``eps I`` keeps the determinant
    finite when the batch is rank deficient (batch <= dim or collapse).
    Computed in float64 through a Cholesky factor.

    Shwartz-Ziv et al. (2023), arXiv:2303.00633 (entropy view of VICReg);
    Cover & Thomas, Elements of Information Theory, Thm 8.4.1 (Gaussian
    entropy).

    Args:
        z: ``(batch, dim)``, batch >= 2.
        eps: ridge added to the covariance, > 0.

    Returns:
        Scalar entropy in nats (of the whole ``dim``-vector).
    """
    check_embeddings(z, z)
    checks.positive("eps", eps)
    z = z.double()
    n, d = z.shape
    zc = z - z.mean(dim=0)
    cov = zc.T @ zc / (n - 1) + eps * torch.eye(d, dtype=z.dtype, device=z.device)
    logdet = 2 * torch.log(torch.diagonal(torch.linalg.cholesky(cov))).sum()
    return (0.5 * (d * math.log(2 * math.pi * math.e) + logdet)).float()


def vicreg_logdet_loss(
    z1: torch.Tensor,
    z2: torch.Tensor,
    sim_coeff: float = 25.0,
    logdet_coeff: float = 25.0,
    eps: float = 1e-3,
) -> dict[str, torch.Tensor]:
    """``lambda s(Z,Z') - alpha [H(Z) + H(Z')] / (2 d)``.

    ``s`` is VICReg's invariance (MSE), ``H`` :func:`logdet_entropy`; the
    entropy is divided by ``dim`` so that ``alpha = logdet_coeff`` weighs
    nats per dimension whatever the width.

    Args:
        z1: ``(batch, dim)``, batch >= 2.
        z2: ``(batch, dim)``.
        sim_coeff: lambda.
        logdet_coeff: alpha.
        eps: covariance ridge.

    Returns:
        ``{"loss", "invariance", "entropy"}``; ``entropy`` is the unweighted
        mean of the two views' entropies in nats.
    """
    check_embeddings(z1, z2)
    inv = invariance_loss(z1, z2)
    ent = (logdet_entropy(z1, eps) + logdet_entropy(z2, eps)) / 2
    loss = sim_coeff * inv - logdet_coeff * ent / z1.shape[1]
    return {"loss": loss, "invariance": inv, "entropy": ent}


class VICRegLogDet(ViewPairObjective):
    """VICReg whose variance and covariance terms are replaced by the log-det
    entropy of each view's embedding.

    Args:
        in_dim: backbone feature width.
        hidden_dims: expander hidden widths (default config [1024, 1024]).
        out_dim: embedding width (default config 1024).
        sim_coeff: invariance weight (VICReg's 25).
        logdet_coeff: weight of the per-dimension entropy (25, VICReg's
            variance weight, so the two act at a comparable scale).
        eps: covariance ridge (1e-3).
    """

    def __init__(
        self,
        in_dim: int,
        hidden_dims: Sequence[int] = (1024, 1024),
        out_dim: int = 1024,
        sim_coeff: float = 25.0,
        logdet_coeff: float = 25.0,
        eps: float = 1e-3,
    ) -> None:
        super().__init__()
        checks.positive("sim_coeff", sim_coeff, allow_zero=True)
        checks.positive("logdet_coeff", logdet_coeff, allow_zero=True)
        checks.positive("eps", eps)
        self.sim_coeff, self.logdet_coeff, self.eps = sim_coeff, logdet_coeff, eps
        self.projector = MLPHead(in_dim, hidden_dims, out_dim)

    @override
    def pair_loss(self, z1: torch.Tensor, z2: torch.Tensor) -> dict[str, torch.Tensor]:
        return vicreg_logdet_loss(z1, z2, self.sim_coeff, self.logdet_coeff, self.eps)
