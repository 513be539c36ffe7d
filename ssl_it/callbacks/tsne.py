"""A small exact t-SNE in torch, for pictures of a probe set of a few hundred points.

t-SNE (van der Maaten & Hinton 2008, JMLR 9) places points ``y_i`` in 2-D so
that the Student-t similarities

    q_ij = (1 + |y_i - y_j|^2)^-1 / sum_{k != l} (1 + |y_k - y_l|^2)^-1

match the input similarities ``p_ij = (p_j|i + p_i|j) / 2n``, where
``p_j|i ∝ exp(-beta_i |x_i - x_j|^2)`` and ``beta_i`` is set by bisection so
that each row's perplexity ``2^H(p_.|i)`` equals ``perplexity``. It descends
``KL(P || Q)``, whose gradient is

    dC/dy_i = 4 sum_j (p_ij - q_ij) (1 + |y_i - y_j|^2)^-1 (y_i - y_j),

with momentum, per-coordinate gains and early exaggeration (P times 12) as in
the paper. The input is first reduced to its top ``pca_dim`` principal axes.

Why not scikit-learn's ``TSNE``: it always runs 250 exaggerated iterations
before the ``max_iter - 250`` real ones (its cost at N = 512 is in
docs/embedding-view.md), and an embedding view drawn at every
information-plane evaluation of every tapped layer had to cost under 2 % of
a run. At N <= 1,000 the exact O(N^2) gradient is a few dense matrix
operations per iteration; ``init`` warm-starts from the previous
evaluation's layout, which needs fewer iterations and keeps the clusters
where they were from one picture to the next.
"""

from __future__ import annotations

import math

import torch


def pca(x: torch.Tensor, dim: int) -> torch.Tensor:
    """``(n, min(dim, n, d))``: the centred ``x`` ``(n, d)`` on its top principal axes."""
    x = x - x.mean(0)
    k = min(dim, *x.shape)
    if k == x.shape[1]:
        return x
    u, s, _ = torch.linalg.svd(x, full_matrices=False)
    return u[:, :k] * s[:k]


def conditional_probabilities(x: torch.Tensor, perplexity: float, steps: int = 30) -> torch.Tensor:
    """``(n, n)`` rows ``p_j|i`` (zero diagonal), each row's ``beta_i`` set by
    bisection on ``log beta_i`` so that its entropy is ``log(perplexity)``
    (perplexity capped at ``(n - 1) / 3``)."""
    n = x.shape[0]
    d2 = torch.cdist(x, x).square()
    d2 = d2 / d2[d2 > 0].median().clamp_min(1e-12)  # scale-free start for the bisection
    d2.fill_diagonal_(float("inf"))
    target = math.log(min(perplexity, (n - 1) / 3))
    lo = torch.full((n, 1), -20.0, dtype=x.dtype, device=x.device)
    hi = torch.full((n, 1), 20.0, dtype=x.dtype, device=x.device)
    for _ in range(steps):
        mid = (lo + hi) / 2
        cond = torch.softmax(-d2 * mid.exp(), dim=1)
        entropy = -(cond * cond.clamp_min(1e-30).log()).sum(1, keepdim=True)
        too_flat = entropy > target  # larger beta sharpens the row
        lo = torch.where(too_flat, mid, lo)
        hi = torch.where(too_flat, hi, mid)
    return torch.softmax(-d2 * ((lo + hi) / 2).exp(), dim=1)


def joint_probabilities(x: torch.Tensor, perplexity: float) -> torch.Tensor:
    """``(n, n)`` symmetric ``p_ij = (p_j|i + p_i|j) / 2n`` (zero diagonal, sums to 1)."""
    cond = conditional_probabilities(x, perplexity)
    p = (cond + cond.T) / (2 * x.shape[0])
    return p.clamp_min(1e-12).fill_diagonal_(0.0)


def kl_divergence(p: torch.Tensor, y: torch.Tensor) -> float:
    """``KL(P || Q)`` of the layout ``y`` ``(n, 2)``, in nats."""
    w = 1.0 / (1.0 + torch.cdist(y, y).square())
    w.fill_diagonal_(0.0)
    q = (w / w.sum()).clamp_min(1e-12)
    mask = p > 0
    return float((p[mask] * (p[mask] / q[mask]).log()).sum())


def tsne(
    x: torch.Tensor,
    perplexity: float = 30.0,
    n_iter: int = 300,
    init: torch.Tensor | None = None,
    pca_dim: int = 50,
    early_iter: int = 100,
    seed: int = 0,
) -> torch.Tensor:
    """``(n, 2)`` t-SNE layout of ``x`` ``(n, d)`` (float32 on ``x``'s device).

    Args:
        perplexity: effective neighbours per point (capped at ``(n - 1) / 3``).
        n_iter: gradient steps in all.
        init: a previous layout ``(n, 2)`` to start from (then no early
            exaggeration); ``None``: the first two principal axes, scaled to
            std 1e-4, plus seeded jitter.
        pca_dim: principal axes kept before the similarities are computed.
        early_iter: steps with exaggerated P (from a fresh start).
        seed: seeds the jitter of a fresh start.
    """
    if x.ndim != 2 or x.shape[0] < 4:
        raise ValueError(f"t-SNE needs a (n, d) matrix with n >= 4, got shape {tuple(x.shape)}")
    x = pca(x.detach().to(torch.float32), pca_dim)
    p = joint_probabilities(x, perplexity)
    n = x.shape[0]
    if init is not None:
        y = init.detach().to(x).clone()
        early_iter = 0
    else:
        g = torch.Generator(device="cpu").manual_seed(seed)
        start = pca(x, 2) if x.shape[1] >= 2 else torch.zeros(n, 2, dtype=x.dtype, device=x.device)
        start = start / start[:, 0].std().clamp_min(1e-12) * 1e-4
        y = start + 1e-6 * torch.randn(n, 2, generator=g, dtype=x.dtype).to(x.device)  # drawn on the CPU: seeded
    lr = max(n / 12.0 / 4.0, 50.0)  # scikit-learn's "auto" rate
    velocity = torch.zeros_like(y)
    gains = torch.ones_like(y)
    for it in range(n_iter):
        exaggerated = it < early_iter
        pe = p * 12.0 if exaggerated else p
        w = 1.0 / (1.0 + torch.cdist(y, y).square())
        w.fill_diagonal_(0.0)
        pq = (pe - w / w.sum()) * w
        grad = 4.0 * (pq.sum(1, keepdim=True) * y - pq @ y)
        same_sign = (grad > 0) == (velocity > 0)
        gains = torch.where(same_sign, gains * 0.8, gains + 0.2).clamp_min(0.01)
        momentum = 0.5 if exaggerated else 0.8
        velocity = momentum * velocity - lr * gains * grad
        y = y + velocity
    return y - y.mean(0)
