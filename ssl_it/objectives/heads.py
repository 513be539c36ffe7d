"""MLP heads shared by the objectives (projectors, predictors, Gaussian head).

Widths are constructor arguments: the papers use 2048-8192 wide heads on
ResNet-50 features; the configs scale them down for the default 128-d convnet.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn
from typing_extensions import override

from ssl_it import checks

_ACTIVATIONS = ("relu", "gelu")


class MLPHead(nn.Sequential):
    """``Linear -> [BN] -> act`` per hidden width, then ``Linear -> [BN]``.

    With ``hidden_dims=[]`` it is a single linear layer.

    Args:
        in_dim: input width.
        hidden_dims: widths of the hidden layers.
        out_dim: output width.
        batch_norm: BatchNorm1d after every hidden linear layer.
        last_batch_norm: BatchNorm1d after the output layer (SimSiam).
        last_affine: whether that last BatchNorm is affine (SimSiam: False).
        last_bias: bias on the output layer (Barlow Twins: False).
        activation: ``relu`` or ``gelu`` (DINO).

    Shapes: ``(batch, in_dim) -> (batch, out_dim)``.
    """

    def __init__(
        self,
        in_dim: int,
        hidden_dims: Sequence[int],
        out_dim: int,
        *,
        batch_norm: bool = True,
        last_batch_norm: bool = False,
        last_affine: bool = True,
        last_bias: bool = True,
        activation: Literal["relu", "gelu"] = "relu",
    ) -> None:
        checks.integer("in_dim", in_dim)
        checks.integer("out_dim", out_dim)
        hidden = checks.widths("hidden_dims", hidden_dims)
        checks.choice("activation", activation, _ACTIVATIONS)
        layers: list[nn.Module] = []
        width = in_dim
        for h in hidden:
            layers.append(nn.Linear(width, h, bias=not batch_norm))
            if batch_norm:
                layers.append(nn.BatchNorm1d(h))
            layers.append(nn.ReLU(inplace=True) if activation == "relu" else nn.GELU())
            width = h
        layers.append(nn.Linear(width, out_dim, bias=last_bias))
        if last_batch_norm:
            layers.append(nn.BatchNorm1d(out_dim, affine=last_affine))
        super().__init__(*layers)
        self.in_dim = in_dim
        self.out_dim = out_dim


class NormalizedLinear(nn.Module):
    """Weight-normalised linear layer without bias: ``y = g * x W^T / ||W_k||``.

    The DINO head's last layer (weight norm with the gain frozen at 1 when
    ``learn_gain`` is false, the authors' ``norm_last_layer=True``).

    Shapes: ``(batch, in_dim) -> (batch, out_dim)``.
    """

    def __init__(self, in_dim: int, out_dim: int, learn_gain: bool = False) -> None:
        super().__init__()
        checks.integer("in_dim", in_dim)
        checks.integer("out_dim", out_dim)
        self.weight = nn.Parameter(torch.empty(out_dim, in_dim))
        nn.init.trunc_normal_(self.weight, std=0.02)
        self.gain = nn.Parameter(torch.ones(out_dim, 1)) if learn_gain else None

    def forward(self, x: torch.Tensor, freeze: bool | torch.Tensor = False) -> torch.Tensor:
        """``freeze`` (a bool or a 0-d bool tensor, which avoids a host sync)
        stops the gradient to the weight (DINO freezes it for the first epoch)."""
        if isinstance(freeze, torch.Tensor):
            w = torch.where(freeze, self.weight.detach(), self.weight)
        else:
            w = self.weight.detach() if freeze else self.weight
        w = F.normalize(w, dim=1)
        if self.gain is not None:
            w = self.gain * w
        return F.linear(x, w)


class GaussianHead(nn.Module):
    """Stochastic encoder head ``p(z|x) = N(mu(x), diag(sigma(x)^2))``.

    ``sigma = softplus(s) + 1e-7`` as in Federici et al. (2020)'s code.
    ``forward`` returns the mean (the deterministic embedding that the
    information-plane callback measures); :meth:`distribution` returns both.

    Shapes: ``(batch, in_dim) -> (batch, out_dim)``.
    """

    def __init__(self, in_dim: int, hidden_dims: Sequence[int], out_dim: int) -> None:
        super().__init__()
        self.net = MLPHead(in_dim, hidden_dims, 2 * out_dim)
        self.out_dim = out_dim

    def distribution(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(mu, sigma)``, each ``(batch, out_dim)``."""
        mu, s = self.net(x).chunk(2, dim=1)
        return mu, F.softplus(s) + 1e-7

    @override
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.distribution(x)[0]
