"""EMA teachers: the cosine momentum schedule, the update, and a base class.

BYOL (Grill et al., 2020, arXiv:2006.07733), MoCo (He et al., 2020,
arXiv:1911.05722; Chen et al., 2021, arXiv:2104.02057) and DINO (Caron et al.,
2021, arXiv:2104.14294) keep a teacher whose parameters follow the student's
by an exponential moving average, ``xi <- m xi + (1 - m) theta``, once per
optimiser step, with ``m`` rising from ``base_momentum`` to ``final_momentum``
along a half cosine of training progress.
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn
from typing_extensions import override

from ssl_it import checks
from ssl_it.objectives.base import Objective


def cosine_momentum(base: float, final: float, progress: float | torch.Tensor) -> torch.Tensor:
    """BYOL's schedule ``m = final - (final - base) (cos(pi p) + 1) / 2``.

    Args:
        base: momentum at ``progress = 0``.
        final: momentum at ``progress = 1``.
        progress: fraction of training done, in [0, 1] (a float or a 0-d
            tensor; a tensor stays on its device, so no host sync).

    Returns:
        A 0-d tensor.
    """
    p = torch.as_tensor(progress, dtype=torch.float64)
    return final - (final - base) * (torch.cos(math.pi * p) + 1.0) / 2.0


@torch.no_grad()
def ema_update_(teacher: nn.Module, student: nn.Module, momentum: float | torch.Tensor) -> None:
    """In place ``t <- m t + (1 - m) s`` (as ``t + (1 - m)(s - t)``) for every
    parameter pair.

    Buffers (BatchNorm running statistics) are left alone: the teacher runs in
    training mode and keeps its own.
    """
    for t, s in zip(teacher.parameters(), student.parameters(), strict=True):
        w = 1.0 - torch.as_tensor(momentum, dtype=t.dtype, device=t.device)
        t.lerp_(s.detach(), w)


def frozen_copy(module: nn.Module) -> nn.Module:
    """Deep copy ``module`` with ``requires_grad=False`` and no hooks, so the
    teacher never receives gradients, never lands in the optimiser, and does
    not fire the student's forward hooks (e.g. information-plane taps)."""
    teacher = copy.deepcopy(module)
    for m in teacher.modules():
        m._forward_hooks.clear()
        m._forward_pre_hooks.clear()
        m._backward_hooks.clear()
    for p in teacher.parameters():
        p.requires_grad_(False)
    return teacher


class MomentumObjective(Objective):
    """An objective with an EMA teacher (backbone + head).

    Subclasses build the student head that the teacher mirrors (by default
    ``self.projector``; override :attr:`student_head` otherwise) and call
    :meth:`_init_teacher_head` at the end of their constructor.
    ``attach_backbone`` creates ``self.teacher_backbone``.

    Args:
        base_momentum: EMA momentum at the start of training, in [0, 1].
        final_momentum: EMA momentum at the end of training, in [base, 1].
    """

    def __init__(self, base_momentum: float, final_momentum: float) -> None:
        super().__init__()
        checks.number("base_momentum", base_momentum, 0.0, 1.0)
        checks.number("final_momentum", final_momentum, base_momentum, 1.0)
        self.base_momentum = base_momentum
        self.final_momentum = final_momentum
        self.teacher_backbone: nn.Module | None = None

    @property
    def student_head(self) -> nn.Module:
        """The student module after the backbone that the teacher mirrors."""
        return self.projector

    def _init_teacher_head(self) -> None:
        self.teacher_head = frozen_copy(self.student_head)

    @property
    def momentum(self) -> torch.Tensor:
        """The EMA momentum at the current ``progress`` (0-d tensor)."""
        return cosine_momentum(self.base_momentum, self.final_momentum, self.progress)

    @override
    def attach_backbone(self, backbone: nn.Module) -> None:
        self.teacher_backbone = frozen_copy(backbone)

    @torch.no_grad()
    @override
    def after_optimizer_step(self, backbone: nn.Module) -> None:
        m = self.momentum
        ema_update_(self._teacher_backbone(), backbone, m)
        ema_update_(self.teacher_head, self.student_head, m)

    def _teacher_backbone(self) -> nn.Module:
        if self.teacher_backbone is None:
            raise RuntimeError(
                f"{type(self).__name__}: call attach_backbone(backbone) before training "
                "(it creates the momentum teacher)"
            )
        return self.teacher_backbone

    @torch.no_grad()
    def teacher_forward(self, views: list[torch.Tensor]) -> list[torch.Tensor]:
        """Teacher outputs ``teacher_head(teacher_backbone(v))`` for each view."""
        backbone = self._teacher_backbone()
        return [self.teacher_head(backbone(v)) for v in views]
