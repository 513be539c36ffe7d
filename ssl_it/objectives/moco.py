"""MoCo: contrast queries with momentum-encoded keys (v2 queue or v3 batch)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from typing_extensions import override

from ssl_it import checks
from ssl_it.objectives.base import check_embeddings, count_global_views, full_precision, view_pairs
from ssl_it.objectives.distributed import gather
from ssl_it.objectives.heads import MLPHead
from ssl_it.objectives.momentum import MomentumObjective


@full_precision
def moco_loss(q: torch.Tensor, k: torch.Tensor, queue: torch.Tensor | None, temperature: float) -> torch.Tensor:
    """MoCo's InfoNCE of queries against keys, all L2-normalised here.

    With a queue (MoCo v2), each query has its own key as positive and the
    ``K`` queued keys as negatives:

        L = -1/N sum_i log( exp(q_i.k_i/tau) / (exp(q_i.k_i/tau) + sum_j exp(q_i.n_j/tau)) )

    Without (MoCo v3), the other keys of the batch are the negatives:
    ``L = -1/N sum_i log( exp(q_i.k_i/tau) / sum_j exp(q_i.k_j/tau) )``.
    Keys carry no gradient (detached here). MoCo v3's extra factor ``2 tau``
    is left out, so the value stays in nats.

    He, Fan, Wu, Xie & Girshick (2020), arXiv:1911.05722; Chen, Fan, Girshick
    & He (2020), arXiv:2003.04297 (v2); Chen, Xie & He (2021),
    arXiv:2104.02057 (v3).

    Args:
        q: ``(batch, dim)`` queries.
        k: ``(batch, dim)`` keys, row i is query i's positive.
        queue: ``(K, dim)`` negative keys, or ``None`` for in-batch negatives.
        temperature: ``tau > 0``.

    Returns:
        Scalar loss in nats.
    """
    check_embeddings(q, k)
    checks.positive("temperature", temperature)
    q = F.normalize(q.float(), dim=1)
    k = F.normalize(k.detach().float(), dim=1)
    if queue is None:
        logits = q @ k.T  # (N, N), positives on the diagonal
        targets = torch.arange(q.shape[0], device=q.device)
    else:
        pos = (q * k).sum(dim=1, keepdim=True)  # (N, 1)
        neg = q @ F.normalize(queue.detach().float(), dim=1).T  # (N, K)
        logits = torch.cat([pos, neg], dim=1)
        targets = torch.zeros(q.shape[0], dtype=torch.long, device=q.device)
    return F.cross_entropy(logits / temperature, targets)


class MoCo(MomentumObjective):
    """MoCo v2 (queue) / v3 (``queue_size=0``, predictor) with a momentum
    encoder (backbone + projector), symmetrised over view pairs.

    Queries come from every view, keys from the global views; after each
    training forward the (globally gathered) keys of the global views are
    enqueued, oldest first out. Shuffle-BN (v1/v2) is not implemented.

    Args:
        in_dim: backbone feature width.
        hidden_dims: projector hidden widths (v2: [2048]; config [512]).
        out_dim: embedding width (v2: 128).
        predictor_hidden_dims: query predictor hidden widths; ``[]`` = no
            predictor (v2), e.g. ``[512]`` for v3.
        temperature: tau (v2: 0.2).
        queue_size: number of queued negatives K (v2: 65536, config 4096 for
            the 5k-image default set); 0 = in-batch negatives (v3).
        base_momentum: key-encoder momentum at the start (v3: 0.99).
        final_momentum: at the end, cosine schedule (v3: 1.0).
    """

    queue: torch.Tensor
    queue_ptr: torch.Tensor

    def __init__(
        self,
        in_dim: int,
        hidden_dims: Sequence[int] = (512,),
        out_dim: int = 128,
        predictor_hidden_dims: Sequence[int] = (),
        temperature: float = 0.2,
        queue_size: int = 4096,
        base_momentum: float = 0.99,
        final_momentum: float = 1.0,
    ) -> None:
        super().__init__(base_momentum, final_momentum)
        checks.positive("temperature", temperature)
        checks.integer("queue_size", queue_size, minimum=0)
        pred = checks.widths("predictor_hidden_dims", predictor_hidden_dims)
        self.temperature = temperature
        self.projector = MLPHead(in_dim, hidden_dims, out_dim)
        self.predictor = MLPHead(out_dim, pred, out_dim) if pred else nn.Identity()
        self._init_teacher_head()
        self.queue_size = queue_size
        self.register_buffer("queue", F.normalize(torch.randn(queue_size, out_dim), dim=1))
        self.register_buffer("queue_ptr", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def _enqueue(self, keys: torch.Tensor) -> None:
        keys = keys[-self.queue_size :]
        idx = (self.queue_ptr + torch.arange(keys.shape[0], device=keys.device)) % self.queue_size
        self.queue[idx] = F.normalize(keys.float(), dim=1).to(self.queue.dtype)
        self.queue_ptr.copy_((self.queue_ptr + keys.shape[0]) % self.queue_size)

    @override
    def loss(
        self,
        features: list[torch.Tensor],
        views: list[torch.Tensor],
        labels: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        n_global = count_global_views(views)
        # Gather here: v3's negatives are the global batch, and the queue must
        # receive every rank's keys.
        q = [gather(self.predictor(self.projector(f))) for f in features]
        k = [gather(t) for t in self.teacher_forward(views[:n_global])]
        queue = self.queue.clone() if self.queue_size > 0 else None
        pairs = view_pairs(len(q), n_global)
        loss = torch.stack([moco_loss(q[s], k[t], queue, self.temperature) for s, t in pairs]).mean()
        if self.training and self.queue_size > 0:
            self._enqueue(torch.cat(k))
        n_candidates = self.queue_size + 1 if self.queue_size > 0 else q[0].shape[0]
        return {
            "loss": loss,
            "info_nce": loss.detach(),
            "nce_mi_lower_bound": math.log(n_candidates) - loss.detach(),
        }
