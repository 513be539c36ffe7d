"""Argument rules of the view pipelines (the generic checks live in
:mod:`ssl_it.checks`).

The pipelines are built from ``configs/augmentation/<name>.yaml`` and the data
config, so errors name ``augmentation.<field>`` for the pipeline's own
arguments and ``data.<key>`` for what comes from the dataset.
"""

from __future__ import annotations

from collections.abc import Sequence

from ssl_it import checks


def scale(value: Sequence[float], key: str = "scale") -> tuple[float, float]:
    """Check a crop scale: ``0 < low <= high <= 1`` (fractions of the image area)."""
    return checks.value_range(f"augmentation.{key}", value, 0.0, 1.0, open_low=True)


def ratio(value: Sequence[float], key: str = "ratio") -> tuple[float, float]:
    """Check a crop aspect-ratio range: ``0 < low <= high``."""
    return checks.value_range(f"augmentation.{key}", value, 0.0, open_low=True)


def sigma(value: Sequence[float], key: str = "blur_sigma") -> tuple[float, float]:
    """Check a blur standard-deviation range: ``0 < low <= high`` (pixels)."""
    return ratio(value, key)


def image_size(value: int | None, name: str) -> int:
    """Check that the data are square images of side ``value``.

    Args:
        value: ``data.image_size``; ``None`` for vector data.
        name: the pipeline's config name, for the message.
    """
    if value is None:
        raise ValueError(
            f"augmentation={name} needs images but data.image_size is None (vector data); use augmentation=none"
        )
    return checks.integer("data.image_size", value)


def blur_kernel(value: int | None, size: int, key: str = "blur_kernel") -> int:
    """The Gaussian-blur kernel side for views of ``size`` px.

    ``None`` gives about 10% of the view size, odd, at least 3 (SimCLR,
    Chen et al. 2020: 23 px at 224 px; 3 px at 28 or 32 px; 1, the
    identity, below 3 px). An explicit value must be odd and at most ``size``.
    """
    if value is None:
        k = int(0.1 * size)
        k = k + 1 if k % 2 == 0 else k
        if size < 3:
            return 1  # nothing to blur: a 1-tap kernel is the identity
        return max(3, min(k, size if size % 2 else size - 1))
    if not checks.is_integer(value) or value < 1 or value % 2 == 0:
        checks.fail(f"augmentation.{key}", "an odd positive integer or null", value)
    if value > size:
        checks.fail(f"augmentation.{key}", f"at most the view size {size} px", value)
    return value


def channels(value: int | None) -> int:
    """Check ``data.channels`` (``None`` or 1 for vectors)."""
    return 1 if value is None else checks.integer("data.channels", value)


def color_args(
    jitter_prob: float, brightness: float, contrast: float, saturation: float, hue: float, grayscale_prob: float
) -> dict[str, float]:
    """Check the colour fields shared by the pipelines; return them as
    keyword arguments of ``ViewRecipe``."""
    return {
        "jitter_prob": checks.probability("augmentation.jitter_prob", jitter_prob),
        "brightness": checks.positive("augmentation.brightness", brightness, allow_zero=True),
        "contrast": checks.positive("augmentation.contrast", contrast, allow_zero=True),
        "saturation": checks.positive("augmentation.saturation", saturation, allow_zero=True),
        "hue": checks.number("augmentation.hue", hue, 0.0, 0.5),
        "grayscale_prob": checks.probability("augmentation.grayscale_prob", grayscale_prob),
    }
