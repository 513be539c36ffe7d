"""VICReg, VICReg-logdet, Barlow Twins and W-MSE against loop/numpy computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ssl_it.objectives import (
    barlow_twins_loss,
    covariance_loss,
    logdet_entropy,
    variance_loss,
    vicreg_logdet_loss,
    vicreg_loss,
    whiten,
    wmse_loss,
)


def _cov(z: np.ndarray) -> np.ndarray:
    n = len(z)
    mean = z.sum(axis=0) / n
    c = np.zeros((z.shape[1], z.shape[1]))
    for row in z:
        c += np.outer(row - mean, row - mean)
    return c / (n - 1)


def _vicreg_numpy(a: np.ndarray, b: np.ndarray, lam: float, mu: float, nu: float, eps: float) -> dict[str, float]:
    d = a.shape[1]
    inv = float(np.mean((a - b) ** 2))
    var = 0.0
    cov = 0.0
    for z in (a, b):
        c = _cov(z)
        var += 0.5 * np.mean([max(0.0, 1 - math.sqrt(c[j, j] + eps)) for j in range(d)])
        cov += sum(c[i, j] ** 2 for i in range(d) for j in range(d) if i != j) / d
    return {"loss": lam * inv + mu * var + nu * cov, "invariance": inv, "variance": var, "covariance": cov}


def test_vicreg_matches_numpy() -> None:
    g = torch.Generator().manual_seed(0)
    z1, z2 = 0.5 * torch.randn(6, 4, generator=g), 0.5 * torch.randn(6, 4, generator=g)
    got = vicreg_loss(z1, z2, 25.0, 25.0, 1.0, 1e-4)
    want = _vicreg_numpy(z1.double().numpy(), z2.double().numpy(), 25.0, 25.0, 1.0, 1e-4)
    for key, value in want.items():
        assert got[key].item() == pytest.approx(value, rel=1e-5), key


def test_vicreg_collapsed_and_aligned() -> None:
    z = torch.ones(8, 5)
    out = vicreg_loss(z, z.clone())
    assert out["invariance"].item() == 0.0
    assert out["variance"].item() == pytest.approx(1 - math.sqrt(1e-4), rel=1e-6)  # every std is 0
    assert out["covariance"].item() == 0.0
    # aligned, decorrelated, unit std: all three terms vanish
    w = torch.tensor([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]]) * 2.0
    aligned = vicreg_loss(w, w.clone())
    assert aligned["loss"].item() == pytest.approx(0.0, abs=1e-7)


def test_vicreg_symmetric_gradients_and_batch_of_one() -> None:
    g = torch.Generator().manual_seed(1)
    z1 = torch.randn(5, 3, generator=g, requires_grad=True)
    z2 = torch.randn(5, 3, generator=g)
    a, b = vicreg_loss(z1, z2), vicreg_loss(z2, z1)
    assert a["loss"].item() == pytest.approx(b["loss"].item(), rel=1e-6)
    a["loss"].backward()
    assert torch.isfinite(z1.grad).all()
    for fn in (
        lambda: vicreg_loss(torch.randn(1, 3), torch.randn(1, 3)),
        lambda: variance_loss(torch.randn(1, 3)),
        lambda: covariance_loss(torch.randn(1, 3)),
    ):
        with pytest.raises(ValueError, match="batch size"):
            fn()


def test_logdet_entropy_matches_gaussian_formula() -> None:
    g = torch.Generator().manual_seed(2)
    z = torch.randn(10, 3, generator=g)
    c = _cov(z.double().numpy()) + 1e-3 * np.eye(3)
    want = 0.5 * (3 * math.log(2 * math.pi * math.e) + math.log(np.linalg.det(c)))
    assert logdet_entropy(z, 1e-3).item() == pytest.approx(want, rel=1e-5)
    # collapsed batch: covariance 0, entropy of eps I
    collapsed = logdet_entropy(torch.ones(10, 3), 1e-3).item()
    assert collapsed == pytest.approx(0.5 * 3 * math.log(2 * math.pi * math.e * 1e-3), rel=1e-6)


def test_vicreg_logdet_loss_combines_terms() -> None:
    g = torch.Generator().manual_seed(3)
    z1 = torch.randn(9, 4, generator=g, requires_grad=True)
    z2 = torch.randn(9, 4, generator=g)
    out = vicreg_logdet_loss(z1, z2, 2.0, 3.0, 1e-2)
    ent = (logdet_entropy(z1, 1e-2) + logdet_entropy(z2, 1e-2)).item() / 2
    inv = float(np.mean((z1.detach().numpy() - z2.numpy()) ** 2))
    assert out["loss"].item() == pytest.approx(2.0 * inv - 3.0 * ent / 4, rel=1e-5)
    out["loss"].backward()
    assert torch.isfinite(z1.grad).all()


def _barlow_numpy(a: np.ndarray, b: np.ndarray, lambd: float) -> tuple[float, float]:
    n, d = a.shape
    za = (a - a.mean(0)) / np.sqrt(a.var(0) + 1e-5)
    zb = (b - b.mean(0)) / np.sqrt(b.var(0) + 1e-5)
    on = off = 0.0
    for i in range(d):
        for j in range(d):
            c = sum(za[k, i] * zb[k, j] for k in range(n)) / n
            if i == j:
                on += (1 - c) ** 2
            else:
                off += c**2
    return on, off


def test_barlow_twins_matches_numpy() -> None:
    g = torch.Generator().manual_seed(4)
    z1, z2 = torch.randn(6, 3, generator=g), torch.randn(6, 3, generator=g)
    out = barlow_twins_loss(z1, z2, 0.1)
    on, off = _barlow_numpy(z1.double().numpy(), z2.double().numpy(), 0.1)
    assert out["invariance"].item() == pytest.approx(on, rel=1e-5)
    assert out["redundancy_reduction"].item() == pytest.approx(off, rel=1e-5)
    assert out["loss"].item() == pytest.approx(on + 0.1 * off, rel=1e-5)
    swapped = barlow_twins_loss(z2, z1, 0.1)
    assert swapped["loss"].item() == pytest.approx(out["loss"].item(), rel=1e-6)


def test_barlow_twins_aligned_decorrelated_is_zero_and_collapsed_is_dim() -> None:
    w = torch.tensor([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]])
    assert barlow_twins_loss(w, w.clone())["loss"].item() == pytest.approx(0.0, abs=1e-4)
    # constant columns standardise to 0: C = 0, on-diagonal sum = dim
    out = barlow_twins_loss(torch.ones(5, 3), torch.ones(5, 3))
    assert out["invariance"].item() == pytest.approx(3.0)
    assert out["redundancy_reduction"].item() == 0.0
    with pytest.raises(ValueError, match="batch size"):
        barlow_twins_loss(torch.randn(1, 3), torch.randn(1, 3))


def test_whiten_gives_identity_covariance_and_matches_cholesky() -> None:
    g = torch.Generator().manual_seed(5)
    z = torch.randn(20, 3, generator=g) @ torch.tensor([[2.0, 0.5, 0.0], [0.0, 1.0, 0.3], [0.0, 0.0, 0.2]])
    w = whiten(z).double().numpy()
    np.testing.assert_allclose(_cov(w), np.eye(3), atol=1e-5)
    zn = z.double().numpy()
    chol = np.linalg.cholesky(_cov(zn))
    np.testing.assert_allclose(w, (zn - zn.mean(0)) @ np.linalg.inv(chol).T, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="batch > dim"):
        whiten(torch.randn(3, 3))


def test_wmse_aligned_zero_and_matches_numpy() -> None:
    g = torch.Generator().manual_seed(6)
    z1, z2 = torch.randn(12, 3, generator=g), torch.randn(12, 3, generator=g)
    assert wmse_loss(z1, 2 * z1 + 1).item() == pytest.approx(0.0, abs=1e-6)  # whitening removes affine scale
    a = whiten(z1).double().numpy()
    b = whiten(z2).double().numpy()
    want = np.mean([np.sum((a[i] / np.linalg.norm(a[i]) - b[i] / np.linalg.norm(b[i])) ** 2) for i in range(12)])
    assert wmse_loss(z1, z2).item() == pytest.approx(want, rel=1e-5)
    z1.requires_grad_(True)
    wmse_loss(z1, z2).backward()
    assert torch.isfinite(z1.grad).all()
