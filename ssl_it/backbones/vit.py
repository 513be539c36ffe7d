"""Small Vision Transformer for small images, from torchvision's ViT."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as nnf
from torch import nn
from torchvision.models import VisionTransformer

from ssl_it import checks
from ssl_it.backbones.base import Backbone, image_shape


class ViT(Backbone):
    """torchvision ``VisionTransformer`` without its head; the output is the
    final-LayerNorm CLS token, ``out_dim = hidden_dim``.

    The defaults are ViT-Ti (Touvron et al. 2021, arXiv:2012.12877: width
    192, 12 blocks, 3 heads, MLP 768) with a 4 px patch, which turns a 28 or
    32 px image into 49 or 64 tokens. ``conv_proj`` takes the input's channel
    count. Encoder block ``i`` (0-based, torchvision's naming) is
    ``encoder.layers.encoder_layer_{i}``; its hook output is the residual
    stream ``(batch, 1 + n_patches, hidden_dim)``, CLS token first.

    Other input sizes (the local crops of multi-crop) are accepted: the patch
    position embeddings are resized bicubically to the new patch grid, as in
    DINO (Caron et al. 2021, arXiv:2104.14294); pixels beyond a multiple of
    ``patch_size`` are dropped by the patch projection.

    Args:
        input_shape: ``(C, S, S)``: square images whose side ``S`` is a
            multiple of ``patch_size``.
        patch_size: side of the square patches.
        hidden_dim: token width.
        num_layers: encoder blocks.
        num_heads: attention heads; must divide ``hidden_dim``.
        mlp_dim: hidden width of each block's MLP (``None``: 4 x hidden_dim).
        dropout: dropout rate in [0, 1).
        attention_dropout: attention dropout rate in [0, 1).

    Raises:
        ValueError: vector or non-square input, ``patch_size`` not dividing
            the image size, ``num_heads`` not dividing ``hidden_dim``,
            non-positive sizes, dropout outside [0, 1).
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        patch_size: int = 4,
        hidden_dim: int = 192,
        num_layers: int = 12,
        num_heads: int = 3,
        mlp_dim: int | None = None,
        dropout: float = 0.0,
        attention_dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.input_shape = image_shape(input_shape, "vit_tiny")
        channels, height, width = self.input_shape
        for key, value in [
            ("patch_size", patch_size),
            ("hidden_dim", hidden_dim),
            ("num_layers", num_layers),
            ("num_heads", num_heads),
        ]:
            checks.integer(f"backbone.{key}", value)
        mlp_dim = 4 * hidden_dim if mlp_dim is None else checks.integer("backbone.mlp_dim", mlp_dim)
        for key, rate in [("dropout", dropout), ("attention_dropout", attention_dropout)]:
            checks.number(f"backbone.{key}", rate, 0.0, 1.0, open_high=True)
        if height != width:
            raise ValueError(f"backbone=vit_tiny needs square images; got data.image_size {height}x{width}")
        if height % patch_size:
            allowed = [p for p in range(1, height + 1) if height % p == 0]
            checks.fail("backbone.patch_size", f"a divisor of data.image_size={height}: one of {allowed}", patch_size)
        if hidden_dim % num_heads:
            checks.fail("backbone.num_heads", f"a divisor of backbone.hidden_dim={hidden_dim}", num_heads)
        vit = VisionTransformer(
            height, patch_size, num_layers, num_heads, hidden_dim, mlp_dim, dropout, attention_dropout
        )
        self.conv_proj = nn.Conv2d(channels, hidden_dim, patch_size, stride=patch_size)
        nn.init.trunc_normal_(self.conv_proj.weight, std=math.sqrt(1 / (channels * patch_size**2)))
        assert self.conv_proj.bias is not None
        nn.init.zeros_(self.conv_proj.bias)
        self.class_token = vit.class_token
        self.encoder = vit.encoder
        self.patch_size = patch_size
        self.grid = height // patch_size
        self.num_layers = num_layers
        self.out_dim = hidden_dim

    def tap_points(self) -> list[str]:
        """``["encoder.layers.encoder_layer_0", ...]``: every encoder block."""
        return [f"encoder.layers.encoder_layer_{i}" for i in range(self.num_layers)]

    def _pos_embedding(self, n_h: int, n_w: int) -> torch.Tensor:
        pos = self.encoder.pos_embedding  # (1, 1 + grid^2, hidden)
        if (n_h, n_w) == (self.grid, self.grid):
            return pos
        cls_pos, patch_pos = pos[:, :1], pos[:, 1:]
        patch_pos = patch_pos.reshape(1, self.grid, self.grid, -1).permute(0, 3, 1, 2)
        patch_pos = nnf.interpolate(patch_pos, size=(n_h, n_w), mode="bicubic", align_corners=False)
        return torch.cat([cls_pos, patch_pos.flatten(2).transpose(1, 2)], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``(batch, C, H, W)`` (H, W >= patch_size) to the CLS features
        ``(batch, hidden_dim)``."""
        x = self.conv_proj(x)  # (batch, hidden, H/p, W/p)
        n_h, n_w = x.shape[-2:]
        x = x.flatten(2).transpose(1, 2)  # (batch, n_patches, hidden)
        x = torch.cat([self.class_token.expand(x.shape[0], -1, -1), x], dim=1)
        # torchvision's Encoder.forward, with the position embedding resized
        x = self.encoder.dropout(x + self._pos_embedding(n_h, n_w))
        return self.encoder.ln(self.encoder.layers(x))[:, 0]
