"""Generic multi-view InfoNCE with a choice of critic."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn
from typing_extensions import override

from ssl_it import checks
from ssl_it.objectives.base import ViewPairObjective, check_embeddings, full_precision
from ssl_it.objectives.heads import MLPHead

Critic = Literal["cosine", "dot", "bilinear", "neg_l2"]
CRITICS: tuple[str, ...] = ("cosine", "dot", "bilinear", "neg_l2")


@full_precision
def critic_scores(
    z1: torch.Tensor,
    z2: torch.Tensor,
    critic: Critic,
    temperature: float,
    weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """Score matrix ``S_ij = f(z1_i, z2_j) / tau`` of a separable critic.

    Critics: ``cosine`` (``u_i . v_j`` on L2-normalised rows, SimCLR/CPC),
    ``dot`` (``z1_i . z2_j``), ``bilinear`` (``u_i W v_j`` on L2-normalised
    rows, CPC's log-bilinear critic made scale-free so that ``W`` sets the
    scale; needs ``weight`` of shape ``(dim, dim)``), ``neg_l2``
    (``-||z1_i - z2_j||^2``).

    Args:
        z1: ``(batch, dim)``.
        z2: ``(batch, dim)``.
        critic: one of ``CRITICS``.
        temperature: ``tau > 0``.
        weight: the bilinear critic's ``(dim, dim)`` matrix.

    Returns:
        ``(batch, batch)`` scores.
    """
    checks.choice("critic", critic, CRITICS)
    checks.positive("temperature", temperature)
    z1, z2 = z1.float(), z2.float()
    if critic == "cosine":
        s = F.normalize(z1, dim=1) @ F.normalize(z2, dim=1).T
    elif critic == "dot":
        s = z1 @ z2.T
    elif critic == "bilinear":
        if weight is None:
            raise ValueError("weight: the bilinear critic needs a (dim, dim) weight")
        s = F.normalize(z1, dim=1) @ weight.float() @ F.normalize(z2, dim=1).T
    else:
        s = -torch.cdist(z1, z2).pow(2)
    return s / temperature


@full_precision
def info_nce(scores: torch.Tensor) -> torch.Tensor:
    """InfoNCE loss of a score matrix whose diagonal holds the positives.

        L = -1/N sum_i log( exp(S_ii) / sum_j exp(S_ij) )

    ``log(N) - L`` lower-bounds I(Z1;Z2) in nats and can never exceed
    ``log N`` (Poole et al., 2019, arXiv:1905.06922).

    van den Oord, Li & Vinyals (2018), "Representation Learning with
    Contrastive Predictive Coding", arXiv:1807.03748.

    Args:
        scores: ``(batch, batch)`` critic scores, row i anchored at sample i.

    Returns:
        Scalar loss in nats.
    """
    if scores.dim() != 2 or scores.shape[0] != scores.shape[1] or scores.shape[0] < 2:
        raise ValueError(f"scores: expected a square (batch, batch) matrix with batch >= 2, got {tuple(scores.shape)}")
    return F.cross_entropy(scores, torch.arange(scores.shape[0], device=scores.device))


def info_nce_views(
    z1: torch.Tensor,
    z2: torch.Tensor,
    critic: Critic = "cosine",
    temperature: float = 0.1,
    weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """Symmetric InfoNCE between two views: ``(L(z1 -> z2) + L(z2 -> z1)) / 2``
    with :func:`critic_scores` and :func:`info_nce`. Shapes ``(batch, dim)``;
    nats."""
    check_embeddings(z1, z2)
    s12 = critic_scores(z1, z2, critic, temperature, weight)
    s21 = critic_scores(z2, z1, critic, temperature, weight)
    return (info_nce(s12) + info_nce(s21)) / 2


class InfoNCELoss(ViewPairObjective):
    """Multi-view InfoNCE: symmetric InfoNCE averaged over all pairs of views,
    candidates = the global batch of the other view.

    Args:
        in_dim: backbone feature width.
        hidden_dims: projector hidden widths.
        out_dim: embedding width.
        critic: ``cosine``, ``dot``, ``bilinear`` (learned ``W``, initialised
            to the identity) or ``neg_l2``.
        temperature: scores are divided by it (CPC/SimCLR-style: 0.1).
    """

    def __init__(
        self,
        in_dim: int,
        hidden_dims: Sequence[int] = (512,),
        out_dim: int = 128,
        critic: Critic = "cosine",
        temperature: float = 0.1,
    ) -> None:
        super().__init__()
        checks.choice("critic", critic, CRITICS)
        checks.positive("temperature", temperature)
        self.critic = critic
        self.temperature = temperature
        self.projector = MLPHead(in_dim, hidden_dims, out_dim)
        self.critic_weight = nn.Parameter(torch.eye(out_dim)) if critic == "bilinear" else None

    @override
    def pair_loss(self, z1: torch.Tensor, z2: torch.Tensor) -> dict[str, torch.Tensor]:
        loss = info_nce_views(z1, z2, self.critic, self.temperature, self.critic_weight)
        return {
            "loss": loss,
            "info_nce": loss.detach(),
            "nce_mi_lower_bound": math.log(z1.shape[0]) - loss.detach(),
        }
