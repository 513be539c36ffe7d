"""Multi-crop: two global views and several small local crops."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ssl_it import checks
from ssl_it.augmentation import validation as view_checks
from ssl_it.augmentation.base import MultiView
from ssl_it.augmentation.view import Normalize, ViewRecipe


class MultiCrop(MultiView):
    """Multi-crop views (Caron et al. 2020, SwAV, arXiv:2006.09882; the
    DINO recipe, Caron et al. 2021, arXiv:2104.14294): 2 global crops at
    ``image_size`` (scale ``global_scale``; blur 1.0 / 0.1, solarize
    0.0 / 0.2 as in BYOL), then ``n_local`` crops at ``local_size``
    (scale ``local_scale``, blur ``local_blur_prob``). All views get flip,
    colour jitter (0.4, 0.4, 0.2, 0.1) p 0.8 and grayscale 0.2.

    ``local_size`` defaults to ``round(image_size * 96 / 224)`` (12 px at
    28 px, 14 px at 32 px), as 96 px locals for 224 px globals.

    Args:
        image_size: side of the input images and of the global views.
        channels: image channels.
        mean: per-channel means.
        std: per-channel standard deviations.
        n_local: number of local crops (>= 0).
        local_size: side of the local crops (<= image_size); ``None``: auto.
        global_scale: area fraction range of the global crops.
        local_scale: area fraction range of the local crops.
        ratio: crop aspect ratio range.
        flip_prob: horizontal flip probability.
        jitter_prob: colour-jitter probability.
        brightness: brightness jitter strength (>= 0).
        contrast: contrast jitter strength (>= 0).
        saturation: saturation jitter strength (>= 0).
        hue: hue jitter strength in [0, 0.5].
        grayscale_prob: grayscale probability.
        global_blur_prob: blur probability of the two global views.
        global_solarize_prob: solarize probability of the two global views.
        local_blur_prob: blur probability of the local crops.
        blur_sigma: range of the blur standard deviation in px (the kernel
            is ~10% of each view's size).

    Raises:
        ValueError: vector data or any field out of range.
    """

    def __init__(
        self,
        image_size: int | None,
        channels: int,
        mean: Sequence[float],
        std: Sequence[float],
        n_local: int = 6,
        local_size: int | None = None,
        global_scale: Sequence[float] = (0.4, 1.0),
        local_scale: Sequence[float] = (0.05, 0.4),
        ratio: Sequence[float] = (3 / 4, 4 / 3),
        flip_prob: float = 0.5,
        jitter_prob: float = 0.8,
        brightness: float = 0.4,
        contrast: float = 0.4,
        saturation: float = 0.2,
        hue: float = 0.1,
        grayscale_prob: float = 0.2,
        global_blur_prob: Sequence[float] = (1.0, 0.1),
        global_solarize_prob: Sequence[float] = (0.0, 0.2),
        local_blur_prob: float = 0.5,
        blur_sigma: Sequence[float] = (0.1, 2.0),
    ) -> None:
        size = view_checks.image_size(image_size, "multicrop")
        checks.integer("augmentation.n_local", n_local, minimum=0)
        if local_size is None:
            local_size = max(1, round(size * 96 / 224))
        elif isinstance(local_size, bool) or not isinstance(local_size, int) or not 1 <= local_size <= size:
            checks.fail("augmentation.local_size", f"null or an integer in [1, {size}] (data.image_size)", local_size)
        blur = checks.probabilities("augmentation.global_blur_prob", global_blur_prob)
        solar = checks.probabilities("augmentation.global_solarize_prob", global_solarize_prob)
        for key, probs in (("global_blur_prob", blur), ("global_solarize_prob", solar)):
            if len(probs) != 2:
                checks.fail(f"augmentation.{key}", "2 probabilities (one per global view)", list(probs))
        self.normalize = Normalize(mean, std, view_checks.channels(channels))
        common: dict[str, Any] = dict(
            ratio=view_checks.ratio(ratio),
            flip_prob=checks.probability("augmentation.flip_prob", flip_prob),
            **view_checks.color_args(jitter_prob, brightness, contrast, saturation, hue, grayscale_prob),
            blur_sigma=view_checks.sigma(blur_sigma),
        )
        g_scale, l_scale = (
            view_checks.scale(global_scale, "global_scale"),
            view_checks.scale(local_scale, "local_scale"),
        )
        g_kernel, l_kernel = view_checks.blur_kernel(None, size), view_checks.blur_kernel(None, local_size)
        self.views = [
            ViewRecipe(size=size, scale=g_scale, blur_prob=b, blur_kernel=g_kernel, solarize_prob=s, **common)
            for b, s in zip(blur, solar)
        ]
        local = ViewRecipe(
            size=local_size,
            scale=l_scale,
            blur_kernel=l_kernel,
            blur_prob=checks.probability("augmentation.local_blur_prob", local_blur_prob),
            **common,
        )
        self.views += [local] * n_local
        self.n_global_views = 2
        self.global_size = size
        self.local_size = local_size if n_local else None
