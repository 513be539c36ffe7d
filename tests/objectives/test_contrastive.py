"""NT-Xent, InfoNCE and MoCo losses against loop/numpy computations of their equations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ssl_it.objectives import critic_scores, info_nce, info_nce_views, moco_loss, nt_xent


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _nt_xent_loop(z1: np.ndarray, z2: np.ndarray, tau: float) -> float:
    u = _unit(np.concatenate([z1, z2]).astype(np.float64))
    n2 = len(u)
    n = n2 // 2
    total = 0.0
    for i in range(n2):
        p = (i + n) % n2
        denom = sum(math.exp(u[i] @ u[k] / tau) for k in range(n2) if k != i)
        total += -math.log(math.exp(u[i] @ u[p] / tau) / denom)
    return total / n2


def test_nt_xent_matches_loop() -> None:
    g = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(5, 3, generator=g), torch.randn(5, 3, generator=g)
    got = nt_xent(z1, z2, 0.5).item()
    assert got == pytest.approx(_nt_xent_loop(z1.numpy(), z2.numpy(), 0.5), rel=1e-5)


def test_nt_xent_identical_orthonormal_closed_form() -> None:
    # z1 = z2 = I_N: positive similarity 1, the other 2N - 2 candidates 0.
    n, tau = 4, 0.2
    z = torch.eye(n)
    expected = -math.log(math.exp(1 / tau) / (math.exp(1 / tau) + 2 * n - 2))
    assert nt_xent(z, z.clone(), tau).item() == pytest.approx(expected, rel=1e-6)


def test_nt_xent_collapsed_is_log_candidates() -> None:
    z = torch.ones(6, 3)
    assert nt_xent(z, z.clone(), 0.1).item() == pytest.approx(math.log(11), rel=1e-6)


def test_nt_xent_symmetric_and_scale_invariant() -> None:
    g = torch.Generator().manual_seed(1)
    z1, z2 = torch.randn(7, 4, generator=g), torch.randn(7, 4, generator=g)
    a = nt_xent(z1, z2, 0.3)
    assert nt_xent(z2, z1, 0.3).item() == pytest.approx(a.item(), rel=1e-6)
    assert nt_xent(3 * z1, 0.5 * z2, 0.3).item() == pytest.approx(a.item(), rel=1e-5)


def test_nt_xent_gradients_finite_and_batch_of_one_rejected() -> None:
    z1 = torch.randn(8, 4, requires_grad=True)
    nt_xent(z1, torch.randn(8, 4), 0.1).backward()
    assert torch.isfinite(z1.grad).all() and z1.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="batch size"):
        nt_xent(torch.randn(1, 4), torch.randn(1, 4), 0.1)
    with pytest.raises(ValueError, match="temperature"):
        nt_xent(torch.randn(3, 4), torch.randn(3, 4), 0.0)


@pytest.mark.parametrize("critic", ["cosine", "dot", "bilinear", "neg_l2"])
def test_critic_scores_match_loops(critic: str) -> None:
    g = torch.Generator().manual_seed(2)
    z1, z2 = torch.randn(4, 3, generator=g), torch.randn(4, 3, generator=g)
    w = torch.randn(3, 3, generator=g)
    got = critic_scores(z1, z2, critic, 0.5, w).numpy()
    a, b, wn = z1.double().numpy(), z2.double().numpy(), w.double().numpy()
    for i in range(4):
        for j in range(4):
            if critic == "cosine":
                s = _unit(a)[i] @ _unit(b)[j]
            elif critic == "dot":
                s = a[i] @ b[j]
            elif critic == "bilinear":
                s = _unit(a)[i] @ wn @ _unit(b)[j]
            else:
                s = -np.sum((a[i] - b[j]) ** 2)
            assert got[i, j] == pytest.approx(s / 0.5, rel=1e-4, abs=1e-5)


def test_info_nce_matches_loop_and_bounds() -> None:
    s = torch.tensor([[2.0, 0.5, -1.0], [0.0, 1.0, 0.3], [1.0, 1.0, 1.0]])
    expected = -np.mean([s[i, i] - np.log(np.exp(s[i].numpy()).sum()) for i in range(3)])
    assert info_nce(s).item() == pytest.approx(float(expected), rel=1e-6)
    # all scores equal -> log N; perfectly separated -> 0 (bound reaches log N)
    assert info_nce(torch.zeros(5, 5)).item() == pytest.approx(math.log(5), rel=1e-6)
    assert info_nce(torch.eye(5) * 100).item() == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="scores"):
        info_nce(torch.zeros(1, 1))


def test_info_nce_views_is_symmetric() -> None:
    g = torch.Generator().manual_seed(3)
    z1, z2 = torch.randn(6, 4, generator=g), torch.randn(6, 4, generator=g)
    assert info_nce_views(z1, z2).item() == pytest.approx(info_nce_views(z2, z1).item(), rel=1e-6)


def _moco_loop(q: np.ndarray, k: np.ndarray, queue: np.ndarray | None, tau: float) -> float:
    q, k = _unit(q.astype(np.float64)), _unit(k.astype(np.float64))
    total = 0.0
    for i in range(len(q)):
        pos = math.exp(q[i] @ k[i] / tau)
        negs = [k[j] for j in range(len(k)) if j != i] if queue is None else list(_unit(queue))
        denom = pos + sum(math.exp(q[i] @ n / tau) for n in negs)
        total += -math.log(pos / denom)
    return total / len(q)


@pytest.mark.parametrize("with_queue", [True, False])
def test_moco_loss_matches_loop(with_queue: bool) -> None:
    g = torch.Generator().manual_seed(4)
    q, k = torch.randn(4, 3, generator=g), torch.randn(4, 3, generator=g)
    queue = torch.randn(6, 3, generator=g) if with_queue else None
    got = moco_loss(q, k, queue, 0.2).item()
    expected = _moco_loop(q.numpy(), k.numpy(), None if queue is None else queue.numpy(), 0.2)
    assert got == pytest.approx(expected, rel=1e-5)


def test_moco_keys_get_no_gradient() -> None:
    q = torch.randn(4, 3, requires_grad=True)
    k = torch.randn(4, 3, requires_grad=True)
    moco_loss(q, k, torch.randn(5, 3), 0.2).backward()
    assert k.grad is None and torch.isfinite(q.grad).all()
