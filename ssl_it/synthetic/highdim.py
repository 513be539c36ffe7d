"""Known-MI tasks in the regime of the information-plane callback (64-2,048 dimensions).

* :func:`gaussian_channel`: a latent Gaussian pair ``(u, v)`` in R^k with
  closed-form MI, each side embedded into D ambient dimensions by a seeded
  injective map (:mod:`ssl_it.synthetic.embeddings`), so the MI of the
  embedded pair is the latent MI.
* :func:`subspace_mixture`: a C-class Gaussian mixture in D dimensions whose
  class means live in an m-dimensional subspace, against its label; the MI
  by Monte Carlo from the known densities, with its standard error.
* :func:`deterministic_encoder`: X uniform on M distinct points, T an
  injective function of X, so ``I(X;T) = H(X) = log M`` exactly.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ssl_it import checks
from ssl_it.synthetic.classic import KnownMISample, gaussian_mi
from ssl_it.synthetic.embeddings import Embedding, check_dims, embed, random_orthonormal


def gaussian_channel(
    n: int,
    latent_dim: int,
    ambient_dim: int,
    rho: float = 0.8,
    embedding: Embedding = "linear",
    seed: int = 0,
    ambient_dim_y: int | None = None,
    gain: float = 2.0,
) -> KnownMISample:
    """Latent ``u ~ N(0, I_k)``, ``v = rho u + sqrt(1 - rho^2) e``, each embedded in D dimensions.

    ``x = f(u)`` ``(n, ambient_dim)``, ``y = g(v)`` ``(n, ambient_dim_y)``
    with f, g independent seeded injective maps of the kind ``embedding``, so

        I(X;Y) = I(U;V) = -k/2 log(1 - rho^2)     (nats; 0.511 per latent dim at rho = 0.8)

    Args:
        n: samples.
        latent_dim: k (1-16 in the bench).
        ambient_dim: D of x (>= k).
        rho: per-dimension latent correlation in (-1, 1).
        embedding: ``"linear"``, ``"tanh"`` or ``"softplus"``.
        seed: seed of the sample and of the two maps.
        ambient_dim_y: D of y (default ``ambient_dim``).
        gain: pre-activation scale of the nonlinear embeddings.
    """
    dim_y = ambient_dim if ambient_dim_y is None else ambient_dim_y
    check_dims(n, latent_dim=latent_dim, ambient_dim=ambient_dim, ambient_dim_y=dim_y)
    checks.number("rho", rho, -1.0, 1.0, open_low=True, open_high=True)
    rng = np.random.default_rng([seed, 101])
    u = rng.standard_normal((n, latent_dim))
    v = rho * u + math.sqrt(1 - rho * rho) * rng.standard_normal((n, latent_dim))
    x = embed(u, ambient_dim, embedding, seed=2 * seed, gain=gain)
    y = embed(v, dim_y, embedding, seed=2 * seed + 1, gain=gain)
    return KnownMISample(
        x,
        y,
        gaussian_mi(rho, latent_dim),
        f"channel(k={latent_dim}, D={ambient_dim}x{dim_y}, {embedding}, rho={rho:g})",
    )


def mixture_means(n_classes: int, subspace_dim: int, separation: float, means_seed: int = 0) -> np.ndarray:
    """Class means ``(C, m)``: i.i.d. ``N(0, separation^2 I_m)``, fixed by ``means_seed``."""
    return separation * np.random.default_rng([means_seed, n_classes, subspace_dim]).standard_normal(
        (n_classes, subspace_dim)
    )


def class_weights(n_classes: int, imbalance: float = 0.0) -> np.ndarray:
    """Class probabilities ``p_c`` proportional to ``(c + 1)^-imbalance`` (0: equiprobable; 1: Zipf)."""
    checks.positive("imbalance", imbalance, allow_zero=True)
    w = np.arange(1, n_classes + 1, dtype=float) ** -float(imbalance)
    return w / w.sum()


@functools.lru_cache(maxsize=64)
def subspace_mixture_mi(
    n_classes: int,
    subspace_dim: int,
    separation: float,
    means_seed: int = 0,
    mc_samples: int = 1_000_000,
    mc_seed: int = 12345,
    imbalance: float = 0.0,
) -> tuple[float, float]:
    """Monte Carlo ``I(X;Y)`` of :func:`subspace_mixture` and its standard error (nats).

    With ``s = Q^T x ~ N(mu_y, I_m)`` the only part of x whose law depends on
    y, ``log p(x|y) / p(x) = log N(s; mu_y, I) - log sum_c p_c N(s; mu_c, I)``,
    so ``I = E[log N(s; mu_y, I) - logsumexp_c(log p_c - ||s - mu_c||^2 / 2)]``
    (the Gaussian constants cancel), averaged over ``mc_samples`` draws of
    ``(s, y)`` in m dimensions (``p_c`` from :func:`class_weights`); the
    standard error is ``std / sqrt(mc_samples)``.

    Returns:
        ``(mi, standard error)``.
    """
    means = mixture_means(n_classes, subspace_dim, separation, means_seed)
    weights = class_weights(n_classes, imbalance)
    rng = np.random.default_rng(mc_seed)
    total = total_sq = 0.0
    for start in range(0, mc_samples, 100_000):
        size = min(100_000, mc_samples - start)
        y = rng.choice(n_classes, size, p=weights) if imbalance else rng.integers(0, n_classes, size)
        s = means[y] + rng.standard_normal((size, subspace_dim))
        d2 = (s * s).sum(1)[:, None] - 2.0 * s @ means.T + (means * means).sum(1)[None]  # (size, C)
        log_mix = np.logaddexp.reduce(np.log(weights)[None] - 0.5 * d2, axis=1)
        term = -0.5 * d2[np.arange(size), y] - log_mix
        total, total_sq = total + term.sum(), total_sq + (term * term).sum()
    mean = total / mc_samples
    var = max(total_sq / mc_samples - mean * mean, 0.0)
    return float(mean), float(math.sqrt(var / mc_samples))


def subspace_mixture(
    n: int,
    ambient_dim: int,
    n_classes: int = 10,
    subspace_dim: int = 2,
    separation: float = 1.0,
    embedding: Embedding = "linear",
    seed: int = 0,
    means_seed: int = 0,
    mc_samples: int = 1_000_000,
    gain: float = 0.5,
    imbalance: float = 0.0,
) -> KnownMISample:
    """C classes in D dimensions, means in a random m-dimensional subspace, against the label.

    ``y`` uniform on ``{0..C-1}`` (or with ``P(y = c)`` proportional to
    ``(c + 1)^-imbalance``: :func:`class_weights`); ``z = Q mu_y + e``, ``e ~ N(0, I_D)``,
    ``Q`` ``(D, m)`` a seeded orthonormal basis, ``mu_c`` from
    :func:`mixture_means`. ``x = z`` (``"linear"``) or ``phi(gain z)``
    elementwise (``"tanh"``, ``"softplus"``: strictly increasing, so
    injective and MI-preserving). The label information is confined to the
    m coordinates ``Q^T z``; the other D - m directions are pure noise, which
    is what makes the task hard for density estimators in high dimension.
    The truth comes from :func:`subspace_mixture_mi` (``mi_se`` its MC error).

    Returns:
        ``x`` ``(n, ambient_dim)`` floats, ``y`` ``(n,)`` int64 labels.
    """
    check_dims(n, ambient_dim=ambient_dim, n_classes=n_classes, subspace_dim=subspace_dim)
    if subspace_dim > ambient_dim:
        checks.fail("subspace_dim", f"an integer <= ambient_dim (here {ambient_dim})", subspace_dim)
    checks.positive("separation", separation, allow_zero=True)
    checks.choice("embedding", embedding, ("linear", "tanh", "softplus"))
    means = mixture_means(n_classes, subspace_dim, separation, means_seed)
    rng = np.random.default_rng([seed, 202])
    weights = class_weights(n_classes, imbalance)
    y = (rng.choice(n_classes, n, p=weights) if imbalance else rng.integers(0, n_classes, n)).astype(np.int64)
    q = random_orthonormal(ambient_dim, subspace_dim, np.random.default_rng([seed, 303, ambient_dim]))
    z = means[y] @ q.T + rng.standard_normal((n, ambient_dim))
    x = z if embedding == "linear" else (np.tanh(gain * z) if embedding == "tanh" else np.logaddexp(0.0, gain * z))
    mi, se = subspace_mixture_mi(
        n_classes, subspace_dim, float(separation), means_seed, mc_samples, imbalance=float(imbalance)
    )
    skew = f", imbalance={imbalance:g}" if imbalance else ""
    return KnownMISample(
        x,
        y,
        mi,
        f"mixture(C={n_classes}, m={subspace_dim}, D={ambient_dim}, sep={separation:g}, {embedding}{skew})",
        mi_se=se,
    )


def deterministic_encoder(
    n: int, n_points: int, ambient_dim: int, width: int, embedding: Embedding = "tanh", seed: int = 0
) -> KnownMISample:
    """X uniform on M distinct points of R^D; T = phi(W X + b) injective on them: ``I(X;T) = log M``.

    The M support points are i.i.d. ``N(0, I_D)`` (distinct with probability
    1). ``W`` ``(width, D)`` is Gaussian; a generic linear map is injective on
    a finite set (each of the finitely many differences ``x_i - x_j`` misses
    its kernel with probability 1), and the elementwise ``phi`` is strictly
    increasing, so T determines X and X determines T:
    ``I(X;T) = H(X) = H(T) = log M`` exactly. This is the information plane's
    deterministic-network case; with N draws, ``M >> N`` looks like N distinct
    inputs, where no estimator can see beyond about log N.

    Returns:
        ``x`` ``(n, ambient_dim)``, ``y`` = T ``(n, width)``, ``mi = log n_points``.
    """
    check_dims(n, n_points=n_points, ambient_dim=ambient_dim, width=width)
    rng = np.random.default_rng([seed, 404])
    points = rng.standard_normal((n_points, ambient_dim))
    idx = rng.integers(0, n_points, n)
    x = points[idx]
    w = rng.standard_normal((width, ambient_dim)) / math.sqrt(ambient_dim)
    z = x @ w.T
    if embedding == "linear":
        t = z
    else:
        z = 2.0 * (z + rng.uniform(-0.5, 0.5, width))
        t = np.tanh(z) if embedding == "tanh" else np.logaddexp(0.0, z)
    return KnownMISample(
        x, t, math.log(n_points), f"deterministic(M={n_points}, D={ambient_dim}, width={width}, {embedding})"
    )
