"""A band around any estimate: its sampling spread and how far it moves on MI-preserving views of the data.

Two sources of error that need no ground truth (docs/design.md §8):

* **Sampling spread.** Estimators that report the standard error of their
  own value (``diagnostics["stderr"]``: the classifier bound, from its
  per-sample held-out losses) use it. Any other estimator is re-run on
  ``n_halves`` half-samples drawn without replacement, in complementary
  pairs. For a statistic that averages over samples, the variance of a
  half-sample estimate around the mean of all of them is
  ``sigma^2 / (N / 2) * (1 - 1/2) = sigma^2 / N``, the variance of the
  full-sample estimate (half-sampling, McCarthy 1969, Rev. Int. Stat. Inst.
  37:239): their standard deviation is the standard error at N, no
  rescaling needed, and duplicates (which a bootstrap would create, and
  which break k-NN estimators) never occur.
* **Invariance spread.** MI does not change under an invertible map of
  either side; an estimator does. Each estimate is repeated on a random
  rotation, on a random per-unit rescaling (factors log-uniform in
  [0.1, 10], what a normalisation layer may do) and on the Gaussian copula
  of every continuous side (each unit replaced by the normal scores of its
  ranks, an increasing map of the unit: what a per-unit non-linearity
  changes), except those the estimator declares itself exactly invariant
  to (``MIEstimator.invariances``, each pinned by a test).

The invariance spread may be carried: ``band(..., carried=...)`` skips
the re-estimates and adds the deltas ``value(transformed) - value`` that an
earlier band measured (:attr:`Band.deltas`) to the new value. So may the
half-sample spread: ``band(..., carried_sampling=...)`` takes an earlier
band's :attr:`Band.sampling` instead of re-running the half-samples (a
standard error the estimator reports is never carried: it is free). The
callback does so between the evaluations that re-measure them
(``infoplane.invariance_every``, ``infoplane.sampling_every``): how far an
estimator moves under a rotation, or between two halves of the probe set,
is a property of the estimator on the layer's shape, which changes slowly
over training, while each re-estimate costs as much as the estimate.

The band is ``[min(v) - t s, max(v) + t s]`` with ``v`` the value and its
transformed re-estimates, ``s`` the sampling standard error and ``t`` the
97.5 % Student quantile on the spread's degrees of freedom, clipped to the
range the quantity can take (``[0, ceiling]``). It answers "would another
probe sample, or an equally valid coordinate system of the layer, give a
different number?", which is what a comparison between two evaluations or
two layers measured alike needs. It is not a confidence interval for the
truth: an estimator's bias lies outside it. Where the estimator can size
its own bias (``gaussian_bias``: KSG's on a Gaussian twin of the reduced
pair), ``bias_allowance`` says how far above the band the level may lie;
a lower bound (the classifier) is a lower bound. Where the estimator also
reads what its reduction to principal axes kept of the layer's detectable
information (``kept_share``), ``level_hi`` divides the top by it: the
reduction's loss, which neither the band nor the allowance sees.
docs/design.md §8 gives the coverage of all three on the validation suite.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from scipy.stats import t as student_t

from ssl_it import checks
from ssl_it.estimators.base import MIEstimate, MIEstimator, to_tensor
from ssl_it.estimators.reduction import normal_scores

TRANSFORMS: tuple[str, ...] = ("rotation", "unit_scale", "copula")
"""MI-preserving maps the invariance spread may apply (``MIEstimator.invariances`` names the ones skipped)."""


@dataclass(frozen=True)
class SamplingSpread:
    """A band's sampling spread: standard error, its degrees of freedom and how it was obtained."""

    sd: float
    dof: float
    method: str


@dataclass
class Band:
    """An estimate with its band (nats).

    Attributes:
        estimate: the estimate on the data as given.
        lo, hi: the band, clipped to ``[0, ceiling]``.
        sampling_sd: standard error of the value (``nan`` when not measured).
        invariance: ``{transform: value on the transformed data}``.
        method: how ``sampling_sd`` was obtained (``"stderr"``, ``"half_samples"``).
        dof: degrees of freedom of ``sampling_sd`` (``inf`` for ``"stderr"``).
        bias_allowance: the estimator's bias on a Gaussian twin of the data
            (``gaussian_bias``), where it has one, else 0.
        hi_with_bias: ``hi + bias_allowance`` (clipped): where the level may
            reach once the estimator's own bias is allowed for.
        level_hi: where the level may reach once the reduction's loss is
            allowed for too: ``hi_with_bias / kept_share`` for an estimator
            that reports what its reduction kept (``diagnostics["kept_share"]``,
            ``PCAReducedMI``), the ceiling (``inf`` without one) where it kept
            none it can vouch for (a share of 0) and for a lower bound (the
            truth may lie anywhere above it), else ``hi_with_bias``; clipped
            to the ceiling.
        carried: the invariance values come from deltas measured earlier
            (``band(..., carried=...)``), not from re-estimates on this data.
        sampling_carried: ``sampling_sd`` comes from half-samples of an
            earlier band (``band(..., carried_sampling=...)``).
    """

    estimate: MIEstimate
    lo: float
    hi: float
    sampling_sd: float
    invariance: dict[str, float] = field(default_factory=dict)
    method: str = ""
    dof: float = math.inf
    bias_allowance: float = 0.0
    hi_with_bias: float = math.nan
    carried: bool = False
    sampling_carried: bool = False
    level_hi: float = math.nan

    @property
    def value(self) -> float:
        """The estimate's value in nats."""
        return self.estimate.value

    @property
    def deltas(self) -> dict[str, float]:
        """``{transform: value(transformed) - value}``: what ``band(..., carried=...)`` takes."""
        return {k: v - self.value for k, v in self.invariance.items()}

    @property
    def sampling(self) -> SamplingSpread:
        """The sampling spread as ``band(..., carried_sampling=...)`` takes it."""
        return SamplingSpread(self.sampling_sd, self.dof, self.method)

    @property
    def invariance_spread(self) -> float:
        """The largest ``|value(transformed) - value|`` (0 with no transform run)."""
        return max((abs(v - self.value) for v in self.invariance.values() if math.isfinite(v)), default=0.0)


