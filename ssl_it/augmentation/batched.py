"""The one implementation of the view pipelines: a whole batch at once, on
the batch's device (the CPU loader workers or the accelerator).

``BatchedViews(pipeline, seed)`` takes any view pipeline of this package
(SimCLRViews, BYOLViews, VICRegViews, multi-crop, minimal, none) and applies its recipe to a
batch of uint8 images ``(B, C, H, W)`` (or float vectors ``(B, D)`` for
``none``) with per-sample random parameters:

- parameters are planned on the CPU (:meth:`BatchedViews.plan`) from the
  samples' keys ``(seed, epoch, index, view)`` with a counter-based
  generator (:func:`ssl_it.augmentation.keyed.keyed_uniform`), so a sample's
  views do not depend on its batch, the batch size, a resume, the worker or
  the device: a CPU run and a GPU run of one config draw the same views;
- the plan holds only tensors whose sizes the host knows (which samples are
  flipped, jittered in which order, blurred...), so applying it
  (:meth:`BatchedViews.apply`) never reads the device back: no host sync;
- the pixels are transformed by the kernels of
  :mod:`ssl_it.augmentation.kernels`, which take one parameter per sample.

Parameter distributions are torchvision's: crop scale/ratio with 10 tries
then a centre crop (``RandomResizedCrop.get_params``), colour-jitter factors
in ``[max(0, 1 - s), 1 + s]`` applied in a random order per sample, hue
shift in ``[-h, h]`` turns, blur sigma uniform in its range.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np
import torch

from ssl_it.augmentation import kernels as k
from ssl_it.augmentation.base import MultiView
from ssl_it.augmentation.keyed import keyed_uniform
from ssl_it.augmentation.view import ViewRecipe

Plan = dict[str, torch.Tensor]
# columns of the per-view uniforms
_CROP, _FLIP, _JITTER, _FACTORS, _ORDER, _GRAY, _BLUR, _SIGMA, _SOLARIZE, _N_DRAWS = (
    0,
    40,
    41,
    42,
    46,
    50,
    51,
    52,
    53,
    54,
)


def crop_boxes(
    u: np.ndarray, height: int, width: int, scale: tuple[float, float], ratio: tuple[float, float]
) -> np.ndarray:
    """``(B, 4)`` crops ``(left, top, right, bottom)`` from ``(B, 40)`` uniforms:
    torchvision's ``RandomResizedCrop.get_params`` for every row at once
    (the first of 10 candidate crops that fits, else a centre crop of the
    clamped ratio)."""
    area = height * width
    a, r, ti, tj = (u[:, k::4] for k in range(4))  # (B, 10) each
    target = area * (scale[0] + a * (scale[1] - scale[0]))
    log_lo, log_hi = math.log(ratio[0]), math.log(ratio[1])
    aspect = np.exp(log_lo + r * (log_hi - log_lo))
    w = np.round(np.sqrt(target * aspect))
    h = np.round(np.sqrt(target / aspect))
    ok = (w > 0) & (w <= width) & (h > 0) & (h <= height)
    first = ok.argmax(axis=1)
    rows = np.arange(len(u))
    w, h, ti, tj = w[rows, first], h[rows, first], ti[rows, first], tj[rows, first]
    top, left = np.floor(ti * (height - h + 1)), np.floor(tj * (width - w + 1))
    in_ratio = width / height
    if in_ratio < ratio[0]:
        fw, fh = width, round(width / ratio[0])
    elif in_ratio > ratio[1]:
        fw, fh = round(height * ratio[1]), height
    else:
        fw, fh = width, height
    fallback = ~ok.any(axis=1)
    w, h = np.where(fallback, fw, w), np.where(fallback, fh, h)
    top, left = np.where(fallback, (height - h) // 2, top), np.where(fallback, (width - w) // 2, left)
    return np.stack([left, top, left + w, top + h], axis=1)


def _jitter(kind: str, factors: torch.Tensor, z: torch.Tensor, i: torch.Tensor) -> torch.Tensor:
    """Colour-jitter ``kind`` of the rows ``z`` with their factors ``factors[i]``."""
    return k.jitter(kind, z, factors[i])


def _subset(
    x: torch.Tensor, idx: torch.Tensor, fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
) -> torch.Tensor:
    """``fn`` on the rows ``idx`` of ``x`` (``fn(rows, idx)``), the others kept;
    ``x`` is updated in place (the pipeline owns it). ``idx.numel()`` is host
    metadata: nothing is read back from the device."""
    n = idx.numel()
    if n == 0:
        return x
    if n == x.shape[0]:
        return fn(x, idx)
    return x.index_copy_(0, idx, fn(x.index_select(0, idx), idx))


def _indices(mask: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.flatnonzero(mask).astype(np.int64))


class BatchedViews:
    """A view pipeline applied to a batch on its device.

    Args:
        pipeline: the pipeline whose recipe is applied.
        seed: the run's seed (first key column).

    Raises:
        ValueError: ``pipeline`` is not a view pipeline of this package.
    """

    def __init__(self, pipeline: MultiView, seed: int) -> None:
        if not isinstance(pipeline, MultiView):
            raise ValueError(
                "augmentation must be a view pipeline of ssl_it.augmentation "
                f"(a MultiView, e.g. augmentation=simclr); got {pipeline!r}"
            )
        self.recipes: list[ViewRecipe | None] = list(pipeline.views)
        self.normalize = pipeline.normalize
        self.sizes = [r.size if r is not None else pipeline.global_size for r in self.recipes]
        self.seed = seed

    @property
    def n_views(self) -> int:
        """The number of views per sample."""
        return len(self.recipes)

    def plan(self, keys: torch.Tensor, height: int, width: int) -> list[Plan]:
        """Per-view random parameters of a batch, on the CPU.

        Args:
            keys: ``(B, 2)`` integer ``(epoch, index)`` of each sample.
            height: the height of the batch's (uint8) images.
            width: their width.
        """
        keys_np = keys.cpu().numpy().astype(np.int64)
        plans: list[Plan] = []
        for v, recipe in enumerate(self.recipes):
            if recipe is None:
                plans.append({})
                continue
            full = np.column_stack([np.full(len(keys_np), self.seed), keys_np, np.full(len(keys_np), v)])
            plans.append(self._view_plan(recipe, keyed_uniform(full, _N_DRAWS), height, width))
        return plans

    def _view_plan(self, t: ViewRecipe, u: np.ndarray, height: int, width: int) -> Plan:
        boxes = crop_boxes(u[:, _CROP : _CROP + 40], height, width, t.scale, t.ratio)
        plan: Plan = {
            "boxes": torch.from_numpy(np.column_stack([np.arange(len(u)), boxes]).astype(np.float32)),
            "flip": _indices(u[:, _FLIP] < t.flip_prob),
            "gray": _indices(u[:, _GRAY] < t.grayscale_prob),
            "blur": _indices((u[:, _BLUR] < t.blur_prob) if t.blur_kernel > 1 else np.zeros(len(u), bool)),
            "sigma": torch.from_numpy(
                (t.blur_sigma[0] + u[:, _SIGMA] * (t.blur_sigma[1] - t.blur_sigma[0])).astype(np.float32)
            ),
            "solarize": _indices(u[:, _SOLARIZE] < t.solarize_prob),
        }
        jittered = u[:, _JITTER] < t.jitter_prob
        order = np.argsort(u[:, _ORDER : _ORDER + 4], axis=1)  # a random permutation of the 4 ops per sample
        for j, kind in enumerate(k.JITTER_OPS):
            s = getattr(t, kind)
            uk = u[:, _FACTORS + j]
            factor = (2 * uk - 1) * s if kind == "hue" else max(0.0, 1 - s) + uk * (1 + s - max(0.0, 1 - s))
            plan[kind] = torch.from_numpy(factor.astype(np.float32))
            for slot in range(4):
                active = jittered & (order[:, slot] == j) & (s > 0)
                plan[f"{kind}@{slot}"] = _indices(active)
        return plan

    def apply(self, images: torch.Tensor, plans: list[Plan]) -> list[torch.Tensor]:
        """Normalised float views ``[(B, C, size, size), ...]`` of uint8 (or
        [0, 1] float) ``images`` ``(B, C, H, W)``, or of float vectors
        ``(B, D)``, on ``images.device``; the plans' tensors must be on the
        same device."""
        x = images.float().mul_(1 / 255) if images.dtype == torch.uint8 else images.float()
        fitted: dict[int | None, torch.Tensor] = {}
        views = []
        for recipe, plan, size in zip(self.recipes, plans, self.sizes):
            if recipe is not None:
                views.append(self.normalize(self._random_view(x, recipe, plan)))
                continue
            if size not in fitted:
                fitted[size] = self.normalize(x if size is None or x.dim() != 4 else k.fit(x, size))
                views.append(fitted[size])
            else:
                views.append(fitted[size].clone())
        return views

    def _random_view(self, x: torch.Tensor, t: ViewRecipe, p: Plan) -> torch.Tensor:
        y = k.resized_crops(x, p["boxes"], t.size)
        y = _subset(y, p["flip"], lambda z, i: z.flip(-1))
        rgb = y.shape[1] == 3
        for slot in range(4):
            for kind in k.JITTER_OPS:
                if kind in ("saturation", "hue") and not rgb:
                    continue
                y = _subset(y, p[f"{kind}@{slot}"], functools.partial(_jitter, kind, p[kind]))
        if rgb:
            y = _subset(y, p["gray"], lambda z, i: k.to_grayscale(z))
        y = _subset(y, p["blur"], lambda z, i: k.gaussian_blur(z, p["sigma"][i], t.blur_kernel))
        return _subset(y, p["solarize"], lambda z, i: k.solarize(z))

    def __call__(self, images: torch.Tensor, keys: torch.Tensor) -> list[torch.Tensor]:
        """Plan on the CPU from ``keys`` ``(B, 2)``, then apply on ``images.device``."""
        plans = self.plan(keys, images.shape[-2], images.shape[-1])
        return self.apply(images, [{name: v.to(images.device) for name, v in p.items()} for p in plans])

    def __repr__(self) -> str:
        return f"BatchedViews(n_views={self.n_views}, sizes={self.sizes}, seed={self.seed})"
