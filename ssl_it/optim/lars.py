"""LARS: layer-wise adaptive rate scaling (You, Gitman & Ginsburg 2017, arXiv:1708.03888).

Written here because torch ships no LARS. For each parameter tensor w with
gradient g (after adding weight decay), the update uses the trust ratio

    eta_local = trust_coefficient * ||w|| / (||g + wd * w||)

and then SGD with momentum on ``eta_local * (g + wd * w)``. Parameter groups
with ``lars_exclude=True`` (biases and norm layers, as in SimCLR/BYOL/VICReg)
skip both the weight decay and the adaptation.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch.optim import Optimizer
from typing_extensions import override

from ssl_it import checks


class LARS(Optimizer):
    """SGD with momentum and layer-wise trust-ratio scaling."""

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 0.3,
        momentum: float = 0.9,
        weight_decay: float = 1e-6,
        trust_coefficient: float = 0.001,
        eps: float = 1e-8,
    ) -> None:
        checks.positive("optimizer.lr", lr)
        checks.number("optimizer.momentum", momentum, 0.0, 1.0, open_high=True)
        checks.positive("optimizer.weight_decay", weight_decay, allow_zero=True)
        defaults = dict(
            lr=lr,
            momentum=momentum,
            weight_decay=weight_decay,
            trust_coefficient=trust_coefficient,
            eps=eps,
            lars_exclude=False,
        )
        super().__init__(params, defaults)

    @torch.no_grad()
    @override
    def step(self, closure: Any = None) -> Any:
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad
                if not group["lars_exclude"]:
                    grad = grad.add(p, alpha=group["weight_decay"])
                    w_norm, g_norm = torch.linalg.vector_norm(p), torch.linalg.vector_norm(grad)
                    ratio = torch.where(
                        (w_norm > 0) & (g_norm > 0),
                        group["trust_coefficient"] * w_norm / (g_norm + group["eps"]),
                        torch.ones_like(w_norm),
                    )
                    grad = grad.mul(ratio)
                state = self.state[p]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = grad.clone()
                else:
                    state["momentum_buffer"].mul_(group["momentum"]).add_(grad)
                p.add_(state["momentum_buffer"], alpha=-group["lr"])
        return loss
