"""BYOL, SimSiam, DINO, SwAV, MIB and supervised losses against loops/numpy."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ssl_it.objectives import (
    byol_loss,
    cosine_momentum,
    cross_entropy_loss,
    dino_loss,
    gaussian_kl,
    mib_loss,
    simsiam_loss,
    sinkhorn_knopp,
    swav_loss,
    symmetric_kl,
    teacher_temperature,
)


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def test_byol_and_simsiam_match_cosines() -> None:
    g = torch.Generator().manual_seed(0)
    p, z = torch.randn(5, 4, generator=g), torch.randn(5, 4, generator=g)
    cos = [_cos(p[i].double().numpy(), z[i].double().numpy()) for i in range(5)]
    assert byol_loss(p, z).item() == pytest.approx(2 - 2 * np.mean(cos), rel=1e-5)
    assert simsiam_loss(p, z).item() == pytest.approx(-np.mean(cos), rel=1e-5)
    # aligned (any positive scale): minimum; opposite: maximum
    assert byol_loss(p, 3 * p).item() == pytest.approx(0.0, abs=1e-6)
    assert byol_loss(p, -p).item() == pytest.approx(4.0, rel=1e-6)
    assert simsiam_loss(p, 2 * p).item() == pytest.approx(-1.0, rel=1e-6)


def test_byol_simsiam_stop_gradient_on_target() -> None:
    p = torch.randn(4, 3, requires_grad=True)
    z = torch.randn(4, 3, requires_grad=True)
    (byol_loss(p, z) + simsiam_loss(p, z)).backward()
    assert z.grad is None and torch.isfinite(p.grad).all()


def test_cosine_momentum_schedule() -> None:
    assert cosine_momentum(0.996, 1.0, 0.0).item() == pytest.approx(0.996)
    assert cosine_momentum(0.996, 1.0, 0.5).item() == pytest.approx(0.998)
    assert cosine_momentum(0.996, 1.0, 1.0).item() == pytest.approx(1.0)
    assert cosine_momentum(0.9, 1.0, 0.25).item() == pytest.approx(1 - 0.1 * (math.cos(math.pi / 4) + 1) / 2)


def test_dino_loss_matches_loop() -> None:
    g = torch.Generator().manual_seed(1)
    s = [torch.randn(3, 5, generator=g) for _ in range(3)]  # 2 global + 1 local
    t = [torch.randn(3, 5, generator=g) for _ in range(2)]
    c = torch.randn(5, generator=g) * 0.1
    ts, tt = 0.1, 0.04

    def softmax(x: np.ndarray) -> np.ndarray:
        e = np.exp(x - x.max())
        return e / e.sum()

    terms = []
    for ti in range(2):
        for si in range(3):
            if si == ti:
                continue
            ce = 0.0
            for b in range(3):
                pt = softmax((t[ti][b].double().numpy() - c.double().numpy()) / tt)
                ps = softmax(s[si][b].double().numpy() / ts)
                ce += -np.sum(pt * np.log(ps))
            terms.append(ce / 3)
    got = dino_loss(s, t, c, ts, tt).item()
    assert got == pytest.approx(np.mean(terms), rel=1e-5)


def test_dino_collapsed_uniform_teacher_gives_log_k() -> None:
    # a constant teacher minus its own centre is uniform; a constant student too: CE = log K
    t = [torch.full((4, 6), 2.0)] * 2
    s = [torch.zeros(4, 6, requires_grad=True) for _ in range(2)]
    loss = dino_loss(s, t, torch.full((6,), 2.0), 0.1, 0.04)
    assert loss.item() == pytest.approx(math.log(6), rel=1e-6)
    loss.backward()
    assert all(torch.isfinite(x.grad).all() for x in s)


def test_teacher_temperature_warmup() -> None:
    p = torch.tensor(0.15)
    assert teacher_temperature(p, 0.04, 0.07, 0.3).item() == pytest.approx(0.055)
    assert teacher_temperature(torch.tensor(0.9), 0.04, 0.07, 0.3).item() == pytest.approx(0.07)
    assert teacher_temperature(torch.tensor(0.0), 0.04, 0.07, 0.0).item() == pytest.approx(0.07)


def _sinkhorn_numpy(scores: np.ndarray, eps: float, iters: int) -> np.ndarray:
    q = np.exp(scores / eps).T
    k, b = q.shape
    q = q / q.sum()
    for _ in range(iters):
        q = q / q.sum(axis=1, keepdims=True) / k
        q = q / q.sum(axis=0, keepdims=True) / b
    return (q * b).T


def test_sinkhorn_matches_numpy_and_equipartitions() -> None:
    g = torch.Generator().manual_seed(2)
    scores = torch.nn.functional.normalize(torch.randn(8, 4, generator=g), dim=1)
    got = sinkhorn_knopp(scores, 0.05, 3).double().numpy()
    np.testing.assert_allclose(got, _sinkhorn_numpy(scores.double().numpy(), 0.05, 3), rtol=1e-5)
    np.testing.assert_allclose(got.sum(axis=1), np.ones(8), rtol=1e-6)  # last step normalises samples
    many = sinkhorn_knopp(scores, 0.05, 200).double().numpy()
    np.testing.assert_allclose(many.sum(axis=0), np.full(4, 8 / 4), rtol=1e-4)  # B/K per prototype


def test_sinkhorn_collapsed_scores_give_uniform_codes() -> None:
    codes = sinkhorn_knopp(torch.ones(6, 3), 0.05, 3)
    np.testing.assert_allclose(codes.numpy(), np.full((6, 3), 1 / 3), rtol=1e-6)


def test_swav_loss_matches_loop() -> None:
    g = torch.Generator().manual_seed(3)
    scores = [torch.randn(4, 3, generator=g, requires_grad=True) for _ in range(2)]
    codes = [torch.softmax(torch.randn(4, 3, generator=g), dim=1) for _ in range(2)]
    tau = 0.1
    want = 0.0
    for s, t in [(1, 0), (0, 1)]:
        x = scores[s].detach().double().numpy() / tau
        logp = x - np.log(np.exp(x).sum(axis=1, keepdims=True))
        want += -np.mean(np.sum(codes[t].double().numpy() * logp, axis=1)) / 2
    loss = swav_loss(scores, codes, tau)
    assert loss.item() == pytest.approx(want, rel=1e-5)
    loss.backward()
    assert all(torch.isfinite(s.grad).all() for s in scores)


def _kl_numpy(m1: np.ndarray, s1: np.ndarray, m2: np.ndarray, s2: np.ndarray) -> float:
    return float(np.sum(np.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5))


def test_gaussian_kl_and_symmetric_kl() -> None:
    g = torch.Generator().manual_seed(4)
    m1, m2 = torch.randn(3, 2, generator=g), torch.randn(3, 2, generator=g)
    s1, s2 = torch.rand(3, 2, generator=g) + 0.5, torch.rand(3, 2, generator=g) + 0.5
    kl = gaussian_kl(m1, s1, m2, s2).numpy()
    for i in range(3):
        assert kl[i] == pytest.approx(_kl_numpy(m1[i].numpy(), s1[i].numpy(), m2[i].numpy(), s2[i].numpy()), rel=1e-5)
    want = np.mean(
        [
            (
                _kl_numpy(*(x[i].numpy() for x in (m1, s1, m2, s2)))
                + _kl_numpy(*(x[i].numpy() for x in (m2, s2, m1, s1)))
            )
            / 2
            for i in range(3)
        ]
    )
    assert symmetric_kl(m1, s1, m2, s2).item() == pytest.approx(want, rel=1e-5)
    assert symmetric_kl(m2, s2, m1, s1).item() == pytest.approx(want, rel=1e-5)
    assert symmetric_kl(m1, s1, m1.clone(), s1.clone()).item() == pytest.approx(0.0, abs=1e-7)
    # unit variances: SKL = |m1 - m2|^2 / 2
    d = symmetric_kl(torch.zeros(1, 2), torch.ones(1, 2), torch.tensor([[1.0, 2.0]]), torch.ones(1, 2))
    assert d.item() == pytest.approx(2.5)


def test_mib_loss_combines_info_nce_and_skl() -> None:
    g = torch.Generator().manual_seed(5)
    mu1, mu2 = torch.randn(6, 3, generator=g, requires_grad=True), torch.randn(6, 3, generator=g)
    s = torch.ones(6, 3)
    out = mib_loss(mu1, s, mu2, s, mu1, mu2, 0.5)
    assert out["loss"].item() == pytest.approx(out["info_nce"].item() + 0.5 * out["skl"].item(), rel=1e-6)
    assert out["skl"].item() == pytest.approx(0.5 * ((mu1 - mu2) ** 2).sum(1).mean().item(), rel=1e-5)
    out["loss"].backward()
    assert torch.isfinite(mu1.grad).all()


def test_cross_entropy_matches_numpy() -> None:
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 3.0]])
    labels = torch.tensor([0, 1])
    x = logits.double().numpy()
    logp = x - np.log(np.exp(x).sum(1, keepdims=True))
    assert cross_entropy_loss(logits, labels).item() == pytest.approx(-(logp[0, 0] + logp[1, 1]) / 2, rel=1e-6)
    smooth = -np.mean(
        [(0.9 + 0.1 / 3) * logp[i, y] + (0.1 / 3) * (logp[i].sum() - logp[i, y]) for i, y in enumerate([0, 1])]
    )
    assert cross_entropy_loss(logits, labels, 0.1).item() == pytest.approx(smooth, rel=1e-6)
    with pytest.raises(ValueError, match="labels"):
        cross_entropy_loss(logits, torch.tensor([0]))
