"""SimCLR's view pipeline and the minimal crop + flip pipeline."""

from __future__ import annotations

from collections.abc import Sequence

from ssl_it import checks
from ssl_it.augmentation import validation as view_checks
from ssl_it.augmentation.base import MultiView
from ssl_it.augmentation.view import Normalize, ViewRecipe


class SimCLRViews(MultiView):
    """SimCLR augmentations (Chen et al. 2020, arXiv:2002.05709, appendix A):
    ``n_views`` i.i.d. views, each a random resized crop, horizontal flip,
    colour jitter of strength s (0.8s, 0.8s, 0.8s, 0.2s; s = 1 by default)
    with probability 0.8, grayscale with probability 0.2 and Gaussian blur
    with probability 0.5 (kernel ~10% of the image, sigma in [0.1, 2]).

    Small and grayscale images: the blur kernel defaults to ~10% of
    ``image_size`` (3 px at 28-32 px); saturation, hue and grayscale are
    no-ops on 1-channel images. Digits are not flip-invariant ("2" vs a
    mirrored "2"), nor is a scale of 0.08 (a few pixels of a stroke) a view
    of the same digit: for MNIST use ``flip_prob=0`` and a larger minimum
    scale (``configs/augmentation/simclr_mnist.yaml``).

    Args:
        image_size: side of the (square) input images; the views have this size.
        channels: image channels.
        mean: per-channel means for normalisation.
        std: per-channel standard deviations.
        n_views: i.i.d. views per sample (>= 1).
        scale: crop area fraction range, ``0 < low <= high <= 1``.
        ratio: crop aspect ratio range, ``0 < low <= high``.
        flip_prob: horizontal flip probability.
        jitter_prob: colour-jitter probability.
        brightness: brightness jitter strength (>= 0).
        contrast: contrast jitter strength (>= 0).
        saturation: saturation jitter strength (>= 0).
        hue: hue jitter strength in [0, 0.5].
        grayscale_prob: probability of converting to grayscale.
        blur_prob: Gaussian-blur probability.
        blur_kernel: odd kernel side <= image_size; ``None``: ~10% of it.
        blur_sigma: range of the blur standard deviation in px.

    Raises:
        ValueError: vector data (``image_size`` None) or any field out of range.
    """

    def __init__(
        self,
        image_size: int | None,
        channels: int,
        mean: Sequence[float],
        std: Sequence[float],
        n_views: int = 2,
        scale: Sequence[float] = (0.08, 1.0),
        ratio: Sequence[float] = (3 / 4, 4 / 3),
        flip_prob: float = 0.5,
        jitter_prob: float = 0.8,
        brightness: float = 0.8,
        contrast: float = 0.8,
        saturation: float = 0.8,
        hue: float = 0.2,
        grayscale_prob: float = 0.2,
        blur_prob: float = 0.5,
        blur_kernel: int | None = None,
        blur_sigma: Sequence[float] = (0.1, 2.0),
    ) -> None:
        size = view_checks.image_size(image_size, "simclr")
        self.normalize = Normalize(mean, std, view_checks.channels(channels))
        view = ViewRecipe(
            size=size,
            scale=view_checks.scale(scale),
            ratio=view_checks.ratio(ratio),
            flip_prob=checks.probability("augmentation.flip_prob", flip_prob),
            **view_checks.color_args(jitter_prob, brightness, contrast, saturation, hue, grayscale_prob),
            blur_prob=checks.probability("augmentation.blur_prob", blur_prob),
            blur_kernel=view_checks.blur_kernel(blur_kernel, size),
            blur_sigma=view_checks.sigma(blur_sigma),
        )
        self.views = [view] * checks.integer("augmentation.n_views", n_views)
        self.n_global_views = n_views
        self.global_size = size


class Minimal(MultiView):
    """Random resized crop and horizontal flip only: the weakest pipeline
    that still makes two views differ.

    Args:
        image_size: side of the input images and of the views.
        channels: image channels.
        mean: per-channel means.
        std: per-channel standard deviations.
        n_views: i.i.d. views per sample (>= 1).
        scale: crop area fraction range, ``0 < low <= high <= 1`` (milder
            than SimCLR's 0.08 by default).
        ratio: crop aspect ratio range.
        flip_prob: horizontal flip probability (0 for digits).

    Raises:
        ValueError: vector data or any field out of range.
    """

    def __init__(
        self,
        image_size: int | None,
        channels: int,
        mean: Sequence[float],
        std: Sequence[float],
        n_views: int = 2,
        scale: Sequence[float] = (0.2, 1.0),
        ratio: Sequence[float] = (3 / 4, 4 / 3),
        flip_prob: float = 0.5,
    ) -> None:
        size = view_checks.image_size(image_size, "minimal")
        self.normalize = Normalize(mean, std, view_checks.channels(channels))
        view = ViewRecipe(
            size=size,
            scale=view_checks.scale(scale),
            ratio=view_checks.ratio(ratio),
            flip_prob=checks.probability("augmentation.flip_prob", flip_prob),
        )
        self.views = [view] * checks.integer("augmentation.n_views", n_views)
        self.n_global_views = n_views
        self.global_size = size
