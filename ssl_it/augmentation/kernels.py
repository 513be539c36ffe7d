"""Pixel operations of the view pipeline on a batch ``(B, C, H, W)`` of float
images in [0, 1], one parameter per sample.

The same kernels run in the CPU loader workers and on an accelerator:
``torchvision.ops.roi_align`` for the random resized crops (one box per
sample; it averages ``ceil(crop/out)^2`` bilinear samples per output pixel,
i.e. antialiased when shrinking), kornia's brightness, contrast, saturation,
grayscale and separable blur ops (torchvision's ``ColorJitter`` formulas to
2e-4: kornia's luma weighs red 0.299, torchvision's 0.2989; its
``gaussian_blur`` to 1e-5), and a closed-form HSV hue rotation written here
(torchvision's ``adjust_hue`` to 1e-5; faster than kornia's on the CPU, see
docs/results/views-per-core.md).
Every op keeps values in [0, 1].
"""

from __future__ import annotations

import kornia
import torch
import torch.nn.functional as nnf
from torchvision.ops import roi_align

JITTER_OPS = ("brightness", "contrast", "saturation", "hue")
_HSV_OFFSETS = (5.0, 3.0, 1.0)  # R, G, B in hsv -> rgb


def resized_crops(x: torch.Tensor, boxes: torch.Tensor, size: int) -> torch.Tensor:
    """``(B, C, size, size)`` crops of ``x``; ``boxes`` ``(B, 5)`` holds
    ``(row, left, top, right, bottom)`` in pixels, one box per sample."""
    y = roi_align(x, boxes, (size, size), spatial_scale=1.0, sampling_ratio=-1, aligned=True)
    return y.clamp_(0.0, 1.0)


def adjust_hue(x: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """Rotate the HSV hue of RGB images by ``shift`` ``(B,)`` turns (in
    [-0.5, 0.5]); value and saturation are kept.

    With ``M, m`` the channel max/min, ``C = M - m`` and ``h`` the hue in
    sextants shifted by ``6 * shift``, channel ``n`` is
    ``M - C * clamp(min(k, 4 - k), 0, 1)``, ``k = (h + o_n) mod 6`` with
    ``o = (5, 3, 1)``: torchvision's ``adjust_hue`` (an HSV round trip) in
    closed form.
    """
    r, g, b = x.unbind(1)
    mx = torch.maximum(torch.maximum(r, g), b)
    c = mx - torch.minimum(torch.minimum(r, g), b)
    r_max, g_max = r == mx, g == mx
    h = torch.where(r_max, g - b, torch.where(g_max, b - r, r - g)) / torch.where(c > 0, c, 1.0)
    h += torch.where(r_max, 0.0, torch.where(g_max, 2.0, 4.0))
    h += (6.0 * shift.to(x.dtype)).view(-1, 1, 1)
    # the offsets as Python numbers: a tensor made from them on a GPU is a blocking host-to-device copy
    k = torch.stack([torch.remainder(h + offset, 6.0) for offset in _HSV_OFFSETS], 1)  # (B, 3, H, W)
    k = torch.minimum(k, 4.0 - k).clamp_(0.0, 1.0)
    return mx.unsqueeze(1) - c.unsqueeze(1) * k


def jitter(kind: str, x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """One colour-jitter step with one factor per sample (``hue``: a shift in turns)."""
    if kind == "brightness":
        return kornia.enhance.adjust_brightness_accumulative(x, factor)
    if kind == "contrast":
        return kornia.enhance.adjust_contrast_with_mean_subtraction(x, factor)
    if kind == "saturation":
        return kornia.enhance.adjust_saturation_with_gray_subtraction(x, factor)
    return adjust_hue(x, factor)


def to_grayscale(x: torch.Tensor) -> torch.Tensor:
    """Every channel replaced by the ITU-R 601-2 luma (RGB images)."""
    return kornia.color.rgb_to_grayscale(x).expand_as(x).contiguous()


def gaussian_blur(x: torch.Tensor, sigma: torch.Tensor, kernel: int) -> torch.Tensor:
    """Separable Gaussian blur, odd ``kernel``, one ``sigma`` per sample, reflect padding."""
    k = kornia.filters.get_gaussian_kernel1d(kernel, sigma[:, None].to(x.dtype))  # (B, kernel)
    return kornia.filters.filter2d_separable(x, k, k, "reflect")


def solarize(x: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """Invert the values at or above ``threshold``: ``x >= t -> 1 - x``."""
    return torch.where(x >= threshold, 1.0 - x, x)


def fit(x: torch.Tensor, size: int) -> torch.Tensor:
    """Resize ``(B, C, H, W)`` so the shorter side is ``size`` (bilinear,
    antialiased), then centre-crop to ``size x size``; identity when the
    images already have that size."""
    h, w = x.shape[-2:]
    if (h, w) == (size, size):
        return x
    short = min(h, w)
    new = (max(size, round(h * size / short)), max(size, round(w * size / short)))
    x = nnf.interpolate(x, size=new, mode="bilinear", align_corners=False, antialias=True).clamp_(0.0, 1.0)
    top, left = (new[0] - size) // 2, (new[1] - size) // 2
    return x[..., top : top + size, left : left + size]
