"""Fully connected backbone: the network of the classic information-plane
experiments (Shwartz-Ziv & Tishby 2017, arXiv:1703.00810: 12-10-7-5-4-3-2 with
tanh) and a flat baseline for images."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from torch import nn

from ssl_it import checks
from ssl_it.backbones.base import Backbone, as_shape, make_activation

Activation = Literal["tanh", "relu", "gelu", "sigmoid", "leaky_relu", "identity"]


class MLP(Backbone):
    """Multi-layer perceptron on the flattened input.

    Hidden layer ``i`` (1-based, like ``T_1 ... T_L`` in the information-plane
    papers) is the submodule ``layer{i}``, an ``nn.Sequential(Linear,
    [BatchNorm1d,] activation)``: a hook on ``backbone.layer3`` gives the
    activations of the third hidden layer, ``(batch, hidden_dims[2])``. The
    output is the last hidden layer, so ``out_dim = hidden_dims[-1]``; the
    label layer (the "2" of 12-10-7-5-4-3-2) belongs to the objective.

    Args:
        input_shape: ``(D,)`` or ``(C, H, W)``; images are flattened.
        hidden_dims: widths of the hidden layers, e.g. ``[10, 7, 5, 4, 3]``.
        activation: ``tanh``, ``relu``, ``gelu``, ``sigmoid``, ``leaky_relu``
            or ``identity``.
        batch_norm: insert ``BatchNorm1d`` between each linear layer and its
            activation.

    Raises:
        ValueError: empty or non-positive ``hidden_dims``, unknown
            ``activation``, malformed ``input_shape``.
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        hidden_dims: Sequence[int] = (512, 512),
        activation: Activation = "relu",
        batch_norm: bool = False,
    ) -> None:
        super().__init__()
        self.input_shape = as_shape(input_shape)
        dims = checks.widths("backbone.hidden_dims", hidden_dims, allow_empty=False)
        checks.flag("backbone.batch_norm", batch_norm)
        make_activation(activation)  # validate before building anything
        self.flatten = nn.Flatten()
        in_dim = 1
        for s in self.input_shape:
            in_dim *= s
        self.n_layers = len(dims)
        for i, width in enumerate(dims, start=1):
            parts: list[nn.Module] = [nn.Linear(in_dim, width)]
            if batch_norm:
                parts.append(nn.BatchNorm1d(width))
            parts.append(make_activation(activation))
            self.add_module(f"layer{i}", nn.Sequential(*parts))
            in_dim = width
        self.out_dim = dims[-1]

    def tap_points(self) -> list[str]:
        """``["layer1", ..., "layer{L}"]``: every hidden layer."""
        return [f"layer{i}" for i in range(1, self.n_layers + 1)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``(batch, *input_shape)`` to ``(batch, out_dim)``."""
        x = self.flatten(x)
        for name in self.tap_points():
            x = getattr(self, name)(x)
        return x
