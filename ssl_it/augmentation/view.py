"""The recipe of one random view, and the normalisation every view ends with."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from ssl_it import checks


def _floats(key: str, values: Sequence[float]) -> list[float]:
    """``values`` as floats, or :class:`~ssl_it.checks.InvalidValue` naming ``key``."""
    try:
        return [float(v) for v in values]
    except (TypeError, ValueError):
        pass
    checks.fail(key, "a list of numbers", values)


class Normalize:
    """``(x - mean) / std`` with per-channel statistics.

    Images ``(..., C, H, W)`` take ``C`` values (or one, broadcast); vectors
    ``(..., D)`` take ``D`` values (or one).

    Args:
        mean: per-channel means.
        std: per-channel standard deviations (> 0).
        channels: ``C`` for images; ``None`` for vector data.

    Raises:
        ValueError: empty statistics, a length other than 1 or ``channels``,
            a non-positive std.
    """

    def __init__(self, mean: Sequence[float], std: Sequence[float], channels: int | None = None) -> None:
        m, s = _floats("data.mean", mean), _floats("data.std", std)
        for key, values in (("data.mean", m), ("data.std", s)):
            if not values or (channels is not None and len(values) not in (1, channels)):
                allowed = "a non-empty list" if channels is None else f"1 or {channels} (data.channels) values"
                checks.fail(key, allowed, values)
        if any(v <= 0 for v in s):
            checks.fail("data.std", "a list of numbers > 0", s)
        self.channels = channels
        shape = (-1,) if channels is None else (-1, 1, 1)
        self.mean = torch.tensor(m).view(shape)
        self.std = torch.tensor(s).view(shape)
        self._on_device: dict[torch.device, tuple[torch.Tensor, torch.Tensor]] = {}

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Normalise a sample or a batch, on ``x``'s device."""
        if self.channels is None and self.mean.numel() not in (1, x.shape[-1]):
            raise ValueError(f"data.mean has {self.mean.numel()} values but the vectors have {x.shape[-1]} features")
        mean, std = self._statistics(x.device)
        return (x - mean) / std

    def _statistics(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """``(mean, std)`` on ``device``: copied there once, from pinned memory without waiting (a plain
        copy from host memory to a GPU on every batch would block the host)."""
        if device.type == "cpu":
            return self.mean, self.std
        if device not in self._on_device:
            self._on_device[device] = tuple(  # type: ignore[assignment]
                t.pin_memory().to(device, non_blocking=True) for t in (self.mean, self.std)
            )
        return self._on_device[device]

    def __getstate__(self) -> dict[str, object]:
        return {**self.__dict__, "_on_device": {}}  # loader workers get the statistics, not device copies

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean.flatten().tolist()}, std={self.std.flatten().tolist()})"


@dataclass(frozen=True)
class ViewRecipe:
    """The random steps of one view, applied by
    :class:`~ssl_it.augmentation.batched.BatchedViews`.

    In order: random resized crop to ``size`` (area fraction in ``scale``,
    aspect ratio in ``ratio``), horizontal flip, colour jitter (with
    probability ``jitter_prob``), grayscale, Gaussian blur (sigma uniform in
    ``blur_sigma``), solarize; then the pipeline's normalisation. Arguments
    are checked by the pipelines that build this class.
    """

    size: int
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
