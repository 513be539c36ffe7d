"""The contract between the LightningModule and every SSL objective.

An objective owns everything after the backbone: projector, predictor,
prototypes, momentum teacher, queues. The module only runs the student
backbone on the views and hands the features over.
"""

from __future__ import annotations

import torch
from torch import nn


class Objective(nn.Module):
    """Base class of the SSL objectives (and of the supervised reference).

    Subclasses implement :meth:`forward`; the hooks below default to no-ops.

    Attributes:
        needs_labels: ``True`` when the loss uses the labels (supervised).
        min_views: the smallest number of views the objective accepts.
    """

    needs_labels: bool = False
    min_views: int = 2

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("progress", torch.zeros(()), persistent=True)

    def attach_backbone(self, backbone: nn.Module) -> None:
        """Called once by the module after construction, before the optimiser
        exists: momentum objectives deep-copy the backbone into a frozen
        teacher here (its parameters must have ``requires_grad=False``)."""

    def set_progress(self, step: int, total_steps: int) -> None:
        """Called by the module before every training step; schedules
        (momentum, teacher temperature) read ``self.progress`` in [0, 1]."""
        self.progress.fill_(min(max(step / max(total_steps, 1), 0.0), 1.0))

    @torch.no_grad()
    def after_optimizer_step(self, backbone: nn.Module) -> None:
        """Called by the module after each optimiser step (EMA teacher update)."""

    def forward(
        self,
        features: list[torch.Tensor],
        views: list[torch.Tensor],
        labels: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """Compute the loss of one batch.

        Args:
            features: student backbone features, one ``(batch, in_dim)`` tensor
                per view (global views first, then local crops).
            views: the augmented images those features came from, same order;
                only momentum teachers run them through their own backbone.
            labels: ``(batch,)`` integer class labels (only ``needs_labels``
                objectives may use them).

        Returns:
            ``{"loss": weighted total, <term>: unweighted term, ...}``; every
            value is a scalar tensor.
        """
        raise NotImplementedError
