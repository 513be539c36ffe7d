"""Plain-tensor diagnostics of an embedding: spread, alignment, uniformity.

Used by :class:`ssl_it.callbacks.EmbeddingDiagnostics`; no Lightning here.
Every function takes ``(batch, dim)`` tensors and L2-normalises them first,
so the numbers do not depend on the embedding's scale.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ssl_it import checks


def _check(name: str, z: torch.Tensor, min_rows: int = 1) -> torch.Tensor:
    if z.dim() != 2 or z.shape[0] < min_rows:
        raise ValueError(f"{name}: expected a (batch, dim) tensor with batch >= {min_rows}, got {tuple(z.shape)}")
    return F.normalize(z.double(), dim=1)


def embedding_std(z: torch.Tensor) -> float:
    """Mean over dimensions of the per-dimension std of the L2-normalised embedding.

        s(Z) = (1/d) sum_j std_i( z_ij / ||z_i|| )

    The collapse detector of SimSiam (Chen & He 2021, arXiv:2011.10566,
    Sec. 4.1): an embedding spread isotropically over the unit sphere has
    ``s ~ 1/sqrt(d)``; a collapsed one (every sample mapped to the same
    vector) has ``s = 0``. Population std (divide by N).

    Args:
        z: ``(batch, dim)`` embedding, ``batch >= 2``.
    """
    return float(_check("z", z, 2).std(dim=0, unbiased=False).mean())


def alignment(z1: torch.Tensor, z2: torch.Tensor, alpha: float = 2.0) -> float:
    """Alignment of positive pairs (Wang & Isola 2020, arXiv:2005.10242, Eq. 4).

        L_align = E_{(x, x+)} || f(x) - f(x+) ||_2^alpha,

    with ``f`` the L2-normalised embedding and ``(z1[i], z2[i])`` the two
    views of sample ``i``. 0 for identical views; at most ``2^alpha``.

    Args:
        z1, z2: ``(batch, dim)`` embeddings of two views of the same samples.
        alpha: the exponent (2 in the paper).
    """
    checks.positive("alpha", alpha)
    a, b = _check("z1", z1), _check("z2", z2)
    if a.shape != b.shape:
        raise ValueError(f"z1, z2: shapes differ, {tuple(a.shape)} vs {tuple(b.shape)}")
    return float((a - b).norm(dim=1).pow(alpha).mean())


def uniformity(z: torch.Tensor, t: float = 2.0, chunk_size: int = 1024) -> float:
    """Uniformity on the hypersphere (Wang & Isola 2020, arXiv:2005.10242, Eq. 5).

        L_uniform = log E_{x != y} exp(-t || f(x) - f(y) ||_2^2),

    averaged over the ``N(N-1)/2`` distinct pairs (the paper's ``pdist``),
    with ``f`` the L2-normalised embedding. 0 for a collapsed embedding
    (every pair at distance 0); more negative is more uniform (``-4t = -8``
    for two antipodal points at ``t = 2``: squared distance 4).

    Computed over blocks of ``chunk_size`` rows, so memory stays
    ``O(chunk_size * batch)`` (a probe set of 8,192 would need 33.5 M pair
    distances at once).

    Args:
        z: ``(batch, dim)`` embedding, ``batch >= 2``.
        t: the kernel's scale (2 in the paper).
        chunk_size: rows per block.
    """
    checks.positive("t", t)
    f = _check("z", z, 2)
    n = f.shape[0]
    parts = []
    for start in range(0, n - 1, chunk_size):
        rows = f[start : start + chunk_size]
        sq = torch.cdist(rows, f[start + 1 :]).pow(2)  # (chunk, n - start - 1)
        i = torch.arange(rows.shape[0], device=f.device)[:, None]
        j = torch.arange(sq.shape[1], device=f.device)[None, :]
        parts.append(torch.logsumexp(-t * sq[j >= i], dim=0))  # pairs (start + i, start + 1 + j), j >= i
    n_pairs = torch.tensor(n * (n - 1) / 2, dtype=f.dtype)
    return float(torch.logsumexp(torch.stack(parts), dim=0) - torch.log(n_pairs))
