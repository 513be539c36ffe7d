"""The view pipelines run on a whole batch, on the batch's device (GPU views).

``BatchedViews(pipeline, seed)`` takes any view pipeline of this package
(SimCLR, BYOL/VICReg, multi-crop, minimal, none) and applies the same
recipe to a batch of uint8 images ``(B, C, H, W)`` at once, on whatever
device the batch lives on, with per-sample random parameters:

- parameters are planned on the CPU (:meth:`BatchedViews.plan`) from the
  samples' keys ``(seed, epoch, index, view)`` with a counter-based
  generator (:func:`ssl_it.augmentation.keyed.keyed_uniform`), so a sample's
  views do not depend on its batch, the batch size, a resume or the device;
- the plan holds only tensors whose sizes the host knows (which samples are
  flipped, jittered in which order, blurred...), so applying it
  (:meth:`BatchedViews.apply`) never reads the device back: no host sync;
- the pixels are transformed by well-kept library kernels that take one
  parameter per sample: ``torchvision.ops.roi_align`` for the random
  resized crop (one box per sample; it averages ``ceil(crop/out)^2``
  bilinear samples per output pixel, i.e. antialiased when shrinking) and
  kornia's ``adjust_brightness_accumulative``,
  ``adjust_contrast_with_mean_subtraction``,
  ``adjust_saturation_with_gray_subtraction``, ``adjust_hue`` (these four
  equal torchvision's ``ColorJitter`` formulas to 1e-4),
  ``rgb_to_grayscale`` and a separable Gaussian blur with one sigma per
  sample.

Parameter distributions are those of :class:`ViewTransform` (torchvision's):
crop scale/ratio with 10 tries then a centre crop, colour-jitter factors in
``[max(0, 1 - s), 1 + s]`` applied in a random order per sample, hue shift in
``[-h, h]`` turns, blur sigma uniform in its range. The CPU per-sample path and
this one draw different random numbers for the same key; each is reproducible.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import kornia
import numpy as np
import torch
import torch.nn.functional as nnf
from torchvision.ops import roi_align

from ssl_it.augmentation.base import MultiView
from ssl_it.augmentation.keyed import keyed_uniform
from ssl_it.augmentation.view import Normalize, ViewTransform

Plan = dict[str, torch.Tensor]
JITTER_OPS = ("brightness", "contrast", "saturation", "hue")
# columns of the per-view uniforms
_CROP, _FLIP, _JITTER, _FACTORS, _ORDER, _GRAY, _BLUR, _SIGMA, _SOLARIZE, _N_DRAWS = 0, 40, 41, 42, 46, 50, 51, 52, 53, 54


def crop_boxes(u: np.ndarray, height: int, width: int, scale: tuple[float, float],
               ratio: tuple[float, float]) -> np.ndarray:
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


def _subset(x: torch.Tensor, idx: torch.Tensor, fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> torch.Tensor:
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


def _jitter(kind: str, x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    if kind == "brightness":
        return kornia.enhance.adjust_brightness_accumulative(x, f)
    if kind == "contrast":
        return kornia.enhance.adjust_contrast_with_mean_subtraction(x, f)
    if kind == "saturation":
        return kornia.enhance.adjust_saturation_with_gray_subtraction(x, f)
    return kornia.enhance.adjust_hue(x, f * (2 * math.pi))  # turns -> radians


def _blur(x: torch.Tensor, sigma: torch.Tensor, kernel: int) -> torch.Tensor:
    k = kornia.filters.get_gaussian_kernel1d(kernel, sigma[:, None])  # (n, kernel)
    return kornia.filters.filter2d_separable(x, k, k, "reflect")


def fit_batch(x: torch.Tensor, size: int) -> torch.Tensor:
    """Resize ``(B, C, H, W)`` so the shorter side is ``size``, then centre-crop
    to ``size x size`` (identity when already that size)."""
    h, w = x.shape[-2:]
    if (h, w) != (size, size):
        short = min(h, w)
        new = (max(size, round(h * size / short)), max(size, round(w * size / short)))
        x = nnf.interpolate(x, size=new, mode="bilinear", align_corners=False, antialias=True)
        top, left = (new[0] - size) // 2, (new[1] - size) // 2
        x = x[..., top:top + size, left:left + size]
    return x


class BatchedViews:
    """A view pipeline applied to a batch on its device.

    Args:
        pipeline: the per-sample pipeline whose recipe is applied (its
            :class:`ViewTransform` settings, or plain normalisation).
        seed: the run's seed (first key column).
    """

    def __init__(self, pipeline: MultiView, seed: int) -> None:
        self.steps: list[ViewTransform | None] = [
            t if isinstance(t, ViewTransform) else None for t in pipeline.transforms
        ]
        self.normalizers: list[Normalize] = [
            t.normalize if isinstance(t, ViewTransform) else t for t in pipeline.transforms  # type: ignore[misc]
        ]
        self.sizes = [s if s is not None else pipeline.global_size for s in pipeline.view_sizes]
        self.seed = seed

    @property
    def n_views(self) -> int:
        """The number of views per sample."""
        return len(self.steps)

    def plan(self, keys: torch.Tensor, height: int, width: int) -> list[Plan]:
        """Per-view random parameters of a batch, on the CPU.

        Args:
            keys: ``(B, 2)`` integer ``(epoch, index)`` of each sample.
            height: the height of the batch's (uint8) images.
            width: their width.
        """
        keys_np = keys.cpu().numpy().astype(np.int64)
        plans: list[dict[str, Any]] = []
        for v, step in enumerate(self.steps):
            if step is None:
                plans.append({})
                continue
            full = np.column_stack([np.full(len(keys_np), self.seed), keys_np, np.full(len(keys_np), v)])
            plans.append(self._view_plan(step, keyed_uniform(full, _N_DRAWS), height, width))
        return plans

    def _view_plan(self, t: ViewTransform, u: np.ndarray, height: int, width: int) -> Plan:
        boxes = crop_boxes(u[:, _CROP:_CROP + 40], height, width, t.scale, t.ratio)
        plan: Plan = {
            "boxes": torch.from_numpy(np.column_stack([np.arange(len(u)), boxes]).astype(np.float32)),
            "flip": _indices(u[:, _FLIP] < t.flip_prob),
            "gray": _indices(u[:, _GRAY] < t.grayscale_prob),
            "blur": _indices((u[:, _BLUR] < t.blur_prob) if t.blur_kernel > 1 else np.zeros(len(u), bool)),
            "sigma": torch.from_numpy((t.blur_sigma[0] + u[:, _SIGMA] * (t.blur_sigma[1] - t.blur_sigma[0]))
                                      .astype(np.float32)),
            "solarize": _indices(u[:, _SOLARIZE] < t.solarize_prob),
        }
        jittered = u[:, _JITTER] < t.jitter_prob
        order = np.argsort(u[:, _ORDER:_ORDER + 4], axis=1)  # a random permutation of the 4 ops per sample
        for k, kind in enumerate(JITTER_OPS):
            s = getattr(t, kind)
            uk = u[:, _FACTORS + k]
            factor = (2 * uk - 1) * s if kind == "hue" else max(0.0, 1 - s) + uk * (1 + s - max(0.0, 1 - s))
            plan[kind] = torch.from_numpy(factor.astype(np.float32))
            for slot in range(4):
                active = jittered & (order[:, slot] == k) & (s > 0)
                plan[f"{kind}@{slot}"] = _indices(active)
        return plan

    def apply(self, images: torch.Tensor, plans: list[Plan]) -> list[torch.Tensor]:
        """Normalised float views ``[(B, C, size, size), ...]`` of uint8 (or
        [0, 1] float) ``images`` ``(B, C, H, W)``, on ``images.device``; the
        plans' tensors must be on the same device."""
        x = images.float() / 255.0 if images.dtype == torch.uint8 else images.float()
        views = []
        for step, plan, norm, size in zip(self.steps, plans, self.normalizers, self.sizes):
            y = fit_batch(x, size) if step is None else self._random_view(x, step, plan, size)  # type: ignore[arg-type]
            mean, std = norm.mean.to(y.device), norm.std.to(y.device)
            views.append((y - mean) / std)
        return views

    def _random_view(self, x: torch.Tensor, t: ViewTransform, p: Plan, size: int) -> torch.Tensor:
        y = roi_align(x, p["boxes"], (size, size), spatial_scale=1.0, sampling_ratio=-1, aligned=True)
        y = y.clamp_(0.0, 1.0)
        y = _subset(y, p["flip"], lambda z, i: z.flip(-1))
        rgb = y.shape[1] == 3
        for slot in range(4):
            for kind in JITTER_OPS:
                if kind in ("saturation", "hue") and not rgb:
                    continue
                y = _subset(y, p[f"{kind}@{slot}"], lambda z, i: _jitter(kind, z, p[kind][i]))
        if rgb:
            y = _subset(y, p["gray"], lambda z, i: kornia.color.rgb_to_grayscale(z).expand_as(z).contiguous())
        y = _subset(y, p["blur"], lambda z, i: _blur(z, p["sigma"][i], t.blur_kernel))
        return _subset(y, p["solarize"], lambda z, i: torch.where(z >= 0.5, 1.0 - z, z))

    def __call__(self, images: torch.Tensor, keys: torch.Tensor) -> list[torch.Tensor]:
        """Plan on the CPU from ``keys`` ``(B, 2)``, then apply on ``images.device``."""
        plans = self.plan(keys, images.shape[-2], images.shape[-1])
        return self.apply(images, [{k: v.to(images.device) for k, v in p.items()} for p in plans])

    def __repr__(self) -> str:
        return f"BatchedViews(n_views={self.n_views}, sizes={self.sizes}, seed={self.seed})"
