"""Known-MI tasks shaped like real network layers: a few signal directions in full-rank noise.

The tasks of :mod:`ssl_it.synthetic.highdim` embed a low-dimensional latent
exactly (a rank-k layer), where a principal-axis reduction cannot go wrong.
Real layers carry their signal in a few directions *and* noise in every
coordinate. These samplers add that noise, keep a closed-form or Monte Carlo
truth, and give every signal direction a stated signal-to-noise ratio:

* :func:`spiked_channel`: latent ``u ~ N(0, I_k)`` seen by X and by T, each
  ``Q (sqrt(snr) u) + N(0, I_D)`` (Q orthonormal): jointly Gaussian, MI in
  closed form. A per-direction SNR below ``sqrt(D / N)`` (the BBP threshold
  of the sample covariance) cannot be told from the noise at N samples.
  :func:`spiked_channel_kept_mi` is what linear maps of each side keep
  of it (closed form), for telling a reduction's loss from an estimator's.
* :func:`nonlinear_labels`: labels that are a non-linear function of a
  latent ``u`` in m dimensions (``"xor"``: the sign of ``u_1 u_2``;
  ``"radial"``: the radius of u in C equiprobable shells), T the same
  spiked embedding of u; no linear probe can see an XOR or a shell.

* :func:`in_noise`: any low-dimensional known-MI pair (a Student-t pair,
  a cubed Gaussian) placed in a few directions of a wide layer with unit
  noise in every other one: the same shape with non-Gaussian signal, for
  checking what a Gaussian model of the signal would get wrong.
* :func:`clustered_views`: two views of M inputs (atoms in a k-dimensional
  subspace of a wide layer) with independent view noise in every
  coordinate: what the embeddings of two augmentations of a probe set look
  like. ``I(Z1;Z2) <= log M``; Monte Carlo truth.

A spiked layer is what a linear read-out of a layer with isotropic noise
looks like; the heavy-tailed or saturating versions come from applying a
strictly monotone map to each coordinate, which changes no MI
(``ssl_it.synthetic.embeddings``).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
from scipy.special import logsumexp, ndtr
from scipy.stats import chi2, ncx2

from ssl_it import checks
from ssl_it.synthetic.classic import KnownMISample
from ssl_it.synthetic.embeddings import check_dims, random_orthonormal

LabelKind = Literal["xor", "radial"]


def _snrs(key: str, snr: float | Sequence[float] | np.ndarray, k: int) -> np.ndarray:
    values = np.broadcast_to(np.asarray(snr, dtype=float), (k,)).copy()
    if not np.all(values > 0):
        checks.fail(key, "a number > 0, or one per latent direction, each > 0", snr)
    return values


def spiked_channel_mi(
    snr_x: float | Sequence[float] | np.ndarray, snr_t: float | Sequence[float] | np.ndarray, latent_dim: int
) -> float:
    """``I(X;T)`` of :func:`spiked_channel`: ``-1/2 sum_i log(1 - rho_i^2)``,
    ``rho_i^2 = snr_x,i / (1 + snr_x,i) * snr_t,i / (1 + snr_t,i)`` (nats).

    Projected on the signal directions, X and T are ``sqrt(a) u + e`` and
    ``sqrt(b) u + e'``; the directions orthogonal to them are independent
    noise and add nothing, so the canonical correlations are the rho_i."""
    a, b = _snrs("snr_x", snr_x, latent_dim), _snrs("snr_t", snr_t, latent_dim)
    rho2 = a / (1 + a) * b / (1 + b)
    return float(-0.5 * np.log1p(-rho2).sum())


def spiked_channel(
    n: int,
    latent_dim: int,
    dim_x: int,
    dim_t: int,
    snr_t: float | Sequence[float],
    snr_x: float | Sequence[float] = 10.0,
    seed: int = 0,
) -> KnownMISample:
    """X and T both read a latent Gaussian through a few directions, with unit noise in every coordinate.

    ``u ~ N(0, I_k)``; ``x = Q_x (sqrt(snr_x) u) + e_x`` in ``dim_x``
    dimensions, ``t = Q_t (sqrt(snr_t) u) + e_t`` in ``dim_t``, with
    ``Q_x, Q_t`` seeded orthonormal ``(D, k)`` bases and ``e ~ N(0, I_D)``.
    ``snr_*`` is one number or one per latent direction (variance of the
    signal over the noise's along that direction). The truth is
    :func:`spiked_channel_mi`.

    Returns:
        ``x`` ``(n, dim_x)``, ``y`` = T ``(n, dim_t)``.
    """
    check_dims(n, latent_dim=latent_dim, dim_x=dim_x, dim_t=dim_t)
    if latent_dim > min(dim_x, dim_t):
        checks.fail("latent_dim", f"an integer <= dim_x and dim_t (here {min(dim_x, dim_t)})", latent_dim)
    a, b = _snrs("snr_x", snr_x, latent_dim), _snrs("snr_t", snr_t, latent_dim)
    rng = np.random.default_rng([seed, 505])
    u = rng.standard_normal((n, latent_dim))
    qx, qt = _spiked_bases(latent_dim, dim_x, dim_t, seed)
    x = (u * np.sqrt(a)) @ qx.T + rng.standard_normal((n, dim_x))
    t = (u * np.sqrt(b)) @ qt.T + rng.standard_normal((n, dim_t))
    snr = f"{b[0]:g}" if np.all(b == b[0]) else "/".join(f"{v:g}" for v in b)
    return KnownMISample(
        x, t, spiked_channel_mi(a, b, latent_dim), f"spiked(k={latent_dim}, {dim_x}x{dim_t}, snr_t={snr})"
    )


def _spiked_bases(latent_dim: int, dim_x: int, dim_t: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    basis = np.random.default_rng([seed, 506, dim_x, dim_t])
    return random_orthonormal(dim_x, latent_dim, basis), random_orthonormal(dim_t, latent_dim, basis)


def spiked_channel_kept_mi(
    wx: np.ndarray,
    wt: np.ndarray,
    latent_dim: int,
    dim_x: int,
    dim_t: int,
    snr_t: float | Sequence[float],
    snr_x: float | Sequence[float] = 10.0,
    seed: int = 0,
) -> float:
    """``I(x W_x; t W_t)`` in closed form for the :func:`spiked_channel` of the same arguments (nats).

    What a linear reduction of each side keeps of the channel's MI: with
    ``A``, ``B`` the diagonal SNRs and ``Q_x``, ``Q_t`` the channel's bases,
    the pair is Gaussian with ``S_xx = I + Q_x A Q_x^T``,
    ``S_tt = I + Q_t B Q_t^T`` and ``S_xt = Q_x (A B)^{1/2} Q_t^T``; with
    ``U_x``, ``U_t`` orthonormal bases of the maps' column spans (an
    invertible map within a span changes no MI),
    ``I = 1/2 [log det(U_x^T S_xx U_x) + log det(U_t^T S_tt U_t) - log det(U^T S U)]``.
    At most :func:`spiked_channel_mi` (data processing), equal to it when
    the spans contain the signal directions. A benchmark reads the maps off
    an estimator's reduction (``PCAReducedMI.projection``) to split its
    level error into what the kept axes lose and what the estimator misses
    on them.

    Args:
        wx: ``(dim_x, q_x)`` map of X; wt: ``(dim_t, q_t)`` map of T.
    """
    check_dims(1, latent_dim=latent_dim, dim_x=dim_x, dim_t=dim_t)
    for key, w, dim in (("wx", wx, dim_x), ("wt", wt, dim_t)):
        if np.ndim(w) != 2 or np.shape(w)[0] != dim:
            checks.fail(key, f"a ({dim}, q) matrix", np.shape(w))
    a, b = _snrs("snr_x", snr_x, latent_dim), _snrs("snr_t", snr_t, latent_dim)
    qx, qt = _spiked_bases(latent_dim, dim_x, dim_t, seed)
    ux, ut = _span(np.asarray(wx, float)), _span(np.asarray(wt, float))
    if ux.shape[1] == 0 or ut.shape[1] == 0:
        return 0.0
    px, pt = ux.T @ qx, ut.T @ qt  # the signal directions seen through each span
    sxx = np.eye(ux.shape[1]) + (px * a) @ px.T
    stt = np.eye(ut.shape[1]) + (pt * b) @ pt.T
    sxt = (px * np.sqrt(a * b)) @ pt.T
    joint = np.block([[sxx, sxt], [sxt.T, stt]])
    sxx_ld, stt_ld, joint_ld = (np.linalg.slogdet(m)[1] for m in (sxx, stt, joint))
    return float(max(0.0, 0.5 * (sxx_ld + stt_ld - joint_ld)))


def _span(w: np.ndarray, rel_tol: float = 1e-9) -> np.ndarray:
    """An orthonormal basis of the column span of ``w``."""
    u, s, _ = np.linalg.svd(w, full_matrices=False)
    return u[:, s > rel_tol * s.max()] if s.size and s.max() > 0 else u[:, :0]


def in_noise(sample: KnownMISample, dim_x: int, dim_t: int, gain: float = 2.0, seed: int = 0) -> KnownMISample:
    """``sample``'s pair scaled by ``gain``, padded with independent unit noise to ``dim_x`` / ``dim_t``
    coordinates and rotated by seeded random orthogonal maps: MI unchanged.

    ``x' = R_x [gain x, e_x]`` with ``e_x ~ N(0, I)`` independent of the pair
    and ``R_x`` orthogonal (likewise T): an invertible map of ``(x, e_x)``,
    and ``e_x, e_t`` carry nothing, so ``I(x'; t') = I(x; t)``. The signal
    spans ``sample``'s few dimensions; every direction carries noise or
    signal, not both (the spiked channel adds noise to the signal too).
    """
    if sample.x.ndim != 2 or sample.y.ndim != 2:
        checks.fail("sample", "a pair of (N, k) arrays (not labels)", sample.name)
    n = sample.x.shape[0]
    check_dims(n, dim_x=dim_x, dim_t=dim_t)
    checks.positive("gain", gain)
    rng = np.random.default_rng([seed, 507, dim_x, dim_t])
    sides = []
    for side, dim in ((sample.x, dim_x), (sample.y, dim_t)):
        if dim < side.shape[1]:
            checks.fail("dim_x" if side is sample.x else "dim_t", f"an integer >= {side.shape[1]}", dim)
        padded = np.concatenate([gain * side, rng.standard_normal((n, dim - side.shape[1]))], 1)
        sides.append(padded @ random_orthonormal(dim, dim, rng).T)
    return KnownMISample(sides[0], sides[1], sample.mi, f"{sample.name} in noise {dim_x}x{dim_t}", sample.mi_se)


def _label_of(u: np.ndarray, kind: LabelKind, n_classes: int) -> np.ndarray:
    if kind == "xor":
        return (u[:, 0] * u[:, 1] > 0).astype(np.int64)
    edges = chi2.ppf(np.arange(1, n_classes) / n_classes, u.shape[1])
    return np.searchsorted(edges, (u * u).sum(1)).astype(np.int64)


def _posterior(s: np.ndarray, snr: float, kind: LabelKind, n_classes: int) -> np.ndarray:
    """``p(y | s)`` ``(M, C)`` for ``s = sqrt(snr) u + e``: ``u | s ~ N(m, tau^2 I)``,
    ``m = sqrt(snr) s / (1 + snr)``, ``tau^2 = 1 / (1 + snr)``."""
    m = math.sqrt(snr) * s / (1 + snr)
    tau = 1.0 / math.sqrt(1 + snr)
    if kind == "xor":
        p1, p2 = ndtr(m[:, 0] / tau), ndtr(m[:, 1] / tau)
        same = p1 * p2 + (1 - p1) * (1 - p2)
        return np.stack([1 - same, same], 1)
    edges = chi2.ppf(np.arange(1, n_classes) / n_classes, s.shape[1]) / tau**2
    nc = (m * m).sum(1) / tau**2
    cdf = ncx2.cdf(edges[None, :], s.shape[1], nc[:, None])  # (M, C - 1)
    cdf = np.concatenate([np.zeros((len(s), 1)), cdf, np.ones((len(s), 1))], 1)
    return np.clip(np.diff(cdf, axis=1), 0.0, 1.0)


@functools.lru_cache(maxsize=32)
def nonlinear_labels_mi(
    kind: LabelKind, latent_dim: int, n_classes: int, snr: float, mc_samples: int = 200_000, mc_seed: int = 54321
) -> tuple[float, float]:
    """Monte Carlo ``I(T;Y) = H(Y) - E_s[H(Y | s)]`` of :func:`nonlinear_labels` and its standard error.

    ``Y`` is a function of u and T sees u only through ``s = Q^T t``
    (the other coordinates are independent noise), so ``I(T;Y) = I(S;Y)``;
    ``p(y | s)`` is closed form (normal CDFs for XOR, non-central chi-square
    CDFs for the shells), and ``H(Y)`` is exact (``log 2``; ``log C``).
    """
    rng = np.random.default_rng(mc_seed)
    u = rng.standard_normal((mc_samples, latent_dim))
    s = math.sqrt(snr) * u + rng.standard_normal((mc_samples, latent_dim))
    p = _posterior(s, snr, kind, n_classes)
    h = -(p * np.log(np.where(p > 0, p, 1.0))).sum(1)
    h_y = math.log(2 if kind == "xor" else n_classes)
    return float(h_y - h.mean()), float(h.std() / math.sqrt(mc_samples))


def nonlinear_labels(
    n: int,
    dim: int,
    kind: LabelKind = "xor",
    snr: float = 4.0,
    latent_dim: int = 2,
    n_classes: int = 2,
    seed: int = 0,
    mc_samples: int = 200_000,
) -> KnownMISample:
    """Labels a non-linear function of a latent, T a spiked embedding of the latent in ``dim`` dimensions.

    ``u ~ N(0, I_m)``; ``y = 1[u_1 u_2 > 0]`` (``"xor"``, m >= 2, 2 classes:
    both signs agree) or the index of the chi-square quantile shell that
    ``||u||^2`` falls in (``"radial"``, C equiprobable classes, all with the
    same mean 0, so nothing linear separates them); ``t = Q (sqrt(snr) u) +
    e``, ``e ~ N(0, I_dim)``. The truth is :func:`nonlinear_labels_mi`
    (``mi_se`` its MC error).

    Returns:
        ``x`` = T ``(n, dim)`` floats, ``y`` ``(n,)`` int64 labels.
    """
    check_dims(n, dim=dim, latent_dim=latent_dim, n_classes=n_classes)
    checks.choice("kind", kind, ("xor", "radial"))
    if kind == "xor" and latent_dim < 2:
        checks.fail("latent_dim", "an integer >= 2 with kind=xor", latent_dim)
    if kind == "xor" and n_classes != 2:
        checks.fail("n_classes", "2 with kind=xor", n_classes)
    if latent_dim > dim:
        checks.fail("latent_dim", f"an integer <= dim (here {dim})", latent_dim)
    checks.positive("snr", snr)
    rng = np.random.default_rng([seed, 606])
    u = rng.standard_normal((n, latent_dim))
    q = random_orthonormal(dim, latent_dim, np.random.default_rng([seed, 607, dim]))
    t = math.sqrt(snr) * u @ q.T + rng.standard_normal((n, dim))
    mi, se = nonlinear_labels_mi(kind, latent_dim, n_classes, float(snr), mc_samples)
    return KnownMISample(
        t, _label_of(u, kind, n_classes), mi, f"{kind}(m={latent_dim}, C={n_classes}, D={dim}, snr={snr:g})", mi_se=se
    )


def clustered_views(
    n: int, n_atoms: int, latent_dim: int, dim: int, noise: float, seed: int = 0, mc_samples: int = 20_000
) -> KnownMISample:
    """Two views of inputs drawn from ``n_atoms`` points, each view the input's embedding plus its own noise.

    ``mu_1..mu_M ~ N(0, I_k)`` (seeded), ``a`` uniform on the M atoms, and
    ``z_v = Q mu_a + noise * e_v`` in ``dim`` coordinates (``Q`` a seeded
    orthonormal ``(dim, k)`` basis, ``e_v ~ N(0, I_dim)`` independent for
    the two views). An SSL encoder's two views of the same probe image are
    close, and those of different images far: the pair is a mixture of M
    clusters, not a Gaussian. The noise orthogonal to Q is independent
    between views and adds nothing, so the truth is the MI of the
    k-dimensional mixture (:func:`clustered_views_mi`); it tends to log M
    as the noise vanishes and to the Gaussian value ``-k/2 log(1 - 1 /
    (1 + noise^2)^2)`` as M grows.

    Returns:
        ``x`` = Z1 ``(n, dim)``, ``y`` = Z2 ``(n, dim)``, the truth with its
        Monte Carlo standard error in ``mi_se``.
    """
    check_dims(n, n_atoms=n_atoms, latent_dim=latent_dim, dim=dim)
    if latent_dim > dim:
        checks.fail("latent_dim", f"an integer <= dim (here {dim})", latent_dim)
    if not (isinstance(noise, (int, float)) and math.isfinite(noise) and noise > 0):
        checks.fail("noise", "a finite number > 0", noise)
    atoms = np.random.default_rng([seed, 601, n_atoms, latent_dim]).standard_normal((n_atoms, latent_dim))
    basis = random_orthonormal(dim, latent_dim, np.random.default_rng([seed, 602, dim, latent_dim]))
    rng = np.random.default_rng([seed, 603])
    centres = atoms[rng.integers(0, n_atoms, n)] @ basis.T
    z1 = centres + noise * rng.standard_normal((n, dim))
    z2 = centres + noise * rng.standard_normal((n, dim))
    mi, se = clustered_views_mi(atoms, noise, mc_samples, seed)
    name = f"clustered views (M={n_atoms}, k={latent_dim}, d={dim}, noise={noise:g})"
    return KnownMISample(z1, z2, mi, name, mi_se=se)


def clustered_views_mi(atoms: np.ndarray, noise: float, mc_samples: int = 20_000, seed: int = 0) -> tuple[float, float]:
    """Monte Carlo ``I(Z1;Z2)`` of :func:`clustered_views` on its k-dimensional signal part, with its standard error.

    With ``u_v = mu_a + noise * e_v`` and ``g_m(u) = exp(-|u - mu_m|^2 / (2 noise^2))``::

        I = E[ log( mean_m g_m(u_1) g_m(u_2) ) - log mean_m g_m(u_1) - log mean_m g_m(u_2) ]

    (the Gaussian normalisers cancel), each mean a log-sum-exp over the M
    atoms, on ``mc_samples`` fresh draws.
    """
    m = atoms.shape[0]
    rng = np.random.default_rng([seed, 604])
    a = rng.integers(0, m, mc_samples)
    u1 = atoms[a] + noise * rng.standard_normal((mc_samples, atoms.shape[1]))
    u2 = atoms[a] + noise * rng.standard_normal((mc_samples, atoms.shape[1]))
    sq_atoms = (atoms * atoms).sum(1)
    terms = np.empty(mc_samples)
    for start in range(0, mc_samples, 1024):
        rows = slice(start, start + 1024)
        l1 = -(((u1[rows] * u1[rows]).sum(1)[:, None] - 2 * u1[rows] @ atoms.T + sq_atoms) / (2 * noise**2))
        l2 = -(((u2[rows] * u2[rows]).sum(1)[:, None] - 2 * u2[rows] @ atoms.T + sq_atoms) / (2 * noise**2))
        terms[rows] = logsumexp(l1 + l2, axis=1) - logsumexp(l1, axis=1) - logsumexp(l2, axis=1) + math.log(m)
    return float(terms.mean()), float(terms.std() / math.sqrt(mc_samples))
