"""SimSiam: predict the stop-gradient projection of another view."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from typing_extensions import override

from ssl_it import checks
from ssl_it.objectives.base import (
    Objective,
    check_embeddings,
    count_global_views,
    full_precision,
    mean_over_target_pairs,
)
from ssl_it.objectives.heads import MLPHead


@full_precision
def simsiam_loss(p: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """Negative cosine similarity with stop-gradient on the target:
    ``D(p, z) = -1/N sum_i cos(p_i, stopgrad(z_i))``.

    Chen & He (2021), "Exploring Simple Siamese Representation Learning",
    arXiv:2011.10566, Eq. 1-3.

    Args:
        p: ``(batch, dim)`` predictions.
        z: ``(batch, dim)`` projections (detached here).

    Returns:
        Scalar in [-1, 1].
    """
    check_embeddings(p, z, min_batch=1)
    return -F.cosine_similarity(p.float(), z.detach().float(), dim=1).mean()


class SimSiam(Objective):
    """SimSiam: projector (BN on its output) + bottleneck predictor.

    Loss ``D(p1, z2)/2 + D(p2, z1)/2``, i.e. averaged over every (view, other
    global view) pair.

    Args:
        in_dim: backbone feature width.
        hidden_dims: projector hidden widths (paper's CIFAR variant: 2 layers,
            [2048]; config [512]).
        out_dim: projection width (paper 2048; config 512).
        predictor_hidden_dim: predictor bottleneck (paper 512 = out_dim/4;
            config 128).
    """

    def __init__(
        self,
        in_dim: int,
        hidden_dims: Sequence[int] = (512,),
        out_dim: int = 512,
        predictor_hidden_dim: int = 128,
    ) -> None:
        super().__init__()
        checks.integer("predictor_hidden_dim", predictor_hidden_dim)
        self.projector = MLPHead(in_dim, hidden_dims, out_dim, last_batch_norm=True, last_affine=False, last_bias=False)
        self.predictor = MLPHead(out_dim, [predictor_hidden_dim], out_dim)

    @override
    def loss(
        self,
        features: list[torch.Tensor],
        views: list[torch.Tensor],
        labels: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        n_global = count_global_views(views)
        z = [self.projector(f) for f in features]
        p = [self.predictor(zi) for zi in z]
        loss = mean_over_target_pairs(simsiam_loss, p, z[:n_global])
        return {"loss": loss, "neg_cosine": loss.detach()}
