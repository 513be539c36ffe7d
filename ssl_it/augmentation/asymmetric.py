"""Asymmetric two-view pipelines of BYOL and VICReg."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ssl_it import checks
from ssl_it.augmentation import validation as view_checks
from ssl_it.augmentation.base import MultiView
from ssl_it.augmentation.view import Normalize, ViewRecipe


class BYOLViews(MultiView):
    """BYOL augmentations (Grill et al. 2020, arXiv:2006.07733, table 6):
    random resized crop, flip, colour jitter (0.4, 0.4, 0.2, 0.1) with
    probability 0.8, grayscale 0.2, and per-view blur / solarize
    probabilities: view 1 always blurred, never solarized; view 2 blurred
    with probability 0.1, solarized with 0.2.

    View ``i`` uses ``blur_prob[i]`` and ``solarize_prob[i]``; the number of
    views is the length of these lists (2 by default). Saturation, hue and
    grayscale are no-ops on 1-channel images; the blur kernel defaults to
    ~10% of ``image_size``.

    Args:
        image_size: side of the input images and of the views.
        channels: image channels.
        mean: per-channel means.
        std: per-channel standard deviations.
        scale: crop area fraction range, ``0 < low <= high <= 1``.
        ratio: crop aspect ratio range.
        flip_prob: horizontal flip probability.
        jitter_prob: colour-jitter probability.
        brightness: brightness jitter strength (>= 0).
        contrast: contrast jitter strength (>= 0).
        saturation: saturation jitter strength (>= 0).
        hue: hue jitter strength in [0, 0.5].
        grayscale_prob: grayscale probability.
        blur_prob: blur probability of each view.
        solarize_prob: solarize probability of each view (same length).
        blur_kernel: odd kernel side <= image_size; ``None``: ~10% of it.
        blur_sigma: range of the blur standard deviation in px.

    Raises:
        ValueError: vector data, lists of different lengths, any field out
            of range.
    """

    name = "byol"

    def __init__(
        self,
        image_size: int | None,
        channels: int,
        mean: Sequence[float],
        std: Sequence[float],
        scale: Sequence[float] = (0.08, 1.0),
        ratio: Sequence[float] = (3 / 4, 4 / 3),
        flip_prob: float = 0.5,
        jitter_prob: float = 0.8,
        brightness: float = 0.4,
        contrast: float = 0.4,
        saturation: float = 0.2,
        hue: float = 0.1,
        grayscale_prob: float = 0.2,
        blur_prob: Sequence[float] = (1.0, 0.1),
        solarize_prob: Sequence[float] = (0.0, 0.2),
        blur_kernel: int | None = None,
        blur_sigma: Sequence[float] = (0.1, 2.0),
    ) -> None:
        size = view_checks.image_size(image_size, self.name)
        blur = checks.probabilities("augmentation.blur_prob", blur_prob)
        solar = checks.probabilities("augmentation.solarize_prob", solarize_prob)
        if len(blur) != len(solar):
            checks.fail(
                "augmentation.solarize_prob",
                f"one probability per view, as many as augmentation.blur_prob ({len(blur)})",
                list(solar),
            )
        self.normalize = Normalize(mean, std, view_checks.channels(channels))
        common: dict[str, Any] = dict(
            size=size,
            scale=view_checks.scale(scale),
            ratio=view_checks.ratio(ratio),
            flip_prob=checks.probability("augmentation.flip_prob", flip_prob),
            **view_checks.color_args(jitter_prob, brightness, contrast, saturation, hue, grayscale_prob),
            blur_kernel=view_checks.blur_kernel(blur_kernel, size),
            blur_sigma=view_checks.sigma(blur_sigma),
        )
        self.views = [ViewRecipe(blur_prob=b, solarize_prob=s, **common) for b, s in zip(blur, solar)]
        self.n_global_views = len(self.views)
        self.global_size = size


class VICRegViews(BYOLViews):
    """VICReg augmentations (Bardes et al. 2022, arXiv:2105.04906, appendix
    C.1; the authors' ``augmentations.py``): the BYOL recipe, i.e. crop,
    flip, jitter (0.4, 0.4, 0.2, 0.1) p 0.8, grayscale 0.2, blur 1.0 / 0.1,
    solarize 0.0 / 0.2. Same arguments as :class:`BYOL`."""

    name = "vicreg"
