"""Low-dimensional distributions with closed-form mutual information.

Correlated Gaussians, Student-t, coordinatewise transforms, a 1-D Gaussian
mixture against its label and discrete joint tables. Every sampler returns a
:class:`KnownMISample`; seeds make every draw reproducible.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.integrate import trapezoid
from scipy.special import digamma, gammaln

from ssl_it import checks

Transform = Literal["cubic", "sinh", "sigmoid"]


@dataclass
class KnownMISample:
    """A sample and its mutual information (nats).

    Attributes:
        x: ``(N, dx)`` floats.
        y: ``(N, dy)`` floats or ``(N,)`` int64 class labels.
        mi: the true MI of the distribution the sample was drawn from.
        name: a short description of the task.
        mi_se: standard error of ``mi`` when it is a Monte Carlo value, 0 when exact.
    """

    x: np.ndarray
    y: np.ndarray
    mi: float
    name: str = ""
    mi_se: float = 0.0


def _check(n: int, dim: int) -> None:
    checks.integer("n", n)
    checks.integer("dim", dim)


def rho_for_mi(mi: float, dim: int) -> float:
    """Per-component correlation giving ``I = -dim/2 log(1 - rho^2) = mi``."""
    checks.positive("mi", mi, allow_zero=True)
    return math.sqrt(1.0 - math.exp(-2.0 * mi / dim))


def gaussian_mi(rho: float, dim: int) -> float:
    """``I(X;Y) = -dim/2 log(1 - rho^2)`` for ``dim`` independent pairs with correlation rho."""
    return -0.5 * dim * math.log1p(-rho * rho)


def correlated_gaussian(n: int, dim: int, rho: float, seed: int = 0) -> KnownMISample:
    """``x, y`` in R^dim, standard normal, ``corr(x_k, y_k) = rho``, other pairs independent.

    MI = -1/2 log det(Sigma_xy) / (det Sigma_x det Sigma_y) = -dim/2 log(1 - rho^2).
    """
    _check(n, dim)
    checks.number("rho", rho, -1.0, 1.0, open_low=True, open_high=True)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, dim))
    y = rho * x + math.sqrt(1 - rho * rho) * rng.standard_normal((n, dim))
    return KnownMISample(x, y, gaussian_mi(rho, dim), f"gaussian(d={dim}, rho={rho:.3g})")


def _t_entropy_shape_term(df: float, p: int) -> float:
    """Entropy of a standard p-dim Student-t minus ``1/2 log det Sigma + p/2 log(df pi)``."""
    return gammaln(df / 2) - gammaln((df + p) / 2) + (df + p) / 2 * (digamma((df + p) / 2) - digamma(df / 2))


def student_t_mi(rho: float, dim: int, df: float) -> float:
    """Exact MI of the multivariate Student-t of :func:`student_t` (nats).

    From ``I = H(X) + H(Y) - H(X, Y)`` with the multivariate-t entropy
    ``H = 1/2 log det Sigma + p/2 log(df pi) + log G(df/2) - log G((df+p)/2)
    + (df+p)/2 [psi((df+p)/2) - psi(df/2)]`` (marginals are t with the same df):
    the Gaussian term plus a non-negative dof term.
    """
    return (
        gaussian_mi(rho, dim)
        + 2 * _t_entropy_shape_term(df, dim)
        - _t_entropy_shape_term(df, 2 * dim)
        - _t_entropy_shape_term(df, 0)
    )


def student_t(n: int, dim: int, rho: float, df: float = 3.0, seed: int = 0) -> KnownMISample:
    """Multivariate Student-t (df degrees of freedom) with the correlation of :func:`correlated_gaussian`.

    ``(x, y) = z / sqrt(w / df)``, z Gaussian, ``w ~ chi^2(df)`` shared: heavy
    tails and dependence even at rho = 0.
    """
    checks.positive("df", df)
    base = correlated_gaussian(n, dim, rho, seed)
    w = np.random.default_rng(seed + 7919).chisquare(df, size=(n, 1)) / df
    scale = 1.0 / np.sqrt(w)
    return KnownMISample(
        base.x * scale, base.y * scale, student_t_mi(rho, dim, df), f"student_t(d={dim}, rho={rho:.3g}, df={df:g})"
    )


def transformed_gaussian(n: int, dim: int, rho: float, transform: Transform = "cubic", seed: int = 0) -> KnownMISample:
    """:func:`correlated_gaussian` with an invertible map on each coordinate (MI unchanged).

    ``"cubic"``: ``x^3``; ``"sinh"``: ``sinh(2x)``; ``"sigmoid"``: ``1/(1+e^-x)``.
    """
    maps = {"cubic": lambda a: a**3, "sinh": lambda a: np.sinh(2 * a), "sigmoid": lambda a: 1 / (1 + np.exp(-a))}
    checks.choice("transform", transform, tuple(maps))
    base = correlated_gaussian(n, dim, rho, seed)
    f = maps[transform]
    return KnownMISample(f(base.x), f(base.y), base.mi, f"{transform}_gaussian(d={dim}, rho={rho:.3g})")


def mixture_label_mi(n_classes: int, separation: float) -> float:
    """Exact ``I(T;Y)`` for :func:`gaussian_mixture_labels` by 1-D quadrature (error < 1e-9)."""
    means = separation * np.arange(n_classes)
    t = np.linspace(means.min() - 12, means.max() + 12, 200_001)
    comp = np.exp(-0.5 * (t[None, :] - means[:, None]) ** 2) / math.sqrt(2 * math.pi)  # (C, grid)
    mix = comp.mean(0)
    integrand = (comp * (np.log(np.maximum(comp, 1e-300)) - np.log(np.maximum(mix, 1e-300)))).mean(0)
    return float(trapezoid(integrand, t))


def gaussian_mixture_labels(n: int, n_classes: int, dim: int, separation: float = 2.0, seed: int = 0) -> KnownMISample:
    """Class labels ``y`` uniform on ``n_classes``; ``x`` ``(n, dim)`` standard normal
    except ``x[:, 0] += separation * y``. Exact ``I(X;Y)`` from :func:`mixture_label_mi`
    (the other dimensions carry nothing); it tends to ``log n_classes`` as
    the separation grows."""
    _check(n, dim)
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, n).astype(np.int64)
    x = rng.standard_normal((n, dim))
    x[:, 0] += separation * y
    return KnownMISample(
        x, y, mixture_label_mi(n_classes, separation), f"mixture_labels(C={n_classes}, d={dim}, sep={separation:g})"
    )


def discrete_joint(n: int, pmf: np.ndarray, seed: int = 0) -> KnownMISample:
    """``(x, y)`` integer pairs drawn from a joint probability table ``pmf`` ``(Kx, Ky)``.

    Exact ``I = sum p(x,y) log p(x,y) / (p(x) p(y))``. ``x`` is returned as
    ``(n, 1)`` float, ``y`` as ``(n,)`` int64 labels.
    """
    p = np.asarray(pmf, dtype=float)
    if p.ndim != 2 or (p < 0).any() or not math.isclose(p.sum(), 1.0, rel_tol=1e-9):
        checks.fail("pmf", "a 2-D table of non-negative probabilities summing to 1", pmf)
    rng = np.random.default_rng(seed)
    flat = rng.choice(p.size, size=n, p=p.ravel())
    xs, ys = np.unravel_index(flat, p.shape)
    px, py = p.sum(1, keepdims=True), p.sum(0, keepdims=True)
    nz = p > 0
    mi = float((p[nz] * np.log(p[nz] / (px @ py)[nz])).sum())
    return KnownMISample(xs[:, None].astype(float), ys.astype(np.int64), mi, f"discrete{p.shape}")
