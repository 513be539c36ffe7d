"""The one place where objectives talk across ranks.

Losses whose value depends on the whole batch — SimCLR/InfoNCE/MoCo negatives,
VICReg/Barlow Twins/W-MSE statistics, SwAV's Sinkhorn equipartition, the DINO
centre — must see the *global* batch under DDP, or they silently become a
different loss (a per-GPU batch of 64 has 126 negatives, not 4094). Every
objective calls :func:`gather` on its embeddings right before such a loss, so
the loss computed on each rank is the loss of the global batch.

Why the autograd-aware collective: ``torch.distributed.all_gather`` returns
tensors cut from the graph, so the other ranks' rows would act as constants
and the gradient reaching each rank's own rows would miss every term where
they serve as a negative for someone else. ``torch.distributed.nn.functional
.all_gather`` back-propagates by summing, over all ranks, the gradient each
rank's copy of the loss sends to the rows it owns (a reduce-scatter). With
every rank computing the same global loss that sum is ``world_size`` times the
true gradient, which DDP's gradient *averaging* divides back out: the final
gradient equals the single-process gradient on the full batch (tested in
``tests/objectives/test_ddp.py``). lightly fixed a gradient bug by moving to
this collective.

Assumes every rank holds the same local batch size (DistributedSampler pads
so that it does).
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch.distributed.nn.functional import all_gather


def is_distributed() -> bool:
    """True inside an initialised process group with more than one rank."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def world_size() -> int:
    """Number of ranks (1 when not distributed)."""
    return dist.get_world_size() if is_distributed() else 1


def rank() -> int:
    """This process's rank (0 when not distributed)."""
    return dist.get_rank() if is_distributed() else 0


def gather(x: torch.Tensor) -> torch.Tensor:
    """Concatenate ``x`` from every rank along dim 0, keeping gradients.

    Args:
        x: ``(local_batch, ...)``; the same shape on every rank.

    Returns:
        ``(world_size * local_batch, ...)`` ordered by rank; ``x`` itself when
        not distributed (a no-op, so single-process code pays nothing).
    """
    if not is_distributed():
        return x
    return torch.cat(all_gather(x.contiguous()), dim=0)


def local_rows(n_local: int) -> slice:
    """The rows of a gathered tensor that belong to this rank."""
    r = rank()
    return slice(r * n_local, (r + 1) * n_local)


def broadcast(x: torch.Tensor) -> torch.Tensor:
    """Rank 0's ``x`` on every rank (no gradient), e.g. a random permutation
    that all ranks must share; ``x`` itself when not distributed."""
    if not is_distributed():
        return x
    x = x.clone()
    dist.broadcast(x, src=0)
    return x
