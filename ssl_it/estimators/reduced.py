"""Any estimator applied to the leading principal components of each side (high-dimensional pairs)."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any, Literal

import torch
from typing_extensions import override

from ssl_it import checks
from ssl_it.estimators.base import BoundKind, MIEstimate, MIEstimator, Pair, YKind
from ssl_it.estimators.pairwise import neighbour_jump_share
from ssl_it.estimators.reduction import NoiseModel, PrincipalAxes, normal_scores, shrunk_unit_scales
from ssl_it.linalg import column_std

Select = Literal["noise_edge", "fixed"]
Standardize = Literal["shrunk", "unit", "rank", "none"]
Noise = Literal["auto", "per_unit", "white"]
BiasCorrection = Literal["none", "gaussian_twin", "extrapolate"]


class PCAReducedMI(MIEstimator):
    """``I(P_x X; P_y Y)`` with ``P`` the projection on each side's leading principal axes above its noise.

    Built for the information plane's continuous pairs, ``I(X;T)`` between a
    64-d projection of the input and a 64-2,048 wide layer, and ``I(Z1;Z2)``
    between two views' embeddings: k-NN and density estimators fail there
    (KSG's bias grows with the ambient dimension, KDE and binning reach
    log N, the Gaussian log-det overfits), while the dependence of interest
    usually lives in a few directions. Each side is centred, optionally
    rescaled per unit (``standardize``), and replaced by its
    coordinates on its leading principal axes; the inner ``estimator`` (KSG
    with the Euclidean metric in ``configs/estimator/pca_ksg.yaml``) then
    sees at most ``dim + dim`` dimensions. With labels only x is reduced.

    How many axes (``select``): ``"noise_edge"`` keeps the axes whose
    variance stands above the Marchenko–Pastur edge of a white-noise bulk
    (:func:`~ssl_it.estimators.reduction.axes_above_noise`), at least
    ``min_dim`` and at most ``dim``; ``"fixed"`` keeps ``dim``. Real layers
    carry their signal in a few directions and noise in every coordinate:
    a fixed 16 axes of which 12 are noise drown KSG's distances (on a
    4-direction layer of d = 256 at N = 512 it read 0.60 of 3.30 nats, the
    edge rule 2.23, the true signal subspace 2.27; docs/design.md §8).
    Axes with less than 1e-9 of the top variance are dropped either way.
    The edge's noise model (``noise``): ``"white"``, one noise variance in
    every unit; ``"per_unit"``, each unit its own (its variance outside the
    kept axes; :func:`~ssl_it.estimators.reduction.axes_above_unit_noise`),
    which is what per-unit standardisation leaves: it scales down the noise
    of the units that carry signal, and the white edge then admits noise
    axes as N grows (13 axes for 4 at N = 8,192; docs/design.md §8);
    ``"auto"``, per unit unless ``standardize`` is ``"none"``, white with
    ``"none"`` (which keeps that setting's exact rotation invariance:
    per-unit variances change under a rotation).

    What it reports: by the data-processing inequality
    ``I(P_x X; P_y Y) <= I(X;Y)``, so for a consistent inner estimator the
    target is a lower bound of the MI, exact when the dependence is carried
    by the kept axes. The axes come from each side alone, never from the
    pair, so they cannot manufacture dependence. A discussion of the same
    idea with learned rather than principal axes: latent MI, Gowri, Lun,
    Klein & Yin 2024 (NeurIPS, arXiv:2409.02732).

    Invariances (:attr:`invariances`): with ``standardize="unit"`` exact
    under any per-unit rescaling of either side, which is what a
    normalisation layer does, but not under rotations: each unit's sample
    standard deviation is off by about 1 / sqrt(2 N) (3 % at N = 512), a
    random rescaling that a rotation redraws, and which moved the value by
    up to 4.0 % on a 2,048-wide noisy layer. ``"shrunk"`` (the default)
    divides by the standard deviations shrunk towards their common value
    (:func:`~ssl_it.estimators.reduction.shrunk_unit_scales`): z-scoring
    where the units' scales differ beyond that noise, one common scale
    where they do not. Exact under neither map, it moved at most 0.5 %
    under rotations and 1.5 % under per-unit rescalings of the spiked
    layers of docs/design.md §8 (where ``"unit"`` moved up to 4.0 % and
    0 %); on a network's layers, whose units differ in scale, it z-scores
    (the factor was 0.998-1.000 on a random-init ConvNet's).
    With ``"none"`` exact under a common rescaling and under rotations (the
    scores change by column signs, which the distances ignore; exact PCA
    up to ``min(N, d) = 2,048``; with the white noise model, which
    ``"auto"`` picks there), not under per-unit rescaling. With ``"rank"``
    exact under any increasing map of each unit (a per-unit rescaling, the
    band's ``copula``). Every setting is
    exact under a common rescaling; none under general invertible linear
    maps, which change the axes.

    Bias correction (``bias_correction``): KSG reads low on strong
    dependence (2.27 of 3.30 nats on the true 4-d signal subspace of a
    spiked channel at N = 512). ``"gaussian_twin"`` adds its bias on a
    Gaussian twin of the reduced pair (:meth:`gaussian_bias`, the mean over
    ``twin_draws`` seeded draws): a parametric-bootstrap bias correction
    (Efron & Tibshirani 1993, *An Introduction to the Bootstrap*, §10.3),
    ``I_corrected = I_hat + (I_G(S) - mean_j I_hat(twin_j))`` with ``S`` the
    reduced pair's sample covariance and ``I_G`` the Gaussian MI. It is exact
    in expectation when the reduced pair is Gaussian and only sizes the bias
    otherwise, and the value is no longer a lower bound: on clustered views
    with a known MI (two noisy views of M atoms,
    :func:`~ssl_it.synthetic.layers.clustered_views`) it read 1.8 to 5 times
    the truth, and on the default run's views above log N, which bounds
    I(Z1;Z2) on the probe set (docs/design.md §8). It does not restore what the projection lost
    (signal axes poorly estimated near the noise edge).

    ``"extrapolate"`` extrapolates the
    whole estimate, reduction included, from N and N/2 samples to infinite
    N: ``I_corrected = 2 I_hat(N) - mean_j I_hat_j(N/2)``, the mean over
    ``halves`` half-samples in complementary pairs, each reduced and
    estimated afresh. This is Richardson extrapolation under a bias
    ``b(N) = a / N``, the sample-size extrapolation of information
    estimates (Strong, Koberle, de Ruyter van Steveninck & Bialek 1998,
    Phys. Rev. Lett. 80:197; for KSG, Holmes & Nemenman 2019, Phys. Rev. E
    100:022404). It needs no model of the data: where the estimate does not
    move with N it adds nothing, and where the bias decays as
    ``a N^-beta`` with ``beta < 1`` (KSG's on strong dependence; the loss
    of principal axes estimated near the noise edge) it removes the share
    ``2^beta - 1`` of it and stays on the low side. It would read above
    the truth where the bias falls faster than 1/N between N/2 and N: on a
    mixture of fewer clusters than about N/4, which KSG resolves at N but
    not at N/2 (64 atoms at N = 512: 4.44-4.77 of log 64 = 4.16, where
    ``"none"`` reads 4.09-4.17). So it fades out with the share of the
    halves' rows whose k-th neighbour distance in the reduced pair more
    than doubles from N to N/2
    (:func:`~ssl_it.estimators.pairwise.neighbour_jump_share`): a density
    of local dimension ``m`` stretches it by ``2^(1/m)``, a row whose
    cluster the half no longer fills jumps to the next cluster. The whole
    correction is kept up to half of ``max_jump_share``, half of it at
    ``max_jump_share`` and none from twice it on, linearly in the log of
    the share in between (:func:`extrapolation_weight`); with none, the
    value is the uncorrected one. On the layer suite that share was at most
    0.002 on every noisy layer and 0.02-0.47 on every clustered one at
    N = 512; a switch at one share instead had moved two seeds of one task
    0.7 nats apart. A band re-estimates with the weight the value was read
    with (:meth:`resampling_estimator`): a half-sample measures its own
    share between N/2 and N/4, and on views of 512 clusters at N = 512 its
    own weight had widened the band to 2 nats. Guarded, it read above the truth on
    none of the suite's noisy-layer seeds, and brought the spiked ladder's
    detectable rungs at N = 512 from -33 % ... -84 % to -24 % ... -78 %
    (within 35 % on 5 of 7 instead of 1; docs/design.md §8). Its sampling
    spread is larger (the difference of two correlated estimates: bands
    1.8 times wider at N = 512, which the band's half-samples measure), and
    it costs the ``halves`` re-estimates at N/2.
    ``"none"`` (the default) reports KSG as it reads.

    Ceiling and bound: the inner estimator's (``psi(N) - psi(k)`` for KSG;
    with ``"extrapolate"``, its extrapolation ``2 c(N) - c(N/2)``).

    Shapes: x ``(N, dx)``, y ``(N, dy)`` or ``(N,)`` labels. Units: nats.
    Cost: one eigendecomposition of the smaller Gram matrix per side,
    ``O(N d min(N, d))``, then the inner estimator on ``dim``-wide inputs.

    Args:
        estimator: the inner estimator (any :class:`MIEstimator`).
        dim: the most principal axes kept per side (>= 1).
        min_dim: the fewest kept with ``select="noise_edge"`` when fewer
            stand above the noise (capped by ``dim``). A side whose
            spectrum is flat, signal or not (an isotropic input), has no
            axis above the edge; 4 keeps such a side from being read
            through one axis (docs/design.md §8).
        select: ``"noise_edge"`` or ``"fixed"``.
        standardize: ``"shrunk"`` (each unit divided by its standard
            deviation shrunk towards the layer's common one), ``"unit"``
            (z-score each unit), ``"rank"``
            (normal scores of each unit's ranks: invariant to any increasing
            map of a unit, for heavy-tailed units) or ``"none"``.
        whiten: scale each kept axis to unit variance.
        noise: the noise model of the edge, ``"auto"``, ``"per_unit"`` or
            ``"white"`` (above).
        seed: seed of the randomised PCA (only above 2,048 on both sides).
        bias_correction: ``"none"``, ``"gaussian_twin"`` or ``"extrapolate"``
            (above; pairs only, labels are never corrected).
        twin_draws: Gaussian twins averaged by the correction and by
            :meth:`gaussian_bias` (>= 1).
        halves: half-samples averaged by ``"extrapolate"`` (even, >= 2:
            complementary pairs).
        max_jump_share: the share of the halves' rows whose k-th neighbour
            distance in the reduced pair more than doubles from N to N/2 at
            which ``"extrapolate"`` keeps half its correction; all of it up
            to half this share, none from twice it (above).
        y_kind: see :class:`~ssl_it.estimators.base.MIEstimator`.
    """

    bound: BoundKind = "point"

    def __init__(
        self,
        estimator: MIEstimator,
        dim: int = 16,
        seed: int = 0,
        y_kind: YKind = "auto",
        min_dim: int = 4,
        select: Select = "noise_edge",
        standardize: Standardize = "shrunk",
        whiten: bool = True,
        noise: Noise = "auto",
        bias_correction: BiasCorrection = "none",
        twin_draws: int = 1,
        halves: int = 2,
        max_jump_share: float = 0.01,
    ) -> None:
        super().__init__(seed=seed, y_kind=y_kind)
        if not isinstance(estimator, MIEstimator):
            raise ValueError(f"estimator must be an MIEstimator, got {type(estimator).__name__}")
        checks.integer("dim", dim)
        checks.integer("min_dim", min_dim)
        checks.choice("select", select, ("noise_edge", "fixed"))
        checks.choice("standardize", standardize, ("shrunk", "unit", "rank", "none"))
        checks.choice("noise", noise, ("auto", "per_unit", "white"))
        checks.choice("bias_correction", bias_correction, ("none", "gaussian_twin", "extrapolate"))
        checks.integer("twin_draws", twin_draws)
        if not (checks.is_integer(halves) and halves >= 2 and halves % 2 == 0):
            checks.fail("halves", "an even integer >= 2 (complementary pairs of half-samples)", halves)
        self.bias_correction, self.twin_draws, self.halves = bias_correction, twin_draws, int(halves)
        self.max_jump_share = checks.probability("max_jump_share", max_jump_share)
        self.estimator, self.dim, self.min_dim = estimator, dim, min_dim
        self.select, self.standardize, self.whiten, self.noise = select, standardize, bool(whiten), noise
        self.name = f"pca_{estimator.name}" + ("_twin" if bias_correction == "gaussian_twin" else "")
        self.bound = estimator.bound
        self._noise_model: NoiseModel = (
            "per_unit" if noise == "per_unit" or (noise == "auto" and standardize != "none") else "white"
        )
        rotation_invariant = standardize == "none" and (self._noise_model == "white" or select == "fixed")
        per_unit = {"unit": {"unit_scale"}, "rank": {"unit_scale", "copula"}}
        self.invariances = frozenset(per_unit.get(standardize, {"rotation"} if rotation_invariant else set()))
        self._memo = LastReductions()
        self._fixed_weight: float | None = None

    @property
    @override
    def min_samples(self) -> int:
        return max(3, self.estimator.min_samples)

    @override
    def settings(self) -> dict[str, Any]:
        return {
            "dim": self.dim,
            "min_dim": self.min_dim,
            "select": self.select,
            "standardize": self.standardize,
            "whiten": self.whiten,
            "noise": self.noise,
            "bias_correction": self.bias_correction,
            "twin_draws": self.twin_draws,
            "halves": self.halves,
            "max_jump_share": self.max_jump_share,
            "seed": self.seed,
            "y_kind": self.y_kind,
            "estimator": {"name": self.estimator.name, **self.estimator.settings()},
        }

    @override
    def ceiling(self, n_samples: int, labels: Any | None = None) -> float | None:
        full = self.estimator.ceiling(n_samples, labels)
        if self.bias_correction != "extrapolate" or labels is not None or full is None:
            return full
        half = self.estimator.ceiling(n_samples // 2, None)
        return full if half is None else 2.0 * full - half

    def reduce(self, t: torch.Tensor, offset: int = 0) -> torch.Tensor:
        """One side as the inner estimator sees it: ``(N, q)`` principal scores (module docstring).

        The last few reductions are remembered (:class:`LastReductions`): the
        band's bias check and the next evaluation's unchanged input side
        (the probe's X) reuse them instead of decomposing the same data again."""
        return self._memo.get_or_compute(t, offset, self._reduce)[0]

    def kept_share(self, t: Any, offset: int = 0) -> float:
        """How much of what the layer's detectable signal could carry its kept axes keep, in the spiked model
        (:func:`~ssl_it.estimators.reduction.kept_information_share`): near 1 when the kept axes are good
        estimates of the signal's directions, low when they sit near the noise edge or the cap of ``dim``
        axes leaves spikes out. The reduction's loss, which neither the band nor the bias allowance sees
        (docs/design.md §8)."""
        return self._memo.get_or_compute(torch.as_tensor(t), offset, self._reduce)[1]

    def projection(self, t: Any, offset: int = 0) -> torch.Tensor:
        """The ``(d, q)`` matrix ``M`` with ``reduce(t) = (t - mean(t)) @ M``: which directions of the layer the
        inner estimator reads, as a linear map of the raw units.

        The principal axes lie in the row space of the centred, rescaled
        layer, so the minimum-norm solution of ``centred @ V = scores`` is
        the map itself; ``M`` is ``V`` with the unit scales undone. Not
        defined for ``standardize="rank"``, whose normal scores are not
        linear in the units. It costs one pseudo-inverse of the ``(N, d)``
        layer: a diagnostic (``benchmarks/bench_layers.py`` reads what the
        kept axes carry through it), not part of an estimate."""
        if self.standardize == "rank":
            checks.fail("standardize", "shrunk, unit or none (rank scores are not a linear map)", self.standardize)
        t = torch.as_tensor(t)
        if t.ndim != 2:
            checks.fail("t", "a 2-d (N, d) array", tuple(t.shape))
        scores = self.reduce(t, offset)
        scales = self._unit_scales(t)
        centred = t / scales - (t / scales).mean(0, keepdim=True)
        return (torch.linalg.pinv(centred) @ scores) / scales[:, None]

    def _unit_scales(self, t: torch.Tensor) -> torch.Tensor:
        """What ``standardize`` ("unit", "shrunk" or "none") divides each unit by."""
        if self.standardize == "unit":
            sd = column_std(t)
            return torch.where(sd > 0, sd, torch.ones_like(sd))
        if self.standardize == "shrunk":
            return shrunk_unit_scales(t)[0]
        return torch.ones(t.shape[1], dtype=t.dtype, device=t.device)

    def _reduce(self, t: torch.Tensor, offset: int) -> tuple[torch.Tensor, float]:
        """``(scores, kept share)`` of one side (:meth:`reduce`, :meth:`kept_share`)."""
        t = normal_scores(t) if self.standardize == "rank" else t / self._unit_scales(t)
        axes = PrincipalAxes(t, self.seed + offset)
        scores, var = (
            axes.above_noise(self.dim, min(self.min_dim, self.dim), noise=self._noise_model)
            if self.select == "noise_edge"
            else axes.scores(self.dim)
        )
        if scores.shape[1] == 0:  # a constant side carries no information, and its reduction loses none
            return torch.zeros(t.shape[0], 1, dtype=t.dtype, device=t.device), 1.0
        # the edge rule's count without the cap (up to 4 caps: what the cap leaves out)
        above = axes.count_above_noise(noise=self._noise_model, cap=4 * self.dim)
        share = axes.kept_share(scores.shape[1], above)
        return (scores / var.sqrt() if self.whiten else scores), share

    def _estimate(self, pair: Pair) -> tuple[float, dict[str, Any]]:
        x = self.reduce(pair.x, 0)
        y = pair.y if pair.labels else self.reduce(pair.y, 1)
        info = self.estimator.estimate_with_info(x, y)
        dims = [int(x.shape[1])] + ([] if pair.labels else [int(y.shape[1])])
        shares = [self.kept_share(pair.x, 0)] + ([] if pair.labels else [self.kept_share(pair.y, 1)])
        diagnostics = {"dims": dims, "kept_share": min(shares), "kept_shares": shares, **info.diagnostics}
        if self.bias_correction == "none" or pair.labels or not (x.any() and y.any()):
            # a constant side (no axis kept) carries nothing: there is no bias to correct, only noise to add
            return info.value, diagnostics
        if self.bias_correction == "extrapolate":
            if pair.n // 2 < self.min_samples:
                return info.value, {**diagnostics, "uncorrected": info.value, "extrapolation": 0.0}
            # a band's re-estimate keeps the value's weight (resampling_estimator): no neighbour pass for it
            if self._fixed_weight is None:
                jumps = self._jump_share(x, y)
                weight = extrapolation_weight(jumps, self.max_jump_share)
            else:
                jumps, weight = math.nan, self._fixed_weight
            guard = {"uncorrected": info.value, "jump_share": jumps, "extrapolation_weight": weight}
            if weight == 0.0:  # clusters resolved at N but not at N/2: the 1/N model fails
                return info.value, {**diagnostics, **guard, "extrapolation": 0.0, "extrapolation_withheld": True}
            halves = [self._half_estimate(pair.x, pair.y, part) for part in self._half_samples(pair.n)]
            mean_half = sum(halves) / len(halves)
            extrapolation = weight * (info.value - mean_half)
            return info.value + extrapolation, {
                **diagnostics,
                **guard,
                "half_mean": mean_half,
                "extrapolation": extrapolation,
                "extrapolation_withheld": False,
            }
        bias = self._twin_bias(x, y)
        return info.value + bias, {**diagnostics, "uncorrected": info.value, "twin_bias": bias}

    def resampling_estimator(self, estimate: MIEstimate) -> PCAReducedMI:
        """The estimator a band re-estimates ``estimate`` with (:class:`~ssl_it.estimators.BandMaker`): this one,
        or with ``"extrapolate"`` a copy that keeps the extrapolation weight ``estimate`` was read with. The
        weight fades with the share of rows whose neighbours jump between N and N/2, which a half-sample of N/2
        rows measures between N/2 and N/4: on a layer of clusters the halves would be extrapolated where the
        value was not, and the band would measure that switch instead of the value's spread."""
        weight = estimate.diagnostics.get("extrapolation_weight")
        if self.bias_correction != "extrapolate" or weight is None:
            return self
        fixed = copy.copy(self)
        fixed._fixed_weight = float(weight)
        return fixed

    @property
    def _inner_k(self) -> int:
        """The inner estimator's k (KSG's neighbours; 3 for an estimator without one)."""
        k = getattr(self.estimator, "k", 3)
        return k if isinstance(k, int) and k >= 1 else 3

    def _jump_share(self, x: torch.Tensor, y: torch.Tensor) -> float:
        """:func:`~ssl_it.estimators.pairwise.neighbour_jump_share` of the reduced pair over the half-samples."""
        parts = [p.to(x.device) for p in self._half_samples(x.shape[0])]
        return neighbour_jump_share(torch.cat([x, y], 1), parts, self._inner_k)

    def _half_samples(self, n: int) -> list[torch.Tensor]:
        """``halves`` row indices of N // 2 each, in complementary pairs, fixed by ``seed`` and N: every
        evaluation of a probe set splits it alike, so the correction does not add re-splitting noise."""
        gen = torch.Generator().manual_seed(self.seed + 53)
        parts = []
        for _ in range(self.halves // 2):
            perm = torch.randperm(n, generator=gen)
            parts += [perm[0::2][: n // 2], perm[1::2][: n // 2]]
        return parts

    def _half_estimate(self, x: torch.Tensor, y: torch.Tensor, part: torch.Tensor) -> float:
        """The uncorrected estimate on the rows ``part``, both sides reduced afresh (not remembered: the
        full sides' reductions stay in :class:`LastReductions`)."""
        part = part.to(x.device)
        return self.estimator.estimate(self._reduce(x[part], 0)[0], self._reduce(y[part], 1)[0])

    def gaussian_bias(self, x: Any, y: Any) -> float | None:
        """How far the inner estimator reads below the truth on a Gaussian twin of the reduced pair (nats).

        The reduced pair's sample covariance defines a Gaussian with a
        closed-form MI, ``-1/2 log det(S) / (det S_xx det S_yy)``; the inner
        estimator is run on ``twin_draws`` seeded draws of N samples of it,
        and the truth minus their mean is its bias at this N, dimension and
        dependence under a Gaussian model (a parametric bootstrap of the
        bias). With ``bias_correction="extrapolate"`` each twin is read as
        the value is, extrapolated from its N and its half-samples: what is
        left of the bias after the correction, under a Gaussian model.
        ``None`` with labels, and with ``"gaussian_twin"``, which already
        adds it to the value. The bands then add the positive part to the
        top only: a k-NN estimator reads low on strong dependence."""
        pair = self._check(x, y)
        if pair.labels or self.bias_correction == "gaussian_twin":
            return None
        rx, ry = self.reduce(pair.x, 0), self.reduce(pair.y, 1)
        weight = (
            extrapolation_weight(self._jump_share(rx, ry), self.max_jump_share)
            if self.bias_correction == "extrapolate" and pair.n // 2 >= self.min_samples and bool(rx.any() and ry.any())
            else 0.0
        )
        return self._twin_bias(rx, ry, weight)

    def _twin_bias(self, x: torch.Tensor, y: torch.Tensor, weight: float = 0.0) -> float:
        """``I_G(S) - mean_j I_hat(twin_j)`` for the reduced pair ``(x, y)`` (:meth:`gaussian_bias`), each
        ``I_hat(twin_j)`` extrapolated from its half-samples with the value's ``weight``."""
        joint = torch.cat([x, y], 1)
        dx = x.shape[1]
        cov = torch.cov(joint.T) + 1e-9 * torch.eye(joint.shape[1], dtype=joint.dtype, device=joint.device)
        ld = torch.linalg.slogdet
        truth = 0.5 * float(ld(cov[:dx, :dx])[1] + ld(cov[dx:, dx:])[1] - ld(cov)[1])
        factor = torch.linalg.cholesky(cov.cpu()).T
        readings = []
        for draw in range(self.twin_draws):
            gen = torch.Generator().manual_seed(self.seed + 31 + 1009 * draw)
            twin = (torch.randn(joint.shape[0], joint.shape[1], generator=gen, dtype=torch.float64) @ factor).to(joint)
            reading = self.estimator.estimate(twin[:, :dx], twin[:, dx:])
            if weight > 0.0:
                parts = [p.to(twin.device) for p in self._half_samples(twin.shape[0])]
                halves = [self.estimator.estimate(twin[p, :dx], twin[p, dx:]) for p in parts]
                reading += weight * (reading - sum(halves) / len(halves))
            readings.append(reading)
        return truth - sum(readings) / len(readings)


def extrapolation_weight(jump_share: float, max_jump_share: float) -> float:
    """The share of the N/2 extrapolation kept at this jump share: 1 up to half of ``max_jump_share``, 0 from
    twice it on, and linear in ``log(jump_share)`` in between (1/2 at ``max_jump_share``), so that a layer
    whose share drifts across the limit between evaluations, or between a band's re-estimates, changes its
    value gradually instead of by the whole correction."""
    if jump_share <= max_jump_share / 2.0:
        return 1.0
    if jump_share >= 2.0 * max_jump_share:
        return 0.0
    return 0.5 + math.log(max_jump_share / jump_share) / math.log(4.0)


class LastReductions:
    """The last ``size`` reductions, keyed by the input's memory, shape, dtype and version counter.

    A key holds a reference to its input, so its memory cannot be freed and
    reused by another tensor while the entry lives, and an in-place change
    of the input bumps its version counter (which detached views share), so
    a remembered reduction is only ever returned for the same numbers. Copies
    and pickles start empty: it is a cache, not state."""

    def __init__(self, size: int = 4) -> None:
        self.size = size
        self._entries: dict[tuple[Any, ...], tuple[torch.Tensor, Any]] = {}

    def get_or_compute(self, t: torch.Tensor, offset: int, compute: Callable[[torch.Tensor, int], Any]) -> Any:
        """``compute(t, offset)``, remembered for the same ``t`` (memory, shape, version) and ``offset``."""
        key = (
            t.untyped_storage().data_ptr(),
            t.storage_offset(),
            tuple(t.shape),
            t.stride(),
            t.dtype,
            t.device,
            t._version,
            offset,
        )
        if key not in self._entries:
            if len(self._entries) >= self.size:
                del self._entries[next(iter(self._entries))]
            self._entries[key] = (t, compute(t, offset))
        return self._entries[key][1]

    def __deepcopy__(self, memo: dict[int, Any]) -> LastReductions:
        return LastReductions(self.size)

    def __getstate__(self) -> dict[str, Any]:
        return {"size": self.size, "_entries": {}}
