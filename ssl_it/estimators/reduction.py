"""Principal-component reduction of a wide representation, and how many axes stand above its noise.

Two jobs that belong together: :func:`principal_scores` gives the coordinates
of a layer on its leading principal axes, :func:`axes_above_noise` says how
many of those axes carry more than noise (the Marchenko–Pastur edge). The
rule and its measurements are in docs/design.md §8.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Literal

import numpy as np
import torch
from scipy.integrate import quad
from scipy.optimize import brentq
from scipy.stats import rankdata

from ssl_it.estimators.pairwise import seeded_normal

NoiseModel = Literal["white", "per_unit"]

OVERSAMPLE: int = 10
"""Extra random probes of the randomised range finder."""
EXACT_MAX: int = 2048
"""Largest ``min(N, d)`` decomposed exactly; the randomised range finder is used only above it."""


def principal_scores(
    t: torch.Tensor, q: int, seed: int = 0, rel_tol: float = 1e-9, power_iters: int = 2
) -> tuple[torch.Tensor, torch.Tensor]:
    """Coordinates of the centred rows of ``t`` ``(N, d)`` on its top ``q`` principal axes.

    Exact whenever ``min(N, d) <= EXACT_MAX`` (2,048): an eigendecomposition
    of the smaller of ``t^T t`` and ``t t^T``. Rotating or rescaling ``t``
    then rotates or rescales the axes with it, so the scores change only by
    column signs and a common factor, exactly. Beyond that size the
    randomised range finder of Halko, Martinsson & Tropp (2011,
    arXiv:0909.4061) with ``q + 10`` seeded Gaussian probes and
    ``power_iters`` power iterations: exactly scale-equivariant, but
    rotation-equivariant only up to its approximation error, which on
    layers with full-rank noise (a flat tail of the spectrum) is not small.
    Axes whose variance is below ``rel_tol`` times the largest are dropped
    (a rank-k embedding gives k columns, not k plus round-off).

    Returns:
        ``(scores (N, q'), variances (q',))`` with ``q' <= min(q, N, d)``,
        columns ordered by decreasing variance.
    """
    ev, scores = _top_axes(t - t.mean(0, keepdim=True), min(q, *t.shape), seed, power_iters)
    return _kept(ev, scores, rel_tol, t.shape[0])


class PrincipalAxes:
    """One layer's principal axes, decomposed once and read at several depths.

    ``scores(q)`` is :func:`principal_scores` ``(t, q)``; ``above_noise(cap,
    floor)`` keeps the axes above the noise edge (:func:`axes_above_noise`),
    at least ``floor`` and at most ``cap``. On the exact path one
    eigendecomposition serves every call; above ``EXACT_MAX`` each call runs
    the randomised range finder.
    """

    def __init__(self, t: torch.Tensor, seed: int = 0) -> None:
        self.t, self.seed = t, seed
        self.n, self.d = t.shape
        self._eigen: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None
        self._spectrum: torch.Tensor | None = None
        self._units: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None

    def _exact(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if self._eigen is None:
            tc = self.t - self.t.mean(0, keepdim=True)
            self._eigen = (tc, *_exact_eigen(tc))
        return self._eigen

    def scores(self, q: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``(scores (N, q'), variances (q',))`` on the top ``q`` axes (zero-variance ones dropped)."""
        if min(self.n, self.d) > EXACT_MAX:
            return principal_scores(self.t, q, self.seed)
        tc, ev, vecs = self._exact()
        q = min(q, len(ev))
        return _kept(ev[:q], _scores(tc, ev[:q], vecs[:, :q]), 1e-9, self.n)

    def above_noise(
        self, cap: int, floor: int = 1, margin: float = 0.1, noise: NoiseModel = "white"
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`scores` on ``min(cap, max(floor, axes above the noise edge))`` axes.

        ``noise="white"``: :func:`axes_above_noise`; ``"per_unit"``:
        :func:`axes_above_unit_noise`, each unit with its own noise variance."""
        return self.scores(min(cap, max(floor, self.count_above_noise(margin, noise, cap))))

    def count_above_noise(self, margin: float = 0.1, noise: NoiseModel = "white", cap: int | None = None) -> int:
        """How many axes stand above the noise edge (:meth:`above_noise`'s rule); with ``cap``, the count
        may stop at the first value of at least ``cap``."""
        ev = self.eigenvalues()
        if noise == "per_unit":
            return axes_above_unit_noise(ev, self.unit_residuals, self.n, self.d, margin, cap)
        return axes_above_noise(ev, self.n, self.d, margin)

    def eigenvalues(self) -> torch.Tensor:
        """All ``min(N, d)`` eigenvalues of the centred Gram matrix, decreasing (:func:`spectrum`)."""
        if min(self.n, self.d) <= EXACT_MAX:
            return self._exact()[1]
        if self._spectrum is None:
            self._spectrum = spectrum(self.t)
        return self._spectrum

    def kept_share(self, kept: int, above: int) -> float:
        """:func:`kept_information_share` of the first ``kept`` axes when ``above`` axes stand above the
        noise edge, the noise variance read from the units' residuals outside them (:meth:`unit_residuals`)."""
        noise_var = float(self.unit_residuals(kept).mean()) / self.n
        return kept_information_share(self.eigenvalues(), kept, above, noise_var, self.n, self.d)

    def unit_residuals(self, k: int) -> torch.Tensor:
        """``(d,)``: each unit's noise sum of squares (centred), estimated outside the top ``k`` principal axes.

        The residual of unit j outside the axes, divided by ``1 - h_j`` with
        ``h_j`` the unit's squared loadings on them (its leverage): removing
        k axes also removes the noise along them, a share ``h_j`` of the
        unit's (k / d on average), which would otherwise lower the edge and
        let more noise axes in the more axes are kept."""
        total, along, loadings = self._unit_parts(k)
        if k == 0:
            return total
        leverage = loadings[:, :k].sum(1).clamp(0.0, 1.0 - 1e-6)
        return (total - along[:, :k].sum(1)).clamp_min(0) / (1 - leverage)

    def _unit_parts(self, k: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Each unit's centred sum of squares ``(d,)``, and its sum of squares along and squared loading on
        each of the top axes ``(d, K)``, ``K >= k`` (computed once for up to 16 axes, again for more)."""
        if self._units is not None and self._units[1].shape[1] >= k:
            return self._units
        exact = min(self.n, self.d) <= EXACT_MAX
        tc = self._exact()[0] if exact else self.t - self.t.mean(0, keepdim=True)
        total = (tc * tc).sum(0)
        k = max(k, 16)
        if exact:
            _, ev, vecs = self._exact()
            k = min(k, len(ev))
            if self.d <= self.n:  # vecs are the unit-side axes v_i: along axis i, ev_i v_ji^2
                loadings = vecs[:, :k].pow(2)
                along = loadings * ev[:k]
            else:  # vecs are the sample-side axes u_i, and tc^T u_i = sqrt(ev_i) v_i
                along = (vecs[:, :k].T @ tc).T.pow(2)  # not tc.T @ vecs[:, :k]: 25x slower on one thread
                loadings = along / ev[:k].clamp_min(torch.finfo(ev.dtype).tiny)
        else:  # scores_i = tc v_i with ev_i = N var_i, so tc^T scores_i = ev_i v_i
            scores, var = principal_scores(self.t, k, self.seed)
            ev_k = (var * self.n).clamp_min(torch.finfo(var.dtype).tiny)
            proj = (scores.T @ tc).T.pow(2)
            along, loadings = proj / ev_k, proj / ev_k.pow(2)
        self._units = (total, along, loadings)
        return self._units


def _kept(ev: torch.Tensor, scores: torch.Tensor, rel_tol: float, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    keep = ev > rel_tol * ev[0].clamp_min(torch.finfo(ev.dtype).tiny)
    return scores[:, keep], ev[keep] / n


def _exact_eigen(tc: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """All eigenpairs of the smaller of ``tc^T tc`` and ``tc tc^T``, eigenvalues decreasing and >= 0."""
    ev, vecs = torch.linalg.eigh(tc.T @ tc if tc.shape[1] <= tc.shape[0] else tc @ tc.T)
    return ev.flip(0).clamp_min(0), vecs.flip(1)


def _scores(tc: torch.Tensor, ev: torch.Tensor, vecs: torch.Tensor) -> torch.Tensor:
    """Scores on the axes of :func:`_exact_eigen`'s leading pairs."""
    return tc @ vecs if tc.shape[1] <= tc.shape[0] else vecs * ev.sqrt()


def _top_axes(tc: torch.Tensor, q: int, seed: int, power_iters: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(eigenvalues of tc^T tc (q,), scores (N, q))`` of the centred ``tc``, decreasing."""
    n, d = tc.shape
    if min(n, d) <= EXACT_MAX:
        ev, vecs = _exact_eigen(tc)
        return ev[:q], _scores(tc, ev[:q], vecs[:, :q])
    probes = seeded_normal((d, q + OVERSAMPLE), seed, tc)
    basis = torch.linalg.qr(tc @ probes)[0]
    for _ in range(power_iters):
        basis = torch.linalg.qr(tc @ (tc.T @ basis))[0]
    small = basis.T @ tc  # (q + 10, d); its Gram's eigenvectors rotate the basis onto the axes
    ev, rot = torch.linalg.eigh(small @ small.T)
    ev, rot = ev.flip(0)[:q].clamp_min(0), rot.flip(1)[:, :q]
    return ev, basis @ rot * ev.sqrt()


def spectrum(t: torch.Tensor) -> torch.Tensor:
    """All ``min(N, d)`` eigenvalues of the centred ``t^T t`` (decreasing; the squared singular values)."""
    tc = t - t.mean(0, keepdim=True)
    gram = tc.T @ tc if tc.shape[1] <= tc.shape[0] else tc @ tc.T
    return torch.linalg.eigvalsh(gram).flip(0).clamp_min(0)


@functools.lru_cache(maxsize=256)
def marchenko_pastur_median(beta: float) -> float:
    """Median of the Marchenko–Pastur law of ratio ``beta`` in (0, 1] (unit variance).

    The law of the squared singular values, divided by the larger dimension,
    of an ``m x n`` matrix of i.i.d. unit-variance entries, ``beta = m / n``;
    its support is ``[(1 - sqrt(beta))^2, (1 + sqrt(beta))^2]``."""
    lo, hi = (1 - math.sqrt(beta)) ** 2, (1 + math.sqrt(beta)) ** 2

    def density(x: float) -> float:
        return math.sqrt(max((hi - x) * (x - lo), 0.0)) / (2 * math.pi * beta * x)

    return float(brentq(lambda m: quad(density, lo, m)[0] - 0.5, lo, hi, xtol=1e-10))


def axes_above_noise(eigenvalues: torch.Tensor, n: int, d: int, margin: float = 0.1) -> int:
    """How many principal axes of an ``(N, d)`` layer stand above a white-noise bulk.

    Model: the centred layer is a low-rank signal plus i.i.d. noise of an
    unknown variance s^2 in every coordinate. The squared singular values
    of pure noise, divided by ``max(N, d)``, follow the Marchenko–Pastur law
    of ratio ``beta = min(N, d) / max(N, d)``, whose upper edge is
    ``s^2 (1 + sqrt(beta))^2``. s^2 is read from the median eigenvalue
    (robust to a few spikes; Gavish & Donoho 2014, IEEE Trans. Inf. Theory
    60:5040, use the same estimate), and an axis counts when its eigenvalue
    exceeds the edge by ``margin`` (0.1 covers the edge's finite-N
    fluctuations, of order ``N^(-2/3)``). A spike is visible at all only
    above the BBP threshold, a per-direction SNR of ``sqrt(d / N)``.

    Args:
        eigenvalues: all ``min(N, d)`` eigenvalues of the centred Gram matrix
            (:func:`spectrum`), decreasing.
        n, d: the layer's shape.
        margin: relative margin above the edge.

    Returns:
        The number of leading axes above the edge (0 when none is; a layer
        with no noise bulk, e.g. of rank below ``min(N, d) / 2``, keeps every
        non-zero axis).
    """
    m = min(n - 1, d)  # centring removes one degree of freedom
    ev = eigenvalues[:m]
    big = max(n - 1, d)
    beta = m / big
    median = float(ev.median())
    if median <= 1e-12 * max(float(ev[0]), torch.finfo(ev.dtype).tiny):
        return int((ev > 1e-9 * ev[0]).sum())
    noise_var = median / (big * marchenko_pastur_median(beta))
    edge = noise_var * big * (1 + math.sqrt(beta)) ** 2 * (1 + margin)
    return int((ev > edge).sum())


def unit_noise_edge(unit_ss: torch.Tensor, n: int) -> float:
    """Upper edge of the Gram eigenvalues of noise whose units have unequal variances.

    Noise with independent units of variances ``sigma_j^2`` and N samples:
    the eigenvalues of its ``d x d`` sample covariance follow the generalised
    Marchenko–Pastur law of ratio ``gamma = d / N`` and population spectrum
    ``{sigma_j^2}``, whose upper edge is ``x(m*)`` with
    ``x(m) = -1/m + gamma mean_j sigma_j^2 / (1 + sigma_j^2 m)`` and ``m*``
    the root of ``x'(m) = 0`` in ``(-1 / max sigma_j^2, 0)`` (Silverstein &
    Choi 1995, J. Multivariate Anal. 54:295). Equal variances give the white
    edge ``sigma^2 (1 + sqrt(gamma))^2``; unequal ones push it up towards
    ``max sigma_j^2``. ``x`` is homogeneous in the variances, so the edge in
    Gram units (``N`` times the covariance's) is ``x`` of the per-unit sums of
    squares.

    Args:
        unit_ss: ``(d,)`` each unit's noise sum of squares over the (centred) samples.
        n: the samples' degrees of freedom (N - 1 after centring).
    """
    t = unit_ss.double().cpu().numpy()
    top = float(t.max())
    if top <= 0:
        return 0.0
    gamma = len(t) / n

    def slope(s: float) -> float:  # x'(m) at m = -s / top, increasing in s's direction towards 0
        m = -s / top
        return 1.0 / m**2 - gamma * float(np.mean(t**2 / (1.0 + t * m) ** 2))

    s = float(brentq(slope, 1e-12, 1.0 - 1e-12, xtol=1e-14))
    m = -s / top
    return -1.0 / m + gamma * float(np.mean(t / (1.0 + t * m)))


def axes_above_unit_noise(
    eigenvalues: torch.Tensor,
    unit_residuals: Callable[[int], torch.Tensor],
    n: int,
    d: int,
    margin: float = 0.1,
    cap: int | None = None,
) -> int:
    """How many principal axes stand above a noise bulk whose units have unequal variances.

    The white rule (:func:`axes_above_noise`) assumes one noise variance in
    every unit. After each unit is z-scored, a unit that carries signal has
    its noise scaled down, so the bulk is heteroscedastic and its edge lies
    above the white one, by more as N grows (the white edge tends to the
    median variance, the true one to the largest): the white rule then
    admits noise axes (4, 6, 13 axes at N = 512, 2,048, 8,192 on a layer with
    4; docs/design.md §8). Here each unit's noise variance is its variance
    outside the top k axes, corrected for the noise those axes took with
    them (:meth:`PrincipalAxes.unit_residuals`), and the edge is that population's generalised
    Marchenko–Pastur edge (:func:`unit_noise_edge`), times ``1 + margin``.
    k is a fixed point of "the axes above the edge of the residuals outside
    k axes". The count is non-decreasing in k, so iterating it from k = 0
    climbs to the smallest fixed point and stops. Not from the white count:
    removing the noise axes it admitted lowers the residuals, so that count
    can be a fixed point too (13 in the example above). At k = 0 the
    residuals are the units' whole variances, equal after z-scoring, and
    the edge is the white edge at that variance, above the true one.
    Built for standardised units: one unit far larger than the rest would
    lift the edge at k = 0 above its own axis.

    Args:
        eigenvalues: all ``min(N, d)`` eigenvalues of the centred Gram matrix, decreasing.
        unit_residuals: ``k -> (d,)`` each unit's noise sum of squares estimated outside the top k
            axes (:meth:`PrincipalAxes.unit_residuals`).
        n, d: the layer's shape.
        margin: relative margin above the edge.
        cap: stop once this many axes count (the count only grows).
    """
    m = min(n - 1, d)
    ev = eigenvalues[:m]
    if float(ev.median()) <= 1e-12 * max(float(ev[0]), torch.finfo(ev.dtype).tiny):
        return axes_above_noise(eigenvalues, n, d, margin)  # no noise bulk: every non-zero axis
    k = 0
    for _ in range(m + 1):
        if cap is not None and k >= cap:
            break
        edge = unit_noise_edge(unit_residuals(k), n - 1) * (1 + margin)
        nxt = int((ev > edge).sum())
        if nxt == k:
            break
        k = nxt
    return k


def spike_alignment(ratio: torch.Tensor, gamma: float, margin: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """What each principal axis says of the signal direction it estimates, in the spiked model.

    A layer of N samples whose d units carry unit-variance white noise plus
    spikes of variance ``l`` along fixed directions (``gamma = d / N``): a
    spike with ``l > sqrt(gamma)`` (the BBP threshold; Baik, Ben Arous &
    Péché 2005) gives a sample eigenvalue ``x = (1 + l)(1 + gamma / l)``
    above the bulk edge ``(1 + sqrt(gamma))^2``, and its sample axis has a
    squared cosine ``c^2 = (1 - gamma / l^2) / (1 + gamma / l)`` with the
    spike's direction (Paul 2007, Statistica Sinica 17:1617;
    Benaych-Georges & Nadakuditi 2011, Adv. Math. 227:494). Inverting the
    first relation reads ``l`` off ``x``.

    Args:
        ratio: eigenvalues divided by the noise variance (``x``).
        gamma: ``d / N``.
        margin: count an eigenvalue as a spike only above the edge times ``1 + margin`` (the bulk's
            largest eigenvalues fluctuate above the edge by order ``N^(-2/3)``).

    Returns:
        ``(l, c^2)`` per eigenvalue; both 0 at or below the edge.
    """
    x = ratio.double()
    b = x - 1 - gamma
    root = torch.sqrt((b * b - 4 * gamma).clamp_min(0))
    spike = torch.where(x > (1 + math.sqrt(gamma)) ** 2 * (1 + margin), (b + root) / 2, torch.zeros_like(x))
    safe = spike.clamp_min(torch.finfo(x.dtype).tiny)
    cos2 = torch.where(spike > 0, (1 - gamma / safe**2) / (1 + gamma / safe), torch.zeros_like(x))
    return spike, cos2.clamp(0.0, 1.0)


def kept_information_share(eigenvalues: torch.Tensor, kept: int, above: int, noise_var: float, n: int, d: int) -> float:
    """The share of the information the layer's detectable spikes could carry that its first ``kept`` axes keep.

    Each spike ``i`` above the noise edge (:func:`spike_alignment`) would
    carry ``1/2 log(1 + l_i)`` nats about a latent it reads perfectly (a
    Gaussian channel of SNR ``l_i``); reading it along its sample axis
    keeps the part of the spike on that axis, an SNR of ``c_i^2 l_i``::

        share = sum_{i <= min(kept, above)} log(1 + c_i^2 l_i) / sum_{i <= above} log(1 + l_i)

    with ``above`` the axes the reduction's own noise-edge rule counts (the
    white or per-unit edge, with its margin; ``l_i`` and ``c_i`` from the
    white model at the units' mean noise variance). 1 when the kept axes are
    exact (a layer without a noise bulk, or strong spikes), lower as the
    kept spikes near the edge or as spikes beyond the cap are left out, 0
    when no axis stands above the edge (a noise-level layer, or a flat
    spectrum that one side alone cannot tell from noise).
    Spikes below the BBP threshold are invisible and not counted, so this is
    what the reduction keeps of what it can see. A model-based reading, not
    a bound. On the spiked ladder of docs/design.md §8 (d = 256-2,048,
    N = 512-8,192), where a spike clears the edge, it was within 0.09 of
    the closed-form share (``spiked_channel_kept_mi``). It reads 0 on white
    noise, and also where the floor keeps axes that hold part of the MI
    just below the edge's margin: 0.01-0.34 of it at N <= 2,048, up to 0.64
    at N = 8,192, where the 10 % margin is many fluctuations wide. (With no
    margin those read closer, but white noise then read up to 0.6: a bulk
    eigenvalue 5 % above the edge inverts to a spike of SNR 0.6.)

    Args:
        eigenvalues: the layer's Gram eigenvalues (``N`` times the variances along its axes), decreasing.
        kept: how many leading axes the reduction keeps.
        above: how many leading axes stand above the noise edge.
        noise_var: the noise variance per unit, in the same units as ``eigenvalues / N``.
        n, d: the layer's shape.
    """
    if noise_var <= 0:
        return 1.0  # no noise bulk: the axes are the signal's
    spike, cos2 = spike_alignment(eigenvalues[:above].double().cpu() / (n * noise_var), d / max(n - 1, 1))
    whole = float(torch.log1p(spike).sum())
    if whole <= 0:
        return 0.0
    seen = min(kept, above)
    return float(torch.log1p(cos2[:seen] * spike[:seen]).sum()) / whole


def shrunk_unit_scales(t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Each column's standard deviation, shrunk towards the layer's common one by an empirical-Bayes factor.

    Z-scoring divides each unit by its sample standard deviation, whose log
    has, for a Gaussian unit, the sampling variance ``v = psi'((N - 1) / 2) / 4``
    (``psi'`` the trigamma function; about ``1 / (2 N)``): at N = 512 each
    unit is rescaled by a random factor of about 3 %. Where the units' true
    scales differ by much more (a network layer, a per-unit rescaling),
    that is noise on a correction that is needed; where they do not (a layer
    with isotropic noise, or its rotation), it is noise only, and it moved
    ``pca_ksg`` by up to 4 % under a rotation of a 2,048-wide layer
    (docs/design.md §8). With ``l_j`` the log standard deviations, ``m``
    their mean and ``p`` the number of non-constant units, the James–Stein
    estimate (Efron & Morris 1973, JASA 68:117) of the log scales is

        ``l_j* = m + B (l_j - m)``,  ``B = max(0, 1 - (p - 3) v / sum_j (l_j - m)^2)``:

    ``B`` near 1 when the scales differ well beyond their noise (z-scoring),
    near 0 when they do not (one common scale). ``v`` is the Gaussian one
    on purpose: heavy-tailed units spread their sample scales further, which
    then reads as real differences and keeps z-scoring; that also evens out
    the pull of each unit's extreme rows on the principal axes (a layer of
    ``sinh``-distorted units read half as much with one common scale). A
    common rescaling of all units leaves ``B`` and the scaled layer
    unchanged, exactly. Fewer than 4 units: ``B = 1``. A constant column
    gets scale 1.

    Returns:
        ``(scales (d,), B)``, ``B`` a 0-d tensor.
    """
    n = t.shape[0]
    centred = t - t.mean(0)
    m2 = (centred * centred).mean(0)
    live = m2 > torch.finfo(t.dtype).tiny
    p = int(live.sum())
    scales = torch.ones_like(m2)
    if p == 0:
        return scales, torch.ones((), dtype=t.dtype, device=t.device)
    log_sd = 0.5 * m2[live].log()
    if p < 4 or n < 3:
        shrink = torch.ones((), dtype=t.dtype, device=t.device)
    else:
        noise = torch.special.polygamma(1, torch.tensor((n - 1) / 2, dtype=t.dtype, device=t.device)) / 4
        spread = (log_sd - log_sd.mean()).pow(2).sum()
        ratio = torch.where(spread > 0, (p - 3) * noise / spread.clamp_min(torch.finfo(t.dtype).tiny), 1.0)
        shrink = (1 - ratio).clamp(0.0, 1.0)
    scales[live] = torch.exp(log_sd.mean() + shrink * (log_sd - log_sd.mean()))
    return scales, shrink


def normal_scores(t: torch.Tensor) -> torch.Tensor:
    """Each column replaced by the standard-normal quantiles of its ranks (ties share their mean rank).

    ``Phi^-1((rank - 1/2) / N)``: the Gaussian copula of each unit. A strictly
    increasing map of a unit (a rescaling, a saturating or heavy-tailed
    non-linearity) leaves its ranks, hence these scores, unchanged, and so
    the MI (van der Waerden scores). A constant column becomes zeros. The
    ranks are scipy's (``rankdata``, on the CPU): 2.3 times faster than
    torch's stable sort along the rows with its tie groups (0.039 against
    0.088 s for 512 x 1,024, one thread)."""
    n = t.shape[0]
    ranks = rankdata(t.detach().T.to("cpu", torch.float64).numpy(), axis=1, method="average").T
    return torch.special.ndtri((torch.from_numpy(ranks) - 0.5) / n).to(device=t.device, dtype=t.dtype)
