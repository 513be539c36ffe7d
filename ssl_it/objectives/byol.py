"""BYOL: predict an EMA teacher's projection of another view."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from typing_extensions import override

from ssl_it import checks
from ssl_it.objectives.base import check_embeddings, count_global_views, full_precision, mean_over_target_pairs
from ssl_it.objectives.heads import MLPHead
from ssl_it.objectives.momentum import MomentumObjective


@full_precision
def byol_loss(p: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """``1/N sum_i || p_i/|p_i| - z_i/|z_i| ||^2 = 2 - 2 mean_i cos(p_i, z_i)``.

    ``z`` is the teacher's target and carries no gradient (detached here).

    Grill et al. (2020), "Bootstrap Your Own Latent", arXiv:2006.07733, Eq. 2.

    Args:
        p: ``(batch, dim)`` online predictions.
        z: ``(batch, dim)`` target projections.

    Returns:
        Scalar in [0, 4].
    """
    check_embeddings(p, z, min_batch=1)
    return 2 - 2 * F.cosine_similarity(p.float(), z.detach().float(), dim=1).mean()


class BYOL(MomentumObjective):
    """BYOL: online projector + predictor, EMA teacher (backbone + projector).

    The loss is averaged (the paper sums the two symmetric terms) over every
    (student view, other global teacher view) pair, so it covers multi-crop.

    Args:
        in_dim: backbone feature width.
        hidden_dims: projector hidden widths (paper [4096]; config [1024]).
        out_dim: projection width (paper 256).
        predictor_hidden_dims: predictor hidden widths (paper [4096]; config [1024]).
        base_momentum: teacher EMA momentum at the start (paper 0.996).
        final_momentum: at the end, reached by a cosine schedule (paper 1.0).
    """

    def __init__(
        self,
        in_dim: int,
        hidden_dims: Sequence[int] = (1024,),
        out_dim: int = 256,
        predictor_hidden_dims: Sequence[int] = (1024,),
        base_momentum: float = 0.996,
        final_momentum: float = 1.0,
    ) -> None:
        super().__init__(base_momentum, final_momentum)
        checks.widths("predictor_hidden_dims", predictor_hidden_dims)
        self.projector = MLPHead(in_dim, hidden_dims, out_dim)
        self.predictor = MLPHead(out_dim, predictor_hidden_dims, out_dim)
        self._init_teacher_head()

    @override
    def loss(
        self,
        features: list[torch.Tensor],
        views: list[torch.Tensor],
        labels: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        n_global = count_global_views(views)
        p = [self.predictor(self.projector(f)) for f in features]
        loss = mean_over_target_pairs(byol_loss, p, self.teacher_forward(views[:n_global]))
        return {"loss": loss, "byol": loss.detach()}
