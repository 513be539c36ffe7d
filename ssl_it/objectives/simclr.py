"""SimCLR: NT-Xent between two views, negatives from the (global) batch."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from typing_extensions import override

from ssl_it import checks
from ssl_it.objectives.base import ViewPairObjective, check_embeddings, full_precision
from ssl_it.objectives.heads import MLPHead


@full_precision
def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> torch.Tensor:
    """Normalised-temperature cross-entropy (NT-Xent) of two views.

    With ``u`` the 2N L2-normalised rows of ``[z1; z2]``, ``s_ij = u_i . u_j``
    and ``p(i)`` the index of ``i``'s other view:

        L = -1/(2N) sum_i log( exp(s_{i,p(i)}/tau) / sum_{k != i} exp(s_ik/tau) )

    Each anchor has ``2N - 1`` candidates, so ``log(2N - 1) - L`` is the
    InfoNCE lower bound on I(Z1;Z2) in nats.

    Chen, Kornblith, Norouzi & Hinton (2020), "A Simple Framework for
    Contrastive Learning of Visual Representations", arXiv:2002.05709.

    Args:
        z1: ``(batch, dim)`` embeddings of view 1 (any scale; normalised here).
        z2: ``(batch, dim)`` embeddings of view 2, row i pairs with z1's row i.
        temperature: ``tau > 0``.

    Returns:
        Scalar loss in nats.
    """
    check_embeddings(z1, z2)
    checks.positive("temperature", temperature)
    n = z1.shape[0]
    u = F.normalize(torch.cat([z1, z2]).float(), dim=1)  # (2N, dim)
    logits = u @ u.T / temperature  # (2N, 2N)
    self_mask = torch.eye(2 * n, dtype=torch.bool, device=u.device)
    logits = logits.masked_fill(self_mask, float("-inf"))
    idx = torch.arange(n, device=u.device)
    targets = torch.cat([idx + n, idx])
    return F.cross_entropy(logits, targets)


class SimCLR(ViewPairObjective):
    """SimCLR: MLP projector + NT-Xent, averaged over all pairs of views.

    Args:
        in_dim: backbone feature width.
        hidden_dims: projector hidden widths (paper: one layer of 2048 on
            ResNet-50; default config: [512] for the 128-d convnet).
        out_dim: embedding width (paper: 128).
        temperature: NT-Xent temperature (paper's CIFAR-10 setting: 0.5).
    """

    def __init__(
        self,
        in_dim: int,
        hidden_dims: Sequence[int] = (512,),
        out_dim: int = 128,
        temperature: float = 0.5,
    ) -> None:
        super().__init__()
        checks.positive("temperature", temperature)
        self.temperature = temperature
        self.projector = MLPHead(in_dim, hidden_dims, out_dim)

    @override
    def pair_loss(self, z1: torch.Tensor, z2: torch.Tensor) -> dict[str, torch.Tensor]:
        loss = nt_xent(z1, z2, self.temperature)
        n_candidates = 2 * z1.shape[0] - 1
        return {
            "loss": loss,
            "nt_xent": loss.detach(),
            "nce_mi_lower_bound": math.log(n_candidates) - loss.detach(),
        }
