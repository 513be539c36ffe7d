"""Seeded injective maps from a low-dimensional latent space into many ambient dimensions.

Mutual information is invariant under injective measurable maps of either
variable, so a latent pair with known MI keeps that MI once each side is
embedded by one of these maps. Why each map is injective:

* ``"linear"``: ``u -> A u`` with ``A`` ``(D, k)``, ``D >= k``, i.i.d.
  Gaussian entries scaled by ``1/sqrt(k)``. Such a matrix has full column
  rank k with probability 1 (its k x k minors are non-zero polynomials of
  Gaussian entries); the draw is also checked (smallest singular value > 0).
  A full-column-rank linear map is injective.
* ``"tanh"`` / ``"softplus"``: ``u -> phi(gain (A u + b))`` elementwise.
  ``A u + b`` is injective as above, and ``tanh`` and
  ``softplus(z) = log(1 + e^z)`` are strictly increasing on R, so applying
  them to each coordinate is injective on R^D; a composition of injective
  maps is injective. Both maps are continuous, so the image of a Borel set is
  Borel and the inverse is measurable (Lusin–Souslin), which is what the
  invariance ``I(f(U); g(V)) = I(U; V)`` needs.

The matrices depend only on ``seed``, never on the sample.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from ssl_it import checks

Embedding = Literal["linear", "tanh", "softplus"]
EMBEDDINGS: tuple[str, ...] = ("linear", "tanh", "softplus")


def check_dims(n: int, **dims: int) -> None:
    """Raise ``ValueError`` naming the first argument that is not a positive integer."""
    for name, value in {"n": n, **dims}.items():
        checks.integer(name, value)


def full_rank_matrix(rows: int, cols: int, rng: np.random.Generator) -> np.ndarray:
    """``(rows, cols)`` Gaussian matrix, entries ``N(0, 1/cols)``, checked to have rank ``min(rows, cols)``."""
    a = rng.standard_normal((rows, cols)) / np.sqrt(cols)
    smallest = np.linalg.svd(a, compute_uv=False).min()
    if not smallest > 1e-10:  # probability 0; kept as a guard
        raise RuntimeError(f"drew a rank-deficient {rows}x{cols} matrix (smallest singular value {smallest:.3g})")
    return a


def embed(u: np.ndarray, ambient_dim: int, embedding: Embedding, seed: int, gain: float = 2.0) -> np.ndarray:
    """Map latent ``u`` ``(N, k)`` into ``(N, ambient_dim)`` by the seeded injective map (module docstring).

    Args:
        u: latent samples ``(N, k)``.
        ambient_dim: D >= k.
        embedding: ``"linear"``, ``"tanh"`` or ``"softplus"``.
        seed: seed of ``A`` and ``b``.
        gain: pre-activation scale of the nonlinear maps (each coordinate of
            ``A u`` has variance close to ``var(u)``; 2 makes tanh saturate
            on a good share of the samples).
    """
    k = u.shape[1]
    checks.choice("embedding", embedding, EMBEDDINGS)
    if ambient_dim < k:
        checks.fail("ambient_dim", f"an integer >= the latent dimension {k} (an injective map)", ambient_dim)
    checks.positive("gain", gain)
    rng = np.random.default_rng([seed, ambient_dim, k])
    a = full_rank_matrix(ambient_dim, k, rng)
    z = u @ a.T
    if embedding == "linear":
        return z
    z = gain * (z + rng.uniform(-0.5, 0.5, ambient_dim))
    return np.tanh(z) if embedding == "tanh" else np.logaddexp(0.0, z)


def random_orthonormal(rows: int, cols: int, rng: np.random.Generator) -> np.ndarray:
    """``(rows, cols)`` matrix with orthonormal columns (QR of a Gaussian matrix), ``rows >= cols``."""
    q, r = np.linalg.qr(rng.standard_normal((rows, cols)))
    return q * np.sign(np.diag(r))
