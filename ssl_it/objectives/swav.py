"""SwAV: swapped prediction of Sinkhorn-Knopp cluster assignments."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from typing_extensions import override

from ssl_it import checks
from ssl_it.objectives.base import Objective, count_global_views, full_precision, view_pairs
from ssl_it.objectives.distributed import gather, local_rows
from ssl_it.objectives.heads import MLPHead


@torch.no_grad()
@full_precision
def sinkhorn_knopp(scores: torch.Tensor, epsilon: float = 0.05, iterations: int = 3) -> torch.Tensor:
    """Equipartitioned soft assignments of samples to prototypes.

    Starting from ``Q = exp(S / eps)^T`` (K x B), alternately rescale rows to
    sum ``1/K`` and columns to sum ``1/B``; return ``B Q^T`` so each row (a
    sample's code) sums to 1 and every prototype receives ``B/K`` mass.

    Caron et al. (2020), "Unsupervised Learning of Visual Features by
    Contrasting Cluster Assignments", arXiv:2006.09882, Sec. 3.1 and Alg. 1;
    Cuturi (2013), arXiv:1306.0895.

    Args:
        scores: ``(batch, K)`` prototype scores ``z . c_k`` (all rows that
            share the equipartition constraint: the global batch, plus the
            queue when one is used).
        epsilon: entropic regularisation, > 0 (paper 0.05).
        iterations: number of row/column normalisation rounds (paper 3).

    Returns:
        ``(batch, K)`` codes, non-negative, rows summing to 1.
    """
    checks.positive("epsilon", epsilon)
    checks.integer("iterations", iterations)
    s = scores.double() / epsilon
    q = torch.exp(s - s.max()).T  # (K, B); shifting by the max changes nothing after normalising
    k, b = q.shape
    q /= q.sum()
    for _ in range(iterations):
        q /= q.sum(dim=1, keepdim=True)
        q /= k
        q /= q.sum(dim=0, keepdim=True)
        q /= b
    return (q * b).T.float()


@full_precision
def prototype_scores(z: torch.Tensor, prototypes: torch.Tensor) -> torch.Tensor:
    """``S = z C^T`` in float32: ``(batch, dim) x (K, dim) -> (batch, K)``."""
    return z.float() @ prototypes.float().T


@full_precision
def swav_loss(scores: list[torch.Tensor], codes: list[torch.Tensor], temperature: float = 0.1) -> torch.Tensor:
    """Swapped prediction: each view predicts the codes of every other global view.

        L = mean over pairs (s != t) of -1/N sum_i q_t,i . log softmax(z_s,i C^T / tau)

    Caron et al. (2020), SwAV, arXiv:2006.09882, Eq. 1-2.

    Args:
        scores: one ``(batch, K)`` score tensor per view (global first).
        codes: one ``(batch, K)`` code tensor per global view (no gradient).
        temperature: tau > 0 (paper 0.1).

    Returns:
        Scalar loss in nats.
    """
    if not codes or len(scores) < 2:
        raise ValueError("scores, codes: need >= 2 views and >= 1 code")
    log_p = [F.log_softmax(s.float() / temperature, dim=1) for s in scores]
    pairs = view_pairs(len(log_p), len(codes))
    return torch.stack([-(codes[t].detach() * log_p[s]).sum(dim=1).mean() for s, t in pairs]).mean()


class SwAV(Objective):
    """SwAV: projector, L2-normalised prototypes, Sinkhorn codes on the global
    views, optional queue of past embeddings, multi-crop.

    Prototypes are L2-normalised after every optimiser step and receive no
    gradient for the first ``freeze_prototypes_fraction`` of training.

    Args:
        in_dim: backbone feature width.
        hidden_dims: projector hidden widths (paper [2048]; config [512]).
        out_dim: embedding width (paper 128).
        num_prototypes: K (paper 3000 for ImageNet; config 100 for MNIST).
        temperature: tau (paper 0.1).
        epsilon: Sinkhorn regularisation (paper 0.05).
        sinkhorn_iterations: (paper 3).
        queue_size: past global-view embeddings added to Sinkhorn's input
            (paper 3840 for small batches; config 0 = off). Unlike the
            authors' per-view queues, one queue holds every global view.
        queue_start_fraction: use the queue once this fraction of training
            has passed and the queue is full (paper: epoch 15).
        freeze_prototypes_fraction: (paper: about the first epoch; config 0.01).
    """

    queue: torch.Tensor
    queue_filled: torch.Tensor

    def __init__(
        self,
        in_dim: int,
        hidden_dims: Sequence[int] = (512,),
        out_dim: int = 128,
        num_prototypes: int = 100,
        temperature: float = 0.1,
        epsilon: float = 0.05,
        sinkhorn_iterations: int = 3,
        queue_size: int = 0,
        queue_start_fraction: float = 0.15,
        freeze_prototypes_fraction: float = 0.01,
    ) -> None:
        super().__init__()
        checks.integer("num_prototypes", num_prototypes)
        checks.positive("temperature", temperature)
        checks.positive("epsilon", epsilon)
        checks.integer("sinkhorn_iterations", sinkhorn_iterations)
        checks.integer("queue_size", queue_size, minimum=0)
        checks.number("queue_start_fraction", queue_start_fraction, 0.0, 1.0)
        checks.number("freeze_prototypes_fraction", freeze_prototypes_fraction, 0.0, 1.0)
        self.temperature, self.epsilon = temperature, epsilon
        self.sinkhorn_iterations = sinkhorn_iterations
        self.queue_size = queue_size
        self.queue_start_fraction = queue_start_fraction
        self.freeze_prototypes_fraction = freeze_prototypes_fraction
        self.projector = MLPHead(in_dim, hidden_dims, out_dim)
        self.prototypes = nn.Parameter(F.normalize(torch.randn(num_prototypes, out_dim), dim=1))
        # past global-view embeddings, newest first (one queue shared by the views)
        self.register_buffer("queue", torch.zeros(queue_size, out_dim))
        self.register_buffer("queue_filled", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    @override
    def after_optimizer_step(self, backbone: nn.Module) -> None:
        self.prototypes.copy_(F.normalize(self.prototypes, dim=1))

    def _codes(self, scores: torch.Tensor, queue_scores: torch.Tensor | None) -> torch.Tensor:
        n = scores.shape[0]
        # Gather here: the equipartition constraint holds over the global batch
        # (and every rank's queue); each rank then keeps its own rows.
        rows = scores if queue_scores is None else torch.cat([queue_scores, scores])
        codes = sinkhorn_knopp(gather(rows.detach()), self.epsilon, self.sinkhorn_iterations)
        own = local_rows(rows.shape[0])
        return codes[own][-n:]

    def _use_queue(self) -> bool:
        return (
            self.queue_size > 0
            and bool(self.queue_filled >= self.queue_size)
            and float(self.progress) >= self.queue_start_fraction
        )

    @torch.no_grad()
    def _enqueue(self, z: torch.Tensor) -> None:
        n = min(z.shape[0], self.queue_size)
        self.queue.copy_(torch.cat([z[:n].to(self.queue.dtype), self.queue[: self.queue_size - n]]))
        self.queue_filled.add_(n)

    @override
    def loss(
        self,
        features: list[torch.Tensor],
        views: list[torch.Tensor],
        labels: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        n_global = count_global_views(views)
        z = [F.normalize(self.projector(f), dim=1) for f in features]
        frozen = self.progress < self.freeze_prototypes_fraction
        protos = torch.where(frozen, self.prototypes.detach(), self.prototypes)
        scores = [prototype_scores(zi, protos) for zi in z]  # (batch, K) per view
        use_queue = self._use_queue()
        codes = []
        queue_scores = prototype_scores(self.queue, protos.detach()) if use_queue else None
        for i in range(n_global):
            codes.append(self._codes(scores[i], queue_scores))
        loss = swav_loss(scores, codes, self.temperature)
        if self.training and self.queue_size > 0:
            self._enqueue(torch.cat(z[:n_global]).detach())
        return {"loss": loss, "swapped_prediction": loss.detach()}
