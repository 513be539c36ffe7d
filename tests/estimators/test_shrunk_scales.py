"""Per-unit scales shrunk towards the layer's common scale (``standardize="shrunk"``, the pca_ksg default)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ssl_it.estimators import KSGMI, PCAReducedMI
from ssl_it.estimators.reduction import shrunk_unit_scales
from ssl_it.linalg import column_std
from ssl_it.synthetic.layers import spiked_channel


def _layer(n: int, d: int, seed: int, scales: np.ndarray | None = None) -> torch.Tensor:
    t = torch.from_numpy(np.random.default_rng(seed).standard_normal((n, d)))
    return t if scales is None else t * torch.from_numpy(scales)


def _pca_ksg(standardize: str = "shrunk") -> PCAReducedMI:
    return PCAReducedMI(KSGMI(k=3, metric="euclidean"), standardize=standardize)  # type: ignore[arg-type]


@pytest.mark.parametrize("d", [64, 512, 2048])
def test_equal_scales_are_pooled(d: int) -> None:
    """Units of one true scale: their sample scales differ by noise only, and the factor is near 0."""
    shrinks = [float(shrunk_unit_scales(_layer(512, d, seed))[1]) for seed in range(5)]
    assert np.mean(shrinks) < 0.25
    scales = shrunk_unit_scales(_layer(512, d, 0))[0]
    # the sample sds spread by about 1 / sqrt(2 N) = 3 %; the shrunk ones by a fraction of that
    assert float(scales.std() / scales.mean()) < 0.5 * float(column_std(_layer(512, d, 0)).std())


def test_scales_that_differ_beyond_their_noise_are_kept() -> None:
    """A per-unit rescaling by log-uniform factors in [0.1, 10]: the factor is near 1, the scales those of z-scoring."""
    d = 256
    factors = np.exp(np.random.default_rng(3).uniform(np.log(0.1), np.log(10.0), d))
    t = _layer(512, d, 1, factors)
    scales, shrink = shrunk_unit_scales(t)
    assert float(shrink) > 0.99
    sd = column_std(t)
    ratio = scales / sd
    assert float(ratio.std() / ratio.mean()) < 0.005  # equal to z-scoring up to a common factor, to 0.5 %


def test_heavy_tailed_units_keep_z_scoring() -> None:
    """Equal true scales, heavy-tailed units: their sample scales spread beyond the Gaussian noise and stay."""
    rng = np.random.default_rng(4)
    t = torch.from_numpy(np.sinh(2 * rng.standard_normal((512, 256))))
    assert float(shrunk_unit_scales(t)[1]) > 0.9


def test_gaussian_sampling_variance_of_the_log_scale() -> None:
    """The factor's noise term: the variance of log(sd) over many Gaussian columns, psi'((N - 1) / 2) / 4."""
    n = 64
    t = torch.from_numpy(np.random.default_rng(5).standard_normal((n, 20000)))
    log_sd = 0.5 * t.var(0).log()
    expected = float(torch.special.polygamma(1, torch.tensor((n - 1) / 2, dtype=torch.float64))) / 4
    assert float(log_sd.var()) == pytest.approx(expected, rel=0.05)


def test_common_rescaling_leaves_the_factor_and_the_scaled_layer_unchanged() -> None:
    t = _layer(300, 128, 2, np.linspace(0.5, 2.0, 128))
    scales, shrink = shrunk_unit_scales(t)
    for c in (0.01, 100.0):
        scales_c, shrink_c = shrunk_unit_scales(t * c)
        assert float(shrink_c) == pytest.approx(float(shrink), abs=1e-12)
        torch.testing.assert_close(t * c / scales_c, t / scales, rtol=1e-10, atol=1e-12)


def test_constant_units_and_narrow_layers() -> None:
    t = _layer(200, 6, 5)
    t[:, 2] = 3.0
    scales, _ = shrunk_unit_scales(t)
    assert float(scales[2]) == 1.0
    narrow = _layer(200, 3, 6, np.array([1.0, 2.0, 5.0]))
    scales, shrink = shrunk_unit_scales(narrow)
    assert float(shrink) == 1.0  # fewer than 4 units: plain z-scoring
    torch.testing.assert_close(scales / column_std(narrow), (scales / column_std(narrow))[:1].expand(3))
    assert torch.equal(shrunk_unit_scales(torch.zeros(10, 5))[0], torch.ones(5))


def test_shrunk_pca_ksg_declares_no_exact_invariance_and_keeps_common_scale() -> None:
    s = spiked_channel(512, 4, 64, 256, 3.0, seed=0)
    est = _pca_ksg()
    assert est.invariances == frozenset()
    base = est.estimate(s.x, s.y)
    for c in (0.01, 100.0):
        assert est.estimate(s.x * c, s.y * c) == pytest.approx(base, abs=1e-6)


def test_shrunk_pca_ksg_moves_less_under_rotation_than_z_scoring_on_a_wide_noisy_layer() -> None:
    """The rung where z-scoring moved most under rotation (d = 2,048, SNR 3, N = 512): 3.0 % median, 4.0 % max."""
    s = spiked_channel(512, 4, 64, 2048, 3.0, seed=0)
    rots = [np.linalg.qr(np.random.default_rng(99 + k).standard_normal((2048, 2048)))[0] for k in range(2)]
    changes = {}
    for standardize in ("shrunk", "unit"):
        base = _pca_ksg(standardize).estimate(s.x, s.y)
        changes[standardize] = max(abs(_pca_ksg(standardize).estimate(s.x, s.y @ r) - base) / base for r in rots)
    assert changes["shrunk"] < 0.01
    assert changes["unit"] > 2 * changes["shrunk"]


def test_shrunk_pca_ksg_stays_close_under_per_unit_rescaling() -> None:
    """Not exact (an isotropic layer is pooled, its rescaled copy z-scored), but within the sampling noise."""
    s = spiked_channel(512, 4, 64, 256, 3.0, seed=1)
    est = _pca_ksg()
    base = est.estimate(s.x, s.y)
    factors = np.exp(np.random.default_rng(9).uniform(np.log(0.1), np.log(10.0), 256))
    assert abs(est.estimate(s.x, s.y * factors) - base) / base < 0.02
