"""ResNet-18/50 backbones from torchvision, with the CIFAR stem option."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from torch import nn
from torchvision import models

from ssl_it import checks
from ssl_it.backbones.base import Backbone, image_shape

ARCHS = ("resnet18", "resnet50")


class ResNet(Backbone):
    """torchvision ResNet (``weights=None``) without its classifier.

    The submodules keep torchvision's names (``conv1, bn1, relu, maxpool,
    layer1..layer4``), so a torchvision state dict loads with
    ``strict=False`` (minus ``fc``) when the stem is unchanged. ``fc`` is
    ``nn.Identity``; the output is the globally pooled ``layer4``:
    ``out_dim`` 512 (resnet18) or 2048 (resnet50).

    Args:
        input_shape: ``(C, H, W)``; ``conv1`` takes ``C`` channels
            (grayscale works).
        arch: ``resnet18`` or ``resnet50``.
        cifar_stem: replace the 7x7 stride-2 ``conv1`` and the max-pool by a
            3x3 stride-1 conv and no pooling, as is standard for 32 px images
            (SimCLR appendix B.9, Chen et al. 2020, arXiv:2002.05709).

    Raises:
        ValueError: vector input, unknown ``arch``, non-boolean
            ``cifar_stem``.
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        arch: Literal["resnet18", "resnet50"] = "resnet18",
        cifar_stem: bool = True,
    ) -> None:
        super().__init__()
        checks.choice("backbone.arch", arch, ARCHS)
        checks.flag("backbone.cifar_stem", cifar_stem)
        self.input_shape = image_shape(input_shape, arch)
        net = getattr(models, arch)(weights=None)
        in_ch = self.input_shape[0]
        if cifar_stem:
            self.conv1 = nn.Conv2d(in_ch, 64, 3, stride=1, padding=1, bias=False)
            self.maxpool: nn.Module = nn.Identity()
        else:
            self.conv1 = nn.Conv2d(in_ch, 64, 7, stride=2, padding=3, bias=False)
            self.maxpool = net.maxpool
        nn.init.kaiming_normal_(self.conv1.weight, mode="fan_out", nonlinearity="relu")
        self.bn1, self.relu = net.bn1, net.relu
        self.layer1, self.layer2 = net.layer1, net.layer2
        self.layer3, self.layer4 = net.layer3, net.layer4
        self.avgpool = net.avgpool
        self.fc = nn.Identity()
        self.arch = arch
        self.cifar_stem = cifar_stem
        self.out_dim = net.fc.in_features

    def tap_points(self) -> list[str]:
        """``["layer1", "layer2", "layer3", "layer4"]`` (each ends in a ReLU)."""
        return ["layer1", "layer2", "layer3", "layer4"]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``(batch, C, H, W)`` to ``(batch, out_dim)``."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))
