"""Small convolutional backbone for 28-32 px images (the CPU default)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ssl_it import checks
from ssl_it.backbones.base import Backbone, image_shape


class ConvNet(Backbone):
    """A VGG-like stack of 3x3 conv + BatchNorm + ReLU stages, then global
    average pooling.

    Stage ``i`` (1-based) is the submodule ``layer{i}``: ``convs_per_stage``
    conv-BN-ReLU blocks with ``channels[i-1]`` filters, the first of them with
    stride 2 except in stage 1 (28 px -> 28, 14, 7 with three stages). A hook
    on ``layer{i}`` gives ``(batch, channels[i-1], h_i, w_i)``, post-ReLU. The
    output is the pooled last stage: ``out_dim = channels[-1]`` (no final
    linear layer; the objective's projector follows).

    Args:
        input_shape: ``(C, H, W)``; any channel count and size >= 1 px.
        channels: filters per stage.
        convs_per_stage: conv-BN-ReLU blocks per stage.

    Raises:
        ValueError: vector input, non-positive ``channels`` or
            ``convs_per_stage``.
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        channels: Sequence[int] = (32, 64, 128),
        convs_per_stage: int = 1,
    ) -> None:
        super().__init__()
        self.input_shape = image_shape(input_shape, "convnet")
        widths = checks.widths("backbone.channels", channels, allow_empty=False)
        checks.integer("backbone.convs_per_stage", convs_per_stage)
        in_ch = self.input_shape[0]
        for i, width in enumerate(widths, start=1):
            blocks: list[nn.Module] = []
            for j in range(convs_per_stage):
                stride = 2 if (i > 1 and j == 0) else 1
                blocks += [
                    nn.Conv2d(in_ch, width, 3, stride=stride, padding=1, bias=False),
                    nn.BatchNorm2d(width),
                    nn.ReLU(inplace=True),
                ]
                in_ch = width
            self.add_module(f"layer{i}", nn.Sequential(*blocks))
        self.n_stages = len(widths)
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.out_dim = widths[-1]
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def tap_points(self) -> list[str]:
        """``["layer1", ..., "layer{S}", "pool"]``: every stage, then the
        pooled features."""
        return [f"layer{i}" for i in range(1, self.n_stages + 1)] + ["pool"]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``(batch, C, H, W)`` to ``(batch, out_dim)``."""
        for i in range(1, self.n_stages + 1):
            x = getattr(self, f"layer{i}")(x)
        return self.pool(x)
