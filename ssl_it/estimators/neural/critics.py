"""Critics and variational conditionals shared by the neural MI estimators."""

from __future__ import annotations

import torch
from torch import nn


def mlp(in_dim: int, hidden: int, layers: int, out_dim: int) -> nn.Sequential:
    """``layers`` hidden ReLU layers of width ``hidden``, then a linear output."""
    mods: list[nn.Module] = []
    width = in_dim
    for _ in range(layers):
        mods += [nn.Linear(width, hidden), nn.ReLU()]
        width = hidden
    mods.append(nn.Linear(width, out_dim))
    return nn.Sequential(*mods)


class SeparableCritic(nn.Module):
    """``f(x, y) = g(x)^T h(y)`` (Poole et al. 2019, arXiv:1905.06922).

    All ``B x B`` pair scores cost two MLP passes of B rows, so this is the
    fast default.
    """

    def __init__(self, dx: int, dy: int, hidden: int, layers: int, embed_dim: int) -> None:
        super().__init__()
        self.g = mlp(dx, hidden, layers, embed_dim)
        self.h = mlp(dy, hidden, layers, embed_dim)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Scores ``(Bx, By)`` with ``[i, j] = f(x_i, y_j)``."""
        return self.g(x) @ self.h(y).T


class ConcatCritic(nn.Module):
    """``f(x, y) = MLP([x; y])`` evaluated on every pair (Belghazi et al. 2018).

    The first layer is split, ``W [x; y] = W_x x + W_y y``, so the wide
    inputs are projected once per row and only the hidden layers run on the
    ``B x B`` pairs.
    """

    def __init__(self, dx: int, dy: int, hidden: int, layers: int) -> None:
        super().__init__()
        self.wx = nn.Linear(dx, hidden)
        self.wy = nn.Linear(dy, hidden, bias=False)
        self.rest = mlp(hidden, hidden, max(layers - 1, 0), 1)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Scores ``(Bx, By)`` with ``[i, j] = f(x_i, y_j)``."""
        hidden = torch.relu(self.wx(x)[:, None, :] + self.wy(y)[None, :, :])  # (Bx, By, hidden)
        return self.rest(hidden)[..., 0]


class GaussianConditional(nn.Module):
    """``q(y | x) = N(mu(x), diag exp(logvar(x)))`` for CLUB (Cheng et al. 2020)."""

    def __init__(self, dx: int, dy: int, hidden: int, layers: int) -> None:
        super().__init__()
        self.net = mlp(dx, hidden, layers, 2 * dy)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(mu, logvar)``, each ``(B, dy)``; logvar bounded by tanh as in CLUB's code."""
        mu, raw = self.net(x).chunk(2, dim=1)
        return mu, 5.0 * torch.tanh(raw / 5.0)


class CategoricalConditional(nn.Module):
    """``q(y | x) = softmax(logits(x))`` for CLUB with class labels."""

    def __init__(self, dx: int, n_classes: int, hidden: int, layers: int) -> None:
        super().__init__()
        self.net = mlp(dx, hidden, layers, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Log-probabilities ``(B, C)``."""
        return torch.log_softmax(self.net(x), dim=1)
