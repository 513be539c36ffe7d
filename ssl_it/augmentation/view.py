"""One random view: crop, flip, colour, blur, solarize, then normalise."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from ssl_it.augmentation import functional as fn


def fit_to_size(x: torch.Tensor, size: int) -> torch.Tensor:
    """Resize ``(C, H, W)`` so its shorter side is ``size`` (bilinear,
    antialiased), then centre-crop to ``size x size``; identity when the
    image already has that size."""
    h, w = x.shape[-2:]
    if (h, w) == (size, size):
        return x
    short = min(h, w)
    new_h, new_w = max(size, round(h * size / short)), max(size, round(w * size / short))
    x = torch.nn.functional.interpolate(x[None].float(), size=(new_h, new_w), mode="bilinear",
                                        align_corners=False, antialias=True)[0].clamp_(0.0, 1.0)
    top, left = (new_h - size) // 2, (new_w - size) // 2
    return x[:, top:top + size, left:left + size]


class Normalize:
    """``(x - mean) / std`` with per-channel statistics.

    Images ``(C, H, W)`` take ``C`` values (or one, broadcast); vectors
    ``(D,)`` take ``D`` values (or one).

    Args:
        mean: per-channel means.
        std: per-channel standard deviations (> 0).
        channels: ``C`` for images; ``None`` for vector data.

    Raises:
        ValueError: empty statistics, a length other than 1 or ``channels``,
            a non-positive std.
    """

    def __init__(self, mean: Sequence[float], std: Sequence[float], channels: int | None = None) -> None:
        try:
            m = [float(v) for v in mean]
            s = [float(v) for v in std]
        except (TypeError, ValueError):
            raise ValueError(f"data.mean and data.std must be lists of floats; got {mean!r}, {std!r}") from None
        allowed = {1} if channels is None else {1, channels}
        for key, values in (("mean", m), ("std", s)):
            if not values or (channels is not None and len(values) not in allowed):
                raise ValueError(
                    f"data.{key} needs 1 or {channels} (data.channels) values; got {len(values)}"
                )
        if any(v <= 0 for v in s):
            raise ValueError(f"data.std must be positive; got {s}")
        shape = (-1,) if channels is None else (-1, 1, 1)
        self.mean = torch.tensor(m).view(shape)
        self.std = torch.tensor(s).view(shape)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Normalise one sample (``(C, H, W)`` or ``(D,)``)."""
        if x.dim() == 1 and self.mean.numel() not in (1, x.shape[0]):
            raise ValueError(
                f"data.mean has {self.mean.numel()} values but the vectors have {x.shape[0]} features"
            )
        return (x - self.mean) / self.std

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean.flatten().tolist()}, std={self.std.flatten().tolist()})"


@dataclass
class ViewTransform:
    """The random transform of one view, applied to ``(C, H, W)`` in [0, 1].

    In order: random resized crop to ``size`` (area fraction in ``scale``,
    aspect ratio in ``ratio``), horizontal flip, colour jitter (with
    probability ``jitter_prob``), grayscale, Gaussian blur (sigma uniform in
    ``blur_sigma``), solarize, and normalisation. A step whose probability or
    strength is zero is skipped and draws no random numbers. Arguments are
    checked by the pipelines that build this class.
    """

    size: int
    normalize: Normalize
    scale: tuple[float, float] = (0.08, 1.0)
    ratio: tuple[float, float] = (3 / 4, 4 / 3)
    flip_prob: float = 0.0
    jitter_prob: float = 0.0
    brightness: float = 0.0
    contrast: float = 0.0
    saturation: float = 0.0
    hue: float = 0.0
    grayscale_prob: float = 0.0
    blur_prob: float = 0.0
    blur_kernel: int = 1
    blur_sigma: tuple[float, float] = (0.1, 2.0)
    solarize_prob: float = 0.0

    def _coin(self, p: float) -> bool:
        return p >= 1.0 or (p > 0.0 and torch.rand(()).item() < p)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Return one normalised ``(C, size, size)`` view of ``x``."""
        top, left, h, w = fn.crop_params(x.shape[-2], x.shape[-1], self.scale, self.ratio)
        x = fn.resized_crop(x, top, left, h, w, self.size)
        if self._coin(self.flip_prob):
            x = x.flip(-1)
        if self._coin(self.jitter_prob):
            x = fn.color_jitter(x, self.brightness, self.contrast, self.saturation, self.hue)
        if x.shape[0] == 3 and self._coin(self.grayscale_prob):
            x = fn.to_grayscale(x)
        if self.blur_kernel > 1 and self._coin(self.blur_prob):
            lo, hi = self.blur_sigma
            x = fn.gaussian_blur(x, self.blur_kernel, lo + (hi - lo) * torch.rand(()).item())
        if self._coin(self.solarize_prob):
            x = fn.solarize(x)
        return self.normalize(x)
