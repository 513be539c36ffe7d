"""``pca_ksg``'s sample-size extrapolation: ``2 I(N) - mean I(N/2)``, checked against known MI."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from ssl_it import synthetic
from ssl_it.estimators import KSGMI, BandMaker, PCAReducedMI
from ssl_it.estimators.pairwise import neighbour_jump_share
from ssl_it.estimators.reduced import extrapolation_weight
from ssl_it.synthetic.classic import rho_for_mi
from ssl_it.synthetic.layers import clustered_views, spiked_channel

ROOT = Path(__file__).resolve().parents[2]


def _pca_ksg(**kwargs: object) -> PCAReducedMI:
    return PCAReducedMI(KSGMI(k=3, metric="euclidean"), **kwargs)  # type: ignore[arg-type]


def test_the_config_leaves_it_off_and_one_override_turns_it_on() -> None:
    node = OmegaConf.load(ROOT / "configs" / "estimator" / "pca_ksg.yaml")
    default = instantiate(node)
    assert isinstance(default, PCAReducedMI) and default.bias_correction == "none"
    est = instantiate(OmegaConf.merge(node, {"bias_correction": "extrapolate"}))
    assert est.bias_correction == "extrapolate" and est.halves == 2 and est.name == "pca_ksg"
    assert est.settings()["halves"] == 2 and est.settings()["bias_correction"] == "extrapolate"


@pytest.mark.parametrize("seed", [0, 1])
def test_it_is_withheld_where_clusters_fill_up_between_n_half_and_n(seed: int) -> None:
    # 64 atoms at N = 512 have about 4 copies each at N/2, where KSG still reads low, and 8 at N, where it reads
    # log 64 already: the 1/N model would add what is not there (unguarded: +10 to +15 %)
    s = synthetic.deterministic_encoder(512, 64, 64, 256, seed=seed)
    plain = _pca_ksg().estimate(s.x, s.y)
    unguarded = _pca_ksg(bias_correction="extrapolate", max_jump_share=1.0).estimate_with_info(s.x, s.y)
    assert abs(plain - s.mi) < 0.02 * s.mi
    assert unguarded.value > 1.05 * s.mi and unguarded.diagnostics["extrapolation_withheld"] is False
    info = _pca_ksg(bias_correction="extrapolate").estimate_with_info(s.x, s.y)
    assert info.diagnostics["jump_share"] > 0.1 and info.diagnostics["extrapolation_withheld"] is True
    assert info.value == pytest.approx(plain, abs=1e-12)
    # the bias allowance is then the uncorrected estimator's too
    guarded = _pca_ksg(bias_correction="extrapolate").gaussian_bias(s.x, s.y)
    assert guarded == pytest.approx(_pca_ksg().gaussian_bias(s.x, s.y), abs=1e-12)


def test_the_jump_share_is_zero_on_a_density_and_the_clustered_share_on_tight_clusters() -> None:
    gen = torch.Generator().manual_seed(0)
    parts = [torch.arange(0, 1024, 2), torch.arange(1, 1024, 2)]
    density = torch.randn(1024, 8, generator=gen, dtype=torch.float64)
    assert neighbour_jump_share(density, parts, 3) < 0.01
    centres = 10.0 * torch.randn(64, 8, generator=gen, dtype=torch.float64)
    clusters = centres[torch.arange(1024) % 64] + 1e-3 * torch.randn(1024, 8, generator=gen, dtype=torch.float64)
    # 16 members a cluster: 8 in each half, more than k = 3 others, so no row jumps ...
    assert neighbour_jump_share(clusters, parts, 3) == 0.0
    # ... while with 4 members a cluster (2 a half) every row's third neighbour leaves its cluster
    assert neighbour_jump_share(clusters[:256], [torch.arange(0, 128), torch.arange(128, 256)], 3) == 1.0


@pytest.mark.parametrize("halves", [2, 4])
def test_the_value_is_twice_the_full_estimate_less_the_mean_of_its_half_samples(halves: int) -> None:
    s = spiked_channel(400, 4, 64, 256, 3.0, seed=11)
    est = _pca_ksg(bias_correction="extrapolate", halves=halves)
    info = est.estimate_with_info(s.x, s.y)
    plain = _pca_ksg()
    x, y = torch.as_tensor(s.x, dtype=torch.float64), torch.as_tensor(s.y, dtype=torch.float64)
    parts = est._half_samples(400)
    assert len(parts) == halves and all(len(p) == 200 for p in parts)
    for a, b in zip(parts[0::2], parts[1::2], strict=True):  # complementary pairs
        assert sorted(torch.cat([a, b]).tolist()) == list(range(400))
    halves_read = [plain.estimate(x[p], y[p]) for p in parts]
    assert info.diagnostics["uncorrected"] == pytest.approx(plain.estimate(s.x, s.y), abs=1e-12)
    assert info.diagnostics["half_mean"] == pytest.approx(float(np.mean(halves_read)), abs=1e-12)
    assert info.value == pytest.approx(2 * info.diagnostics["uncorrected"] - info.diagnostics["half_mean"], abs=1e-12)
    assert info.diagnostics["extrapolation_withheld"] is False and info.diagnostics["jump_share"] < 0.01
    assert est.estimate(s.x, s.y) == info.value  # the split is fixed by seed and N


@pytest.mark.parametrize(("d", "snr", "seed"), [(256, 8.0, 21), (256, 1.5, 22), (1024, 3.0, 23)])
def test_extrapolation_closes_most_of_the_gap_on_detectable_spiked_layers_without_passing_the_truth(
    d: int, snr: float, seed: int
) -> None:
    # bench_layers' ladder at N = 512, 3 seeds: -33 / -51 / -52 % as read, -23 / -32 / -32 % extrapolated
    s = spiked_channel(512, 4, 64, d, snr, seed=seed)
    plain = _pca_ksg().estimate(s.x, s.y)
    value = _pca_ksg(bias_correction="extrapolate").estimate(s.x, s.y)
    assert plain < value < s.mi
    assert value > 0.6 * s.mi


def test_extrapolation_adds_nothing_to_independent_sides() -> None:
    s = spiked_channel(512, 4, 64, 256, 3.0, seed=31)
    rows = np.random.default_rng(0).permutation(512)
    values = [_pca_ksg(bias_correction="extrapolate", seed=k).estimate(s.x, s.y[rows]) for k in range(3)]
    assert max(abs(v) for v in values) < 0.1


@pytest.mark.parametrize("noise", [0.1, 0.3])
def test_extrapolation_stays_below_the_truth_on_clustered_views_where_the_twin_overshoots(noise: float) -> None:
    # bench_layers' views, M = 512 atoms, N = 512, 3 seeds: -17 / -32 % extrapolated; the twin +397 / +139 %
    s = clustered_views(512, 512, 16, 256, noise, seed=41)
    plain = _pca_ksg().estimate(s.x, s.y)
    value = _pca_ksg(bias_correction="extrapolate", max_jump_share=1.0).estimate(s.x, s.y)
    assert plain < value < s.mi
    assert plain <= _pca_ksg(bias_correction="extrapolate").estimate(s.x, s.y) < s.mi


def test_extrapolation_is_closer_to_a_low_dimensional_gaussian_pair() -> None:
    s = synthetic.correlated_gaussian(512, 4, rho_for_mi(2.0, 4), seed=51)
    plain = _pca_ksg().estimate(s.x, s.y)
    value = _pca_ksg(bias_correction="extrapolate").estimate(s.x, s.y)
    assert abs(value - s.mi) < abs(plain - s.mi)
    assert abs(value - s.mi) < 0.15 * s.mi


def test_extrapolation_keeps_the_estimators_exact_invariances() -> None:
    s = spiked_channel(400, 4, 64, 256, 3.0, seed=61)
    factors = np.exp(np.random.default_rng(1).uniform(np.log(0.1), np.log(10.0), 256))
    unit = _pca_ksg(bias_correction="extrapolate", standardize="unit")
    assert unit.invariances == {"unit_scale"}
    assert unit.estimate(s.x, s.y * factors) == pytest.approx(unit.estimate(s.x, s.y), abs=1e-9)
    rotation = torch.linalg.qr(torch.randn(256, 256, generator=torch.Generator().manual_seed(2)))[0].numpy()
    white = _pca_ksg(bias_correction="extrapolate", standardize="none")
    assert white.invariances == {"rotation"}
    assert white.estimate(s.x, s.y @ rotation) == pytest.approx(white.estimate(s.x, s.y), abs=1e-6)
    default = _pca_ksg(bias_correction="extrapolate")
    assert default.estimate(s.x * 100.0, s.y * 0.01) == pytest.approx(default.estimate(s.x, s.y), abs=1e-9)


def test_the_ceiling_is_the_extrapolated_ceiling_and_labels_are_not_corrected() -> None:
    inner = KSGMI(k=3, metric="euclidean")
    est = _pca_ksg(bias_correction="extrapolate")
    c512, c256 = inner.ceiling(512), inner.ceiling(256)
    assert c512 is not None and c256 is not None
    assert est.ceiling(512) == pytest.approx(2 * c512 - c256)
    assert est.ceiling(512) < np.log(512)  # still under log N, the bound of I(X;T) on the probe set
    s = synthetic.gaussian_mixture_labels(300, 4, 16, seed=3)
    info = est.estimate_with_info(s.x, s.y)
    assert "extrapolation" not in info.diagnostics
    assert info.value == pytest.approx(_pca_ksg().estimate(s.x, s.y), abs=1e-12)
    assert info.ceiling == inner.ceiling(300, s.y)


def test_a_constant_side_reads_zero_with_no_correction() -> None:
    x = torch.randn(128, 32, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    info = _pca_ksg(bias_correction="extrapolate").estimate_with_info(x, torch.full((128, 16), 0.5))
    assert info.value == pytest.approx(0.0, abs=0.05)
    assert "extrapolation" not in info.diagnostics


def test_the_bias_allowance_is_what_the_extrapolated_estimator_leaves_on_a_gaussian_twin() -> None:
    s = spiked_channel(512, 4, 64, 256, 8.0, seed=71)
    plain, extrapolated = _pca_ksg(), _pca_ksg(bias_correction="extrapolate")
    left, whole = extrapolated.gaussian_bias(s.x, s.y), plain.gaussian_bias(s.x, s.y)
    assert left is not None and whole is not None
    assert 0 < left < whole
    band = BandMaker(transforms=()).band(extrapolated, s.x, s.y)
    assert band.bias_allowance == pytest.approx(left) and band.hi_with_bias >= band.hi
    assert band.lo <= band.value <= band.hi


@pytest.mark.parametrize("halves", [0, 1, 3, 2.5, "2"])
def test_bad_halves_are_refused_naming_the_field(halves: object) -> None:
    with pytest.raises(ValueError, match="halves"):
        _pca_ksg(bias_correction="extrapolate", halves=halves)


@pytest.mark.parametrize("share", [-0.1, 1.5, float("nan"), "0.01"])
def test_a_bad_jump_share_is_refused_naming_the_field(share: object) -> None:
    with pytest.raises(ValueError, match="max_jump_share"):
        _pca_ksg(bias_correction="extrapolate", max_jump_share=share)


def test_bad_bias_correction_names_the_allowed_values() -> None:
    with pytest.raises(ValueError, match="extrapolate"):
        _pca_ksg(bias_correction="richardson")


def test_the_weight_fades_from_whole_at_half_the_limit_to_none_at_twice_it() -> None:
    limit = 0.01
    assert extrapolation_weight(0.0, limit) == extrapolation_weight(limit / 2, limit) == 1.0
    assert extrapolation_weight(limit, limit) == pytest.approx(0.5)
    assert extrapolation_weight(2 * limit, limit) == extrapolation_weight(0.5, limit) == 0.0
    shares = np.geomspace(limit / 4, 4 * limit, 200)
    weights = np.array([extrapolation_weight(float(s), limit) for s in shares])
    assert np.all(np.diff(weights) <= 0) and np.max(np.abs(np.diff(weights))) < 0.02  # monotone, no step
    assert extrapolation_weight(0.0, 0.0) == 1.0 and extrapolation_weight(1e-9, 0.0) == 0.0


def test_within_the_fade_the_value_keeps_that_share_of_the_correction() -> None:
    # views of 512 clusters at N = 512: a jump share of a few per cent, which the limit is set around
    s = clustered_views(512, 512, 16, 256, 0.1, seed=43)
    whole = _pca_ksg(bias_correction="extrapolate", max_jump_share=1.0).estimate_with_info(s.x, s.y)
    share = whole.diagnostics["jump_share"]
    assert 0.01 < share < 0.2 and whole.diagnostics["extrapolation_weight"] == 1.0
    correction = whole.value - whole.diagnostics["uncorrected"]
    for limit, weight in ((share, 0.5), (share / 1.5, 0.5 - math.log(1.5) / math.log(4)), (share / 2, 0.0)):
        info = _pca_ksg(bias_correction="extrapolate", max_jump_share=limit).estimate_with_info(s.x, s.y)
        assert info.diagnostics["extrapolation_weight"] == pytest.approx(weight, abs=1e-9)
        assert info.value == pytest.approx(whole.diagnostics["uncorrected"] + weight * correction, abs=1e-9)
        assert info.diagnostics["extrapolation_withheld"] is (weight == 0.0)
    # the bias allowance reads its twins with the same share of their correction
    plain_bias = _pca_ksg().gaussian_bias(s.x, s.y)
    whole_bias = _pca_ksg(bias_correction="extrapolate", max_jump_share=1.0).gaussian_bias(s.x, s.y)
    half_bias = _pca_ksg(bias_correction="extrapolate", max_jump_share=share).gaussian_bias(s.x, s.y)
    assert plain_bias is not None and whole_bias is not None and half_bias is not None
    assert half_bias == pytest.approx((plain_bias + whole_bias) / 2, abs=1e-9)


def test_the_band_reestimates_with_the_weight_the_value_was_read_with() -> None:
    # views of 512 clusters at N = 512: withheld at N (jump share a few per cent), while half-samples of 256 rows,
    # whose clusters hold about one member, would read their own share as 0 and extrapolate
    s = clustered_views(512, 512, 16, 256, 0.1, seed=44)
    est = _pca_ksg(bias_correction="extrapolate")
    withheld = BandMaker().band(est, s.x, s.y, ceiling=math.log(512))
    assert withheld.estimate.diagnostics["extrapolation_weight"] == 0.0
    plain = BandMaker().band(_pca_ksg(), s.x, s.y, ceiling=math.log(512))
    assert (withheld.lo, withheld.hi, withheld.sampling_sd) == pytest.approx((plain.lo, plain.hi, plain.sampling_sd))
    assert withheld.invariance == pytest.approx(plain.invariance)
    halves = [est.estimate_with_info(s.x[p], s.y[p]).diagnostics for p in est._half_samples(512)]
    assert max(h["extrapolation_weight"] for h in halves) > 0.0  # what the halves would have done on their own
    # a copy, not the estimator itself, carries the weight
    resampler = est.resampling_estimator(withheld.estimate)
    assert resampler is not est and est._fixed_weight is None and resampler._fixed_weight == 0.0
    uncorrected = _pca_ksg()
    assert uncorrected.resampling_estimator(plain.estimate) is uncorrected
