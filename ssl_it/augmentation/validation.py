"""Argument checks shared by the view pipelines.

The pipelines are built from ``configs/augmentation/<name>.yaml`` and the data
config, so errors name ``augmentation.<field>`` for the pipeline's own
arguments and ``data.<key>`` for what comes from the dataset.
"""

from __future__ import annotations

from collections.abc import Sequence


def prob(value: float, key: str) -> float:
    """Check a probability in [0, 1]."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise ValueError(f"augmentation.{key} must be a probability in [0, 1]; got {value!r}")
    return float(value)


def probs(value: Sequence[float], key: str) -> tuple[float, ...]:
    """Check a non-empty list of probabilities in [0, 1] (one per view)."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or not value:
        raise ValueError(f"augmentation.{key} must be a non-empty list of probabilities in [0, 1]; got {value!r}")
    return tuple(prob(v, key) for v in value)


def pair(value: Sequence[float], key: str) -> tuple[float, float]:
    """Check a ``(low, high)`` pair of numbers with ``low <= high``."""
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"augmentation.{key} must be a pair [low, high]; got {value!r}") from None
    if lo > hi:
        raise ValueError(f"augmentation.{key} must have low <= high; got {list(value)!r}")
    return lo, hi


def scale(value: Sequence[float], key: str = "scale") -> tuple[float, float]:
    """Check a crop scale: ``0 < low <= high <= 1`` (fractions of the image area)."""
    lo, hi = pair(value, key)
    if not 0.0 < lo <= hi <= 1.0:
        raise ValueError(f"augmentation.{key} must satisfy 0 < low <= high <= 1; got {list(value)!r}")
    return lo, hi


def ratio(value: Sequence[float], key: str = "ratio") -> tuple[float, float]:
    """Check a crop aspect-ratio range: ``0 < low <= high``."""
    lo, hi = pair(value, key)
    if lo <= 0.0:
        raise ValueError(f"augmentation.{key} must satisfy 0 < low <= high; got {list(value)!r}")
    return lo, hi


def sigma(value: Sequence[float], key: str = "blur_sigma") -> tuple[float, float]:
    """Check a blur standard-deviation range: ``0 < low <= high`` (pixels)."""
    return ratio(value, key)


def strength(value: float, key: str, upper: float | None = None) -> float:
    """Check a non-negative jitter strength, at most ``upper`` when given."""
    bad = isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0
    if bad or (upper is not None and value > upper):
        allowed = f"in [0, {upper}]" if upper is not None else ">= 0"
        raise ValueError(f"augmentation.{key} must be {allowed}; got {value!r}")
    return float(value)


def count(value: int, key: str, minimum: int = 1) -> int:
    """Check an integer count ``>= minimum`` (views, crops)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"augmentation.{key} must be an integer >= {minimum}; got {value!r}")
    return value


def image_size(value: int | None, name: str) -> int:
    """Check that the data are square images of side ``value``.

    Args:
        value: ``data.image_size``; ``None`` for vector data.
        name: the pipeline's config name, for the message.
    """
    if value is None:
        raise ValueError(
            f"augmentation={name} needs images but data.image_size is None (vector data); "
            "use augmentation=none"
        )
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"data.image_size must be a positive integer or None; got {value!r}")
    return value


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
    if isinstance(value, bool) or not isinstance(value, int) or value < 1 or value % 2 == 0:
        raise ValueError(f"augmentation.{key} must be an odd positive integer or null; got {value!r}")
    if value > size:
        raise ValueError(f"augmentation.{key} must be at most the view size {size} px; got {value}")
    return value


def channels(value: int | None) -> int:
    """Check ``data.channels`` (``None`` or 1 for vectors)."""
    if value is None:
        return 1
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"data.channels must be a positive integer; got {value!r}")
    return value


def color_args(jitter_prob: float, brightness: float, contrast: float, saturation: float,
               hue: float, grayscale_prob: float) -> dict[str, float]:
    """Check the colour fields shared by the pipelines; return them as
    keyword arguments of ``ViewTransform``."""
    return {
        "jitter_prob": prob(jitter_prob, "jitter_prob"),
        "brightness": strength(brightness, "brightness"),
        "contrast": strength(contrast, "contrast"),
        "saturation": strength(saturation, "saturation"),
        "hue": strength(hue, "hue", upper=0.5),
        "grayscale_prob": prob(grayscale_prob, "grayscale_prob"),
    }
