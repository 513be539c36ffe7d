"""Multi-view pipelines' common shape, the identity pipeline and the
evaluation transform."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ssl_it import checks
from ssl_it.augmentation import validation as view_checks
from ssl_it.augmentation.kernels import fit
from ssl_it.augmentation.view import Normalize, ViewRecipe


class MultiView:
    """The recipe of a sample's views: global views first, then local crops.

    A pipeline is a description; :class:`~ssl_it.augmentation.batched.BatchedViews`
    makes the views of a batch from it (in the CPU loader workers or on the
    accelerator). Subclasses fill ``views`` (one :class:`ViewRecipe` per
    random view, ``None`` for the un-augmented input) and ``normalize``.

    Attributes:
        n_views: number of views per sample.
        n_global_views: how many of them (the first ones) are global views.
        global_size: side of the global views in px (``None`` for vectors).
        local_size: side of the local crops (``None`` when there are none).
        view_sizes: the side of each view, in order.
    """

    views: list[ViewRecipe | None]
    normalize: Normalize
    n_global_views: int
    global_size: int | None
    local_size: int | None = None

    @property
    def n_views(self) -> int:
        """The number of views per sample."""
        return len(self.views)

    @property
    def view_sizes(self) -> list[int | None]:
        """The side of each view in px, global views first (``None`` for vectors)."""
        n_local = self.n_views - self.n_global_views
        return [self.global_size] * self.n_global_views + [self.local_size] * n_local

    def __repr__(self) -> str:
        inner = ",\n  ".join(repr(v) for v in self.views)
        return f"{type(self).__name__}(\n  {inner},\n  {self.normalize!r}\n)"


class NoAugmentation(MultiView):
    """Identity views: the normalised input, repeated ``n_views`` times.

    For deterministic information-plane studies and for vector data (the
    classic 12-bit task). Each view is a separate tensor equal to
    ``(x - mean) / std`` (images are first fitted to ``image_size``).

    Args:
        image_size: the image side, or ``None`` for vector data.
        channels: image channels (1 for vectors).
        mean: per-channel means (vectors: 1 or D values).
        std: per-channel standard deviations.
        n_views: views per sample (>= 1).

    Raises:
        ValueError: ``n_views < 1``, malformed statistics.
    """

    def __init__(
        self,
        image_size: int | None,
        channels: int | None,
        mean: Sequence[float],
        std: Sequence[float],
        n_views: int = 2,
    ) -> None:
        checks.integer("augmentation.n_views", n_views)
        self.normalize = Normalize(mean, std, None if image_size is None else view_checks.channels(channels))
        self.views = [None] * n_views
        self.n_global_views = n_views
        self.global_size = image_size


class EvalTransform:
    """The un-augmented input, one tensor: for the probe and validation sets.

    Images whose side is not ``size`` are resized (shorter side to ``size``,
    bilinear, antialiased) and centre-cropped to ``size x size`` first, so
    folders of images of any size give fixed-size inputs; then each
    channel is normalised.

    Args:
        mean: per-channel means (vectors: 1 or D values).
        std: per-channel standard deviations (> 0).
        size: side of the output images; ``None`` keeps the input's size.

    Raises:
        ValueError: empty statistics, a non-positive std, lengths that differ.
    """

    def __init__(self, mean: Sequence[float], std: Sequence[float], size: int | None = None) -> None:
        self.size = size
        if len(mean) != len(std):
            checks.fail("data.std", f"as many values as data.mean ({len(mean)})", std)
        self.normalize = Normalize(mean, std, None)
        n = self.normalize.mean.numel()
        self._image_stats = (self.normalize.mean.view(-1, 1, 1), self.normalize.std.view(-1, 1, 1))
        self._n = n

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Normalise one sample ``(C, H, W)`` or ``(D,)`` (images resized to ``size`` first)."""
        if x.dim() == 3:
            if self.size is not None:
                x = fit(x[None].float(), self.size)[0]
            mean, std = self._image_stats
            if self._n not in (1, x.shape[0]):
                raise ValueError(f"data.mean has {self._n} values but the images have {x.shape[0]} channels")
            return (x - mean) / std
        return self.normalize(x)

    def __repr__(self) -> str:
        return f"EvalTransform({self.normalize!r}, size={self.size})"
