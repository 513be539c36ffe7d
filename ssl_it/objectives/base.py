"""The contract between the LightningModule and every SSL objective.

An objective owns everything after the backbone: projector, predictor,
prototypes, momentum teacher, queues. The module only runs the student
backbone on the views and hands the features over.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Sequence
from typing import ParamSpec, TypeVar

import torch
from torch import nn
from typing_extensions import override

from ssl_it.objectives.distributed import gather

_P = ParamSpec("_P")
_R = TypeVar("_R")
_Loss = TypeVar("_Loss", torch.Tensor, dict[str, torch.Tensor])
_View = TypeVar("_View")


def full_precision(fn: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run a loss function with autocast off, so that batch statistics,
    similarity matrices and normalisations are computed in float32 even inside
    a bf16/fp16 mixed-precision step (the loss functions cast their inputs up)."""

    @functools.wraps(fn)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        flat = [x for a in args for x in (a if isinstance(a, (list, tuple)) else [a])]
        device = next((x.device.type for x in flat if isinstance(x, torch.Tensor)), "cpu")
        with torch.autocast(device_type=device, enabled=False):
            return fn(*args, **kwargs)

    return wrapper


class Objective(nn.Module):
    """Base class of the SSL objectives (and of the supervised reference).

    Subclasses implement :meth:`loss` (:meth:`forward` checks the features
    first); the hooks below default to no-ops.

    What a measurement reads (the information plane, the diagnostics): the
    :attr:`projector` and :meth:`probe_heads`, run after the backbone in that
    order on the probe set.

    Attributes:
        projector: features ``(batch, in_dim)`` -> the embedding ``Z``
            ``(batch, dim)`` the loss compares (``nn.Identity()`` where there
            is none); the ``projector`` layer of the measurements. Every
            objective sets it in its constructor.
        needs_labels: ``True`` when the loss uses the labels (supervised).
        needs_num_classes: ``True`` when the constructor takes
            ``num_classes``; train.py gives the data's class count.
        min_views: the smallest number of views the objective accepts.
        min_batch_size: the smallest (global) training batch the objective
            can learn from: batch statistics (variance, covariance,
            negatives) and the batch norm of heads need two samples; W-MSE
            needs more than its embedding width. Checked before training.
    """

    projector: nn.Module
    progress: torch.Tensor
    needs_labels: bool = False
    needs_num_classes: bool = False
    min_views: int = 2
    min_batch_size: int = 2

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("progress", torch.zeros(()), persistent=True)

    def attach_backbone(self, backbone: nn.Module) -> None:
        """Called once by the module after construction, before the optimiser
        exists: momentum objectives deep-copy the backbone into a frozen
        teacher here (its parameters must have ``requires_grad=False``)."""

    def probe_heads(self) -> list[nn.Module]:
        """Modules a probe pass runs after :attr:`projector`, in order, so that
        layers tapped inside them see the probe set (none by default; the
        supervised objective's classifier)."""
        return []

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

        Raises:
            ValueError: features that :meth:`_check_features` rejects.
        """
        self._check_features(features)
        return self.loss(features, views, labels)

    def loss(
        self,
        features: list[torch.Tensor],
        views: list[torch.Tensor],
        labels: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """The loss of one batch whose features :meth:`forward` has checked
        (same arguments and result); every objective implements it."""
        raise NotImplementedError

    def _check_features(self, features: list[torch.Tensor]) -> int:
        """Validate the per-view features and return the (local) batch size.

        Raises:
            ValueError: fewer than ``min_views`` views, views with different
                batch sizes, a feature that is not ``(batch, dim)``, or a
                batch of one for an objective whose statistics need two.
        """
        if len(features) < self.min_views:
            raise ValueError(
                f"features: {type(self).__name__} needs at least {self.min_views} view(s), got {len(features)}"
            )
        batch = features[0].shape[0]
        for i, f in enumerate(features):
            if f.dim() != 2:
                raise ValueError(f"features[{i}]: expected (batch, dim), got shape {tuple(f.shape)}")
            if f.shape[0] != batch:
                raise ValueError(f"features[{i}]: batch size {f.shape[0]} differs from features[0]'s {batch}")
        if self.min_views > 1 and batch < 2:
            raise ValueError(f"features: batch size must be at least 2, got {batch}")
        return batch


class ViewPairObjective(Objective):
    """An objective whose loss is a function of two views' projections,
    computed on the global batch and averaged over the unordered view pairs
    (SimCLR, InfoNCE, VICReg, VICReg-LogDet, Barlow Twins).

    Subclasses build ``projector`` and implement :meth:`pair_loss` (or
    :meth:`views_loss`, when the pairs share random choices, as W-MSE's
    sub-batches).
    """

    @override
    def loss(
        self,
        features: list[torch.Tensor],
        views: list[torch.Tensor],
        labels: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        # Gather here: every pair loss reads the global batch (negatives, variance,
        # covariance, cross-correlation, whitening).
        return self.views_loss([gather(self.projector(f)) for f in features])

    def views_loss(self, z: list[torch.Tensor]) -> dict[str, torch.Tensor]:
        """The loss of all views' ``(global batch, out_dim)`` projections:
        :meth:`pair_loss` averaged over the view pairs."""
        return mean_over_view_pairs(z, self.pair_loss)

    def pair_loss(self, z1: torch.Tensor, z2: torch.Tensor) -> dict[str, torch.Tensor]:
        """``{"loss": ..., <term>: ...}`` of one pair of ``(global batch, out_dim)`` projections."""
        raise NotImplementedError


def count_global_views(views: list[torch.Tensor]) -> int:
    """Number of leading views with the shape of ``views[0]`` (the global
    crops; multi-crop local crops are smaller and come after them)."""
    n = 1
    while n < len(views) and views[n].shape == views[0].shape:
        n += 1
    return n


def mean_over_view_pairs(z: Sequence[_View], loss: Callable[[_View, _View], _Loss]) -> _Loss:
    """``loss(z[i], z[j])`` averaged over the unordered view pairs ``i < j``
    (symmetric multi-view objectives: with two views, the loss of the pair).
    ``z[i]`` is what the loss reads of view ``i`` (its projection, or a tuple
    of tensors); ``loss`` returns a scalar tensor, or a dict of them averaged
    key by key."""
    outs = [loss(a, b) for a, b in itertools.combinations(z, 2)]
    if isinstance(outs[0], torch.Tensor):
        return torch.stack(outs).mean()
    return {k: torch.stack([o[k] for o in outs]).mean() for k in outs[0]}


def view_pairs(n_views: int, n_targets: int) -> list[tuple[int, int]]:
    """Ordered (student view, target view) pairs with different indices, the
    targets drawn from the first ``n_targets`` views (multi-crop pairing of
    BYOL/DINO/SwAV: every view predicts every other global view)."""
    return [(s, t) for t in range(n_targets) for s in range(n_views) if s != t]


def mean_over_target_pairs(
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    online: list[torch.Tensor],
    targets: list[torch.Tensor],
) -> torch.Tensor:
    """``loss(online[s], targets[t])`` averaged over the :func:`view_pairs`
    of every view ``s`` with every other global view's target ``t`` (BYOL,
    SimSiam)."""
    pairs = view_pairs(len(online), len(targets))
    return torch.stack([loss(online[s], targets[t]) for s, t in pairs]).mean()


def check_embeddings(z1: torch.Tensor, z2: torch.Tensor, min_batch: int = 2) -> None:
    """Raise ``ValueError`` unless ``z1`` and ``z2`` are ``(batch, dim)`` tensors
    of the same shape with ``batch >= min_batch``."""
    if z1.dim() != 2 or z1.shape != z2.shape:
        raise ValueError(
            f"z1, z2: expected two (batch, dim) tensors of the same shape, got {tuple(z1.shape)} and {tuple(z2.shape)}"
        )
    if z1.shape[0] < min_batch:
        raise ValueError(f"z1, z2: batch size must be at least {min_batch}, got {z1.shape[0]}")