def check_band_settings(
    n_halves: int,
    transforms: Sequence[str],
    halves_key: str = "n_halves",
    transforms_key: str = "transforms",
) -> None:
    """``n_halves`` an even integer >= 2, each of ``transforms`` one of
    :data:`TRANSFORMS`; errors name ``halves_key`` and ``transforms_key``."""
    if not (checks.is_integer(n_halves) and n_halves >= 2 and n_halves % 2 == 0):
        checks.fail(halves_key, "an even integer >= 2 (complementary pairs of halves)", n_halves)
    for name in transforms:
        checks.choice(transforms_key, name, TRANSFORMS)


class BandMaker:
    """Estimates with bands, with the random maps cached per width (fixed by ``seed``).

    Args:
        n_halves: half-samples for the sampling spread (even, >= 2) of
            estimators that do not report a standard error.
        transforms: which of :data:`TRANSFORMS` the invariance spread may use.
        seed: seed of the half-samples and of the random maps.
    """

    def __init__(self, n_halves: int = 4, transforms: tuple[str, ...] | list[str] = TRANSFORMS, seed: int = 0) -> None:
        check_band_settings(n_halves, transforms)
        self.n_halves, self.transforms, self.seed = n_halves, tuple(transforms), seed
        self._rotations: dict[int, torch.Tensor] = {}
        self._rotations_lock = threading.Lock()  # bands of several quantities may be made in threads at once

    def band(
        self,
        estimator: MIEstimator,
        x: Any,
        y: Any,
        ceiling: float | None = None,
        carried: dict[str, float] | None = None,
        carried_sampling: SamplingSpread | None = None,
        transforms: Sequence[str] | None = None,
    ) -> Band:
        """Estimate ``I(x; y)`` with ``estimator`` and its band (module docstring).

        Args:
            estimator: any :class:`MIEstimator` (re-used for every re-estimate).
            x: ``(N, dx)``; y: ``(N, dy)`` or ``(N,)`` labels.
            ceiling: the most the quantity can be (``log N``, ``H(Y)``); the
                band's top is clipped to it.
            carried: ``{transform: delta}`` from an earlier band of the same
                quantity (:attr:`Band.deltas`): the invariance spread is not
                re-estimated, each transform's value is this value + its delta.
            carried_sampling: an earlier band's :attr:`Band.sampling`: used
                instead of new half-samples (an estimator's own standard
                error is still read from this estimate).
            transforms: the maps of this band's invariance spread, instead of
                the maker's (each one of :data:`TRANSFORMS`).

        The re-estimates use ``estimator.resampling_estimator(estimate)``
        where the estimator has one: an estimator whose method depends on
        the sample (``PCAReducedMI``'s extrapolation weight) re-estimates
        with the method this estimate used.
        """
        xt, yt = to_tensor(x, "x"), to_tensor(y, "y")
        labels = yt.ndim == 1 and not (yt.is_floating_point() or yt.is_complex())
        # the estimators compute in float64 (base.check_pair): converting once here hands every re-estimate
        # and the bias check the same tensor, so what an estimator remembers of it (a reduction) is reused
        xt = xt.double() if xt.is_floating_point() else xt
        yt = yt.double() if yt.is_floating_point() else yt
        estimate = estimator.estimate_with_info(xt, yt)
        bias = estimator.gaussian_bias(xt, yt) if hasattr(estimator, "gaussian_bias") else None  # right after:
        # an estimator that remembers its last reductions of xt, yt reuses them
        # an estimator whose method depends on N (the extrapolation's fade) re-estimates as it estimated at N
        resampler = getattr(estimator, "resampling_estimator", lambda _: estimator)(estimate)
        sd, dof, method = self._sampling_sd(resampler, estimate, xt, yt, carried_sampling)
        sampling_carried = method == "half_samples" and carried_sampling is not None
        invariance = {}
        chosen = self.transforms if transforms is None else tuple(transforms)
        if transforms is not None:
            check_band_settings(self.n_halves, chosen)
        for k, name in enumerate(t for t in chosen if t not in estimator.invariances):
            if carried is not None:
                invariance[name] = estimate.value + carried.get(name, math.nan)
                continue
            xs = self._transform(name, xt, 2 * k)
            ys = yt if labels else self._transform(name, yt, 2 * k + 1)
            invariance[name] = _estimate_or_nan(resampler, xs, ys)
        values = [estimate.value, *[v for v in invariance.values() if math.isfinite(v)]]
        half = float(student_t.ppf(0.975, dof)) * sd if math.isfinite(sd) else 0.0
        allowance = max(0.0, bias) if bias is not None and math.isfinite(bias) else 0.0
        top = math.inf if ceiling is None else ceiling
        lo, hi = min(values) - half, max(values) + half
        hi_with_bias = float(np.clip(hi + allowance, 0.0, top))
        return Band(
            estimate,
            float(np.clip(lo, 0.0, top)),
            float(np.clip(hi, 0.0, top)),
            sd,
            invariance,
            method,
            dof,
            allowance,
            hi_with_bias,
            carried is not None,
            sampling_carried,
            level_reach(estimate, hi_with_bias, top),
        )

    def _sampling_sd(
        self,
        estimator: MIEstimator,
        estimate: MIEstimate,
        x: torch.Tensor,
        y: torch.Tensor,
        carried: SamplingSpread | None = None,
    ) -> tuple[float, float, str]:
        stderr = estimate.diagnostics.get("stderr")
        if stderr is not None and math.isfinite(stderr):
            return float(stderr), math.inf, "stderr"
        if carried is not None and carried.method == "half_samples":
            return carried.sd, carried.dof, carried.method
        n = x.shape[0]
        if n // 2 < estimator.min_samples:
            return math.nan, math.inf, "too few samples for half-samples"
        gen = torch.Generator().manual_seed(self.seed + 17)
        labels = y.ndim == 1 and not y.is_floating_point()
        values = []
        for _ in range(self.n_halves // 2):
            perm = torch.randperm(n, generator=gen)
            if labels:  # stratified: each half keeps every class's share
                perm = perm[torch.argsort(y.cpu()[perm], stable=True)]
            for part in (perm[0::2][: n // 2], perm[1::2][: n // 2]):
                values.append(_estimate_or_nan(estimator, x[part.to(x.device)], y[part.to(y.device)]))
        arr = np.asarray(values, dtype=float)
        if not np.all(np.isfinite(arr)):
            return math.nan, math.inf, "half_samples failed (too few samples per half for this estimator)"
        return float(arr.std(ddof=1)), float(len(arr) - 1), "half_samples"

    def _transform(self, name: str, t: torch.Tensor, offset: int) -> torch.Tensor:
        t = t.double() if not t.is_floating_point() else t
        t = t[:, None] if t.ndim == 1 else t
        d = t.shape[1]
        if name == "copula":
            return normal_scores(t)
        if name == "rotation":
            key = d * 1000 + offset
            with self._rotations_lock:
                if key not in self._rotations:
                    gen = torch.Generator().manual_seed(self.seed * 7919 + key)
                    q, r = torch.linalg.qr(torch.randn(d, d, generator=gen, dtype=torch.float64))
                    self._rotations[key] = q * torch.sign(torch.diagonal(r))
                rotation = self._rotations[key]
            return t @ rotation.to(device=t.device, dtype=t.dtype)
        gen = torch.Generator().manual_seed(self.seed * 7919 + 500_000 + d * 1000 + offset)
        factors = torch.exp(torch.empty(d, dtype=torch.float64).uniform_(math.log(0.1), math.log(10.0), generator=gen))
        return t * factors.to(device=t.device, dtype=t.dtype)


def level_reach(estimate: MIEstimate, hi_with_bias: float, ceiling: float = math.inf) -> float:
    """:attr:`Band.level_hi`: ``hi_with_bias`` divided by the share of the information the estimator's reduction
    kept (``estimate.diagnostics["kept_share"]``), ``ceiling`` where that share is 0 or the estimate is a lower
    bound; at most ``ceiling``."""
    if estimate.bound == "lower":
        return ceiling
    kept = estimate.diagnostics.get("kept_share")
    if kept is None or not math.isfinite(kept):
        return min(hi_with_bias, ceiling)
    return min(hi_with_bias / kept, ceiling) if kept > 0 else ceiling


def _estimate_or_nan(estimator: MIEstimator, x: torch.Tensor, y: torch.Tensor) -> float:
    """A re-estimate for the band; NaN where the estimator refuses the smaller or transformed sample
    (a half with a class of one sample), so that a band never stops a run."""
    try:
        return estimator.estimate(x, y)
    except ValueError:
        return math.nan
