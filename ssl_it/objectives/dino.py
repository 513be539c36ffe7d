"""DINO: self-distillation with a centred, sharpened EMA teacher."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from typing_extensions import override

from ssl_it import checks
from ssl_it.objectives.base import count_global_views, full_precision, view_pairs
from ssl_it.objectives.distributed import gather
from ssl_it.objectives.heads import MLPHead, NormalizedLinear
from ssl_it.objectives.momentum import MomentumObjective


@full_precision
def dino_loss(
    student_logits: list[torch.Tensor],
    teacher_logits: list[torch.Tensor],
    center: torch.Tensor,
    student_temp: float,
    teacher_temp: float | torch.Tensor,
) -> torch.Tensor:
    """Cross-entropy between the centred, sharpened teacher and the student.

        P_t = softmax((g_t(x_t) - c) / tau_t),  P_s = softmax(g_s(x_s) / tau_s)
        L = mean over pairs (s != t, t global) of -1/N sum_i P_t,i . log P_s,i

    The teacher is detached here.

    Caron et al. (2021), "Emerging Properties in Self-Supervised Vision
    Transformers", arXiv:2104.14294, Eq. 3 and Sec. 3.1 (centering).

    Args:
        student_logits: one ``(batch, K)`` tensor per view (global first).
        teacher_logits: one ``(batch, K)`` tensor per global view.
        center: ``(K,)`` teacher centre.
        student_temp: tau_s > 0.
        teacher_temp: tau_t > 0.

    Returns:
        Scalar loss in nats.
    """
    if not teacher_logits or len(student_logits) < 2:
        raise ValueError("student_logits, teacher_logits: need >= 2 student views and >= 1 teacher view")
    log_ps = [F.log_softmax(s.float() / student_temp, dim=1) for s in student_logits]
    pt = [F.softmax((t.detach().float() - center) / teacher_temp, dim=1) for t in teacher_logits]
    pairs = view_pairs(len(log_ps), len(pt))
    return torch.stack([-(pt[t] * log_ps[s]).sum(dim=1).mean() for s, t in pairs]).mean()


def teacher_temperature(
    progress: torch.Tensor, warmup_temp: float, temp: float, warmup_fraction: float
) -> torch.Tensor:
    """Linear warm-up of the teacher temperature from ``warmup_temp`` to
    ``temp`` over the first ``warmup_fraction`` of training, then constant
    (DINO: 0.04 -> 0.07 over the first 30 epochs)."""
    if warmup_fraction <= 0:
        return torch.full_like(progress, temp)
    frac = torch.clamp(progress / warmup_fraction, max=1.0)
    return warmup_temp + (temp - warmup_temp) * frac


class DINOHead(nn.Module):
    """DINO head: MLP (GELU, no BN) -> bottleneck -> L2 normalise -> weight-
    normalised linear to ``out_dim`` prototypes. ``projector`` is the part up
    to the (normalised) bottleneck."""

    def __init__(self, mlp: MLPHead, out_dim: int, norm_last_layer: bool) -> None:
        super().__init__()
        self.mlp = mlp
        bottleneck_dim = mlp.out_dim
        self.last_layer = NormalizedLinear(bottleneck_dim, out_dim, learn_gain=not norm_last_layer)

    @override
    def forward(self, x: torch.Tensor, freeze_last: bool | torch.Tensor = False) -> torch.Tensor:
        return self.last_layer(F.normalize(self.mlp(x), dim=1), freeze=freeze_last)


class DINO(MomentumObjective):
    """DINO with an EMA teacher, centring, teacher-temperature warm-up and
    multi-crop (the teacher sees the global views only).

    Args:
        in_dim: backbone feature width.
        hidden_dims: head MLP hidden widths (paper [2048, 2048]; config [512, 512]).
        bottleneck_dim: bottleneck width (paper 256).
        out_dim: number of prototypes K (paper 65536; config 4096).
        norm_last_layer: fix the last layer's weight-norm gain to 1 (paper True).
        student_temp: tau_s (paper 0.1).
        teacher_temp: tau_t after warm-up (paper 0.04-0.07; the authors'
            code default and ours 0.04).
        warmup_teacher_temp: tau_t at the start (paper 0.04).
        warmup_teacher_temp_fraction: warm-up length as a fraction of
            training (paper 30 of 100 epochs: 0.3).
        center_momentum: EMA momentum of the centre (paper 0.9).
        freeze_last_layer_fraction: the last layer gets no gradient for this
            fraction of training (paper: the first epoch of 100, 0.01).
        base_momentum: teacher EMA momentum at the start (paper 0.996 over
            100+ epochs; 0.99 here for short runs).
        final_momentum: at the end, cosine schedule (paper 1.0).
        use_bn_in_head: batch norm after the head's hidden layers (the
            authors' ``use_bn_in_head``, off in their ViT runs; on here: with
            the convnet on MNIST it took DINO from 0.796 to 0.822).
    """

    center: torch.Tensor

    def __init__(
        self,
        in_dim: int,
        hidden_dims: Sequence[int] = (512, 512),
        bottleneck_dim: int = 256,
        out_dim: int = 4096,
        norm_last_layer: bool = True,
        student_temp: float = 0.1,
        teacher_temp: float = 0.04,
        warmup_teacher_temp: float = 0.04,
        warmup_teacher_temp_fraction: float = 0.3,
        center_momentum: float = 0.9,
        freeze_last_layer_fraction: float = 0.01,
        base_momentum: float = 0.99,
        final_momentum: float = 1.0,
        use_bn_in_head: bool = True,
    ) -> None:
        super().__init__(base_momentum, final_momentum)
        for name, value in [
            ("bottleneck_dim", bottleneck_dim),
            ("out_dim", out_dim),
            ("student_temp", student_temp),
            ("teacher_temp", teacher_temp),
            ("warmup_teacher_temp", warmup_teacher_temp),
        ]:
            checks.positive(name, value)
        checks.number("warmup_teacher_temp_fraction", warmup_teacher_temp_fraction, 0.0, 1.0)
        checks.number("center_momentum", center_momentum, 0.0, 1.0)
        checks.number("freeze_last_layer_fraction", freeze_last_layer_fraction, 0.0, 1.0)
        self.student_temp = student_temp
        self.teacher_temp = teacher_temp
        self.warmup_teacher_temp = warmup_teacher_temp
        self.warmup_teacher_temp_fraction = warmup_teacher_temp_fraction
        self.center_momentum = center_momentum
        self.freeze_last_layer_fraction = freeze_last_layer_fraction
        self.projector = MLPHead(in_dim, hidden_dims, bottleneck_dim, batch_norm=use_bn_in_head, activation="gelu")
        self.head = DINOHead(self.projector, out_dim, norm_last_layer)
        self._init_teacher_head()
        self.register_buffer("center", torch.zeros(out_dim))

    @property
    @override
    def student_head(self) -> nn.Module:
        return self.head

    @property
    def current_teacher_temp(self) -> torch.Tensor:
        """tau_t at the current ``progress`` (0-d tensor)."""
        return teacher_temperature(
            self.progress,
            self.warmup_teacher_temp,
            self.teacher_temp,
            self.warmup_teacher_temp_fraction,
        )

    @torch.no_grad()
    def _update_center(self, teacher_logits: list[torch.Tensor]) -> None:
        # Gather here: the centre is the mean teacher output over the global batch.
        batch_mean = gather(torch.cat(teacher_logits).float()).mean(dim=0)
        self.center.mul_(self.center_momentum).add_(batch_mean, alpha=1 - self.center_momentum)

    @override
    def loss(
        self,
        features: list[torch.Tensor],
        views: list[torch.Tensor],
        labels: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        n_global = count_global_views(views)
        freeze = self.progress < self.freeze_last_layer_fraction
        student = [self.student_head(f, freeze_last=freeze) for f in features]
        teacher = self.teacher_forward(views[:n_global])
        loss = dino_loss(student, teacher, self.center, self.student_temp, self.current_teacher_temp)
        if self.training:
            self._update_center(teacher)
        return {"loss": loss, "distillation": loss.detach()}
