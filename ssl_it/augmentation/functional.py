"""Tensor operations of the view pipelines, on one float image ``(C, H, W)``
with values in [0, 1].

They mirror torchvision's transforms (same parameter sampling for the
random resized crop, same colour-jitter formulas) but run as a few plain
torch ops each, without PIL and without the v2 dispatch machinery: per view
this is several times faster on the small images of the CPU demo. Every op
keeps values in [0, 1]. Randomness comes from torch's global generator.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as nnf

_HSV_OFFSETS = torch.tensor([5.0, 3.0, 1.0]).view(3, 1, 1)  # R, G, B in hsv -> rgb
_GRAY = torch.tensor([0.2989, 0.587, 0.114]).view(3, 1, 1)  # ITU-R 601-2 luma, as torchvision


def crop_params(height: int, width: int, scale: tuple[float, float],
                ratio: tuple[float, float]) -> tuple[int, int, int, int]:
    """Sample ``(top, left, h, w)`` of a random crop covering a fraction in
    ``scale`` of the area, aspect ratio log-uniform in ``ratio``
    (torchvision's ``RandomResizedCrop.get_params``: 10 tries, then a
    centre crop of the clamped ratio)."""
    area = height * width
    u = torch.rand(10, 4).tolist()
    log_lo, log_hi = math.log(ratio[0]), math.log(ratio[1])
    for a, r, ti, tj in u:
        target = area * (scale[0] + a * (scale[1] - scale[0]))
        aspect = math.exp(log_lo + r * (log_hi - log_lo))
        w = int(round(math.sqrt(target * aspect)))
        h = int(round(math.sqrt(target / aspect)))
        if 0 < w <= width and 0 < h <= height:
            return int(ti * (height - h + 1)), int(tj * (width - w + 1)), h, w
    in_ratio = width / height
    if in_ratio < ratio[0]:
        w, h = width, int(round(width / ratio[0]))
    elif in_ratio > ratio[1]:
        h, w = height, int(round(height * ratio[1]))
    else:
        w, h = width, height
    return (height - h) // 2, (width - w) // 2, h, w


def resized_crop(x: torch.Tensor, top: int, left: int, h: int, w: int, size: int) -> torch.Tensor:
    """Crop ``x[:, top:top+h, left:left+w]`` and resize it to ``size x size``
    (bilinear, antialiased when shrinking: values stay in the input's range)."""
    x = x[:, top:top + h, left:left + w]
    if h == size and w == size:
        return x
    return nnf.interpolate(x[None], size=(size, size), mode="bilinear",
                           align_corners=False, antialias=True)[0]


def gray(x: torch.Tensor) -> torch.Tensor:
    """Luma ``(1, H, W)`` of an RGB image; a 1-channel image is returned as is."""
    if x.shape[0] != 3:
        return x
    return (x * _GRAY.to(x.dtype)).sum(0, keepdim=True)


def _blend(x: torch.Tensor, other: torch.Tensor | float, factor: float) -> torch.Tensor:
    return (factor * x + (1.0 - factor) * other).clamp_(0.0, 1.0)


def color_jitter(x: torch.Tensor, brightness: float, contrast: float,
                 saturation: float, hue: float) -> torch.Tensor:
    """torchvision's ``ColorJitter``: the four adjustments in a random order,
    factors uniform in ``[max(0, 1 - s), 1 + s]`` (hue shift in
    ``[-hue, hue]``). Saturation and hue leave 1-channel images unchanged."""
    rgb = x.shape[0] == 3
    u = torch.rand(5).tolist()
    for op in torch.randperm(4).tolist():
        if op == 0 and brightness > 0:
            f = max(0.0, 1 - brightness) + u[0] * (1 + brightness - max(0.0, 1 - brightness))
            x = (x * f).clamp(0.0, 1.0)
        elif op == 1 and contrast > 0:
            f = max(0.0, 1 - contrast) + u[1] * (1 + contrast - max(0.0, 1 - contrast))
            x = _blend(x, gray(x).mean(), f)
        elif op == 2 and saturation > 0 and rgb:
            f = max(0.0, 1 - saturation) + u[2] * (1 + saturation - max(0.0, 1 - saturation))
            x = _blend(x, gray(x), f)
        elif op == 3 and hue > 0 and rgb:
            x = adjust_hue(x, (2 * u[3] - 1) * hue)
    return x


def adjust_hue(x: torch.Tensor, shift: float) -> torch.Tensor:
    """Rotate the HSV hue of an RGB image by ``shift`` turns (in [-0.5, 0.5]);
    value and saturation are kept. Equals torchvision's ``adjust_hue`` (to
    1e-6) in closed form: with ``M, m`` the channel max/min, ``C = M - m``
    and ``h`` the hue in sextants, channel ``n`` is
    ``M - C * clamp(min(k, 4 - k), 0, 1)``, ``k = (n + h') mod 6``."""
    mx, argmax = x.max(0)
    c = mx - x.min(0).values
    cs = torch.where(c > 0, c, torch.ones_like(c))
    r, g, b = x
    h = torch.where(argmax == 0, ((g - b) / cs) % 6,
                    torch.where(argmax == 1, (b - r) / cs + 2, (r - g) / cs + 4))
    k = (_HSV_OFFSETS.to(x.dtype) + (h + 6 * shift)) % 6
    return mx - c * torch.minimum(k, 4 - k).clamp(0, 1)


def to_grayscale(x: torch.Tensor) -> torch.Tensor:
    """Replace every channel by the luma (no-op on 1-channel images)."""
    return gray(x).expand_as(x).contiguous() if x.shape[0] == 3 else x


def gaussian_blur(x: torch.Tensor, kernel: int, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur with an odd ``kernel`` (<= image side) and
    reflect padding, as torchvision's ``gaussian_blur``."""
    if kernel == 1:
        return x
    c, h, w = x.shape
    pad = kernel // 2
    t = torch.arange(kernel, dtype=x.dtype) - pad
    k1 = torch.exp(-0.5 * (t / sigma) ** 2)
    k1 = k1 / k1.sum()
    hp = h + 2 * pad
    y = nnf.pad(x[None], (pad, pad, pad, pad), mode="reflect")  # (1, C, H+2p, W+2p)
    # Channels stacked as one tall image: a single-channel conv is much faster
    # than a grouped one on tiny inputs; rows of one channel never mix with the
    # next because only the first H of each channel's H+2p output rows are kept.
    y = y.reshape(1, 1, c * hp, w + 2 * pad)
    y = nnf.conv2d(nnf.conv2d(y, k1.view(1, 1, 1, kernel)), k1.view(1, 1, kernel, 1))
    y = nnf.pad(y, (0, 0, 0, 2 * pad))  # (1, 1, C*(H+2p), W)
    return y.view(c, hp, w)[:, :h]


def solarize(x: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """Invert the values at or above ``threshold``: ``x >= t -> 1 - x``."""
    return torch.where(x >= threshold, 1.0 - x, x)
