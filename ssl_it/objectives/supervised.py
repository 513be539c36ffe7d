"""The supervised reference: cross-entropy on the labels through the backbone."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from typing_extensions import override

from ssl_it import checks
from ssl_it.objectives.base import Objective, full_precision
from ssl_it.objectives.heads import MLPHead


@full_precision
def cross_entropy_loss(logits: torch.Tensor, labels: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
    """``-1/N sum_i sum_c q_ic log softmax(logits_i)_c`` with ``q_i`` the
    one-hot label smoothed by ``label_smoothing`` (Szegedy et al., 2016,
    arXiv:1512.00567). Shapes ``(batch, classes)`` and ``(batch,)``; nats."""
    if logits.dim() != 2 or labels.shape != logits.shape[:1]:
        raise ValueError(
            f"logits, labels: expected (batch, classes) and (batch,), got "
            f"{tuple(logits.shape)} and {tuple(labels.shape)}"
        )
    return F.cross_entropy(logits.float(), labels, label_smoothing=label_smoothing)


class Supervised(Objective):
    """Cross-entropy through the same backbone: the reference that the SSL
    information planes are compared against.

    ``projector`` is the identity (default) or ``Linear-BN-ReLU`` layers of
    widths ``hidden_dims``; ``classifier`` is a linear layer to the classes.
    With several views the loss averages over them.

    Args:
        in_dim: backbone feature width.
        num_classes: number of classes (given from the data at run time: ``needs_num_classes``).
        hidden_dims: projector widths (default [] = identity).
        label_smoothing: in [0, 1) (default 0).
    """

    needs_labels = True
    needs_num_classes = True
    min_views = 1

    def __init__(
        self,
        in_dim: int,
        num_classes: int,
        hidden_dims: Sequence[int] = (),
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__()
        checks.integer("in_dim", in_dim)
        checks.integer("num_classes", num_classes, minimum=2)
        hidden = checks.widths("hidden_dims", hidden_dims)
        checks.number("label_smoothing", label_smoothing, 0.0, 1.0, open_high=True)
        self.label_smoothing = label_smoothing
        if hidden:
            mlp = MLPHead(in_dim, hidden[:-1], hidden[-1], last_batch_norm=True, last_bias=False)
            self.projector: nn.Module = nn.Sequential(mlp, nn.ReLU())
        else:
            self.projector = nn.Identity()
        self.classifier = nn.Linear(hidden[-1] if hidden else in_dim, num_classes)

    def probe_heads(self) -> list[nn.Module]:
        """The classifier, after the projector: ``objective.classifier`` is a layer to measure."""
        return [self.classifier]

    @override
    def loss(
        self,
        features: list[torch.Tensor],
        views: list[torch.Tensor],
        labels: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        if labels is None:
            raise ValueError("labels: the supervised objective needs the (batch,) class labels")
        logits = [self.classifier(self.projector(f)) for f in features]
        ce = torch.stack([cross_entropy_loss(lg, labels, self.label_smoothing) for lg in logits]).mean()
        acc = (logits[0].argmax(dim=1) == labels).float().mean()
        return {"loss": ce, "cross_entropy": ce.detach(), "accuracy": acc}
