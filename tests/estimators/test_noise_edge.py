"""The noise edge with a noise variance per unit, and bands that carry an earlier invariance spread."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ssl_it.estimators import KSGMI, BandMaker, ClassifierMI, PCAReducedMI
from ssl_it.estimators.reduction import (
    PrincipalAxes,
    axes_above_noise,
    axes_above_unit_noise,
    spectrum,
    unit_noise_edge,
)
from ssl_it.synthetic.layers import spiked_channel


def test_equal_unit_variances_give_the_white_edge() -> None:
    for n, d, var in ((1000, 250, 1.0), (300, 900, 2.5)):
        edge = unit_noise_edge(torch.full((d,), var * n, dtype=torch.float64), n)
        assert edge == pytest.approx(var * n * (1 + math.sqrt(d / n)) ** 2, rel=1e-9)


def test_unequal_unit_variances_lift_the_edge_towards_the_largest() -> None:
    n, d = 8000, 64
    var = torch.linspace(0.3, 1.0, d, dtype=torch.float64)
    edge = unit_noise_edge(var * n, n) / n
    assert float(var.mean()) * (1 + math.sqrt(d / n)) ** 2 < edge < 1.0 * (1 + math.sqrt(d / n)) ** 2
    sample = torch.as_tensor(np.random.default_rng(0).standard_normal((n, d))) * var.sqrt()
    top = float(spectrum(sample)[0]) / (n - 1)
    assert top == pytest.approx(edge, rel=0.05)  # the largest noise eigenvalue sits at the edge


@pytest.mark.parametrize("n", [2048, 8192])
def test_the_per_unit_edge_keeps_the_true_rank_where_the_white_one_admits_noise(n: int) -> None:
    """X of the spiked channel: 4 strong directions in 64 units, each unit z-scored, which scales down the
    noise of the units that carry more signal."""
    x = torch.as_tensor(spiked_channel(n, 4, 64, 16, 1.0, seed=0).x)
    axes = PrincipalAxes(x / x.std(0))
    ev = axes._exact()[1]
    assert axes_above_noise(ev, n, 64) > 4  # measured: 6 at N = 2,048 and 13 at 8,192
    assert axes_above_unit_noise(ev, axes.unit_residuals, n, 64) == 4
    noise = torch.as_tensor(np.random.default_rng(2).standard_normal((n, 64)) * np.sqrt(np.linspace(0.3, 1.0, 64)))
    noise_axes = PrincipalAxes(noise / noise.std(0))
    assert axes_above_unit_noise(noise_axes._exact()[1], noise_axes.unit_residuals, n, 64) == 0


def test_many_signal_axes_do_not_pull_noise_axes_in() -> None:
    """12 of 64 units' worth of signal: without the leverage correction, the noise the 12 axes take with them
    lowered the edge and the count ran on to all 64 axes (the white edge: 13)."""
    g = torch.Generator().manual_seed(0)
    latent = torch.randn(512, 12, generator=g, dtype=torch.float64)
    x = latent @ torch.randn(12, 64, generator=g, dtype=torch.float64) + torch.randn(
        512, 64, generator=g, dtype=torch.float64
    )
    axes = PrincipalAxes(x / x.std(0))
    assert axes_above_unit_noise(axes._exact()[1], axes.unit_residuals, 512, 64) == 12


def test_unit_residuals_match_a_direct_projection_with_the_leverage_correction() -> None:
    rng = np.random.default_rng(3)
    for shape in ((200, 40), (40, 200)):
        t = torch.as_tensor(rng.standard_normal(shape))
        tc = (t - t.mean(0)).numpy()
        vt = np.linalg.svd(tc, full_matrices=False)[2][:3]
        leverage = (vt**2).sum(0)  # each unit's squared loadings on the 3 axes
        direct = ((tc - tc @ vt.T @ vt) ** 2).sum(0) / (1 - leverage)
        assert PrincipalAxes(t).unit_residuals(3).numpy() == pytest.approx(direct, rel=1e-8)


def test_auto_noise_model_follows_standardisation_and_keeps_the_declared_invariances() -> None:
    assert PCAReducedMI(KSGMI())._noise_model == "per_unit"
    assert PCAReducedMI(KSGMI(), standardize="none")._noise_model == "white"
    assert PCAReducedMI(KSGMI(), standardize="none").invariances == {"rotation"}
    assert PCAReducedMI(KSGMI(), standardize="none", noise="per_unit").invariances == frozenset()
    with pytest.raises(ValueError, match="noise"):
        PCAReducedMI(KSGMI(), noise="pink")  # type: ignore[arg-type]


class _Counting(ClassifierMI):
    calls = 0

    def estimate(self, x, y):  # noqa: ANN001, ANN201
        type(self).calls += 1
        return super().estimate(x, y)


def test_a_band_with_carried_deltas_equals_the_measured_band_and_re_estimates_nothing() -> None:
    g = torch.Generator().manual_seed(0)
    y = torch.arange(120) % 3
    t = torch.randn(120, 8, generator=g, dtype=torch.float64) + torch.nn.functional.one_hot(y, 8).double()
    est, maker = _Counting(nonlinear=False, standardize="unit"), BandMaker(transforms=("rotation", "unit_scale"))
    measured = maker.band(est, t, y, math.log(3))
    assert set(measured.invariance) == {"rotation"} and not measured.carried
    _Counting.calls = 0
    carried = maker.band(est, t, y, math.log(3), carried=measured.deltas)
    assert _Counting.calls == 0 and carried.carried
    assert (carried.lo, carried.hi, carried.invariance_spread) == pytest.approx(
        (measured.lo, measured.hi, measured.invariance_spread), abs=1e-12
    )
