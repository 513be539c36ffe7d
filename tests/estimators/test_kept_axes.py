"""What a reduction keeps: the closed-form MI of linear maps of a spiked channel, and pca_ksg's map."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ssl_it.estimators import KSGMI, PCAReducedMI
from ssl_it.synthetic.layers import spiked_channel, spiked_channel_kept_mi, spiked_channel_mi

CHANNEL = {"latent_dim": 4, "dim_x": 32, "dim_t": 96, "snr_t": 2.0, "snr_x": 10.0}


def _gaussian_mi(x: np.ndarray, y: np.ndarray) -> float:
    joint = np.cov(np.hstack([x, y]).T)
    q = x.shape[1]
    return 0.5 * float(
        np.linalg.slogdet(joint[:q, :q])[1] + np.linalg.slogdet(joint[q:, q:])[1] - np.linalg.slogdet(joint)[1]
    )


def test_whole_sides_keep_the_channel_mi() -> None:
    kept = spiked_channel_kept_mi(np.eye(32), np.eye(96), seed=3, **CHANNEL)
    assert kept == pytest.approx(spiked_channel_mi(10.0, 2.0, 4), rel=1e-9)


def test_matches_the_sample_mi_of_projected_draws() -> None:
    """Random 3-column maps of each side: the closed form against the Gaussian MI of 200,000 projected draws."""
    rng = np.random.default_rng(0)
    wx, wt = rng.standard_normal((32, 3)), rng.standard_normal((96, 3))
    sample = spiked_channel(200_000, seed=5, **CHANNEL)
    kept = spiked_channel_kept_mi(wx, wt, seed=5, **CHANNEL)
    assert 0 < kept < sample.mi
    assert _gaussian_mi(sample.x @ wx, sample.y @ wt) == pytest.approx(kept, abs=0.01)


def test_invertible_maps_within_a_span_change_nothing() -> None:
    rng = np.random.default_rng(1)
    wx, wt = rng.standard_normal((32, 5)), rng.standard_normal((96, 6))
    mixed = rng.standard_normal((6, 6)) + 3 * np.eye(6)
    base = spiked_channel_kept_mi(wx, wt, seed=2, **CHANNEL)
    assert spiked_channel_kept_mi(wx * 7.0, wt @ mixed, seed=2, **CHANNEL) == pytest.approx(base, rel=1e-9)
    # a repeated column adds no direction
    assert spiked_channel_kept_mi(np.hstack([wx, wx[:, :1]]), wt, seed=2, **CHANNEL) == pytest.approx(base, rel=1e-9)


def test_more_columns_never_keep_less() -> None:
    rng = np.random.default_rng(4)
    wx, wt = rng.standard_normal((32, 8)), rng.standard_normal((96, 40))
    values = [spiked_channel_kept_mi(wx, wt[:, :q], seed=0, **CHANNEL) for q in (1, 5, 20, 40)]
    assert all(a <= b + 1e-12 for a, b in zip(values, values[1:]))
    assert spiked_channel_kept_mi(wx, np.zeros((96, 2)), seed=0, **CHANNEL) == 0.0


def test_bad_maps_name_their_field() -> None:
    with pytest.raises(ValueError, match="wt"):
        spiked_channel_kept_mi(np.eye(32), np.eye(95), seed=0, **CHANNEL)
    with pytest.raises(ValueError, match="wx"):
        spiked_channel_kept_mi(np.ones(32), np.eye(96), seed=0, **CHANNEL)


@pytest.mark.parametrize("standardize", ["shrunk", "unit", "none"])
@pytest.mark.parametrize("d", [48, 700])
def test_projection_is_the_reduction(standardize: str, d: int) -> None:
    """``reduce(t) = (t - mean) @ projection(t)`` on layers narrower and wider than N."""
    rng = np.random.default_rng(d)
    t = torch.from_numpy(rng.standard_normal((300, d)) * rng.uniform(0.5, 3.0, d))
    t[:, :3] += 4 * torch.from_numpy(rng.standard_normal((300, 1)))
    est = PCAReducedMI(KSGMI(k=3), standardize=standardize)  # type: ignore[arg-type]
    m = est.projection(t)
    assert m.shape == (d, est.reduce(t).shape[1])
    torch.testing.assert_close((t - t.mean(0)) @ m, est.reduce(t), atol=1e-8, rtol=1e-8)


def test_rank_scores_have_no_projection() -> None:
    with pytest.raises(ValueError, match="standardize"):
        PCAReducedMI(KSGMI(k=3), standardize="rank").projection(torch.randn(50, 8, dtype=torch.float64))


def test_near_the_threshold_the_kept_axes_lose_most_of_the_channel() -> None:
    """SNR 1.5 at d = 1,024 and N = 512 (1.06 times sqrt(d / N)): pca_ksg's axes carry under half the MI;
    at SNR 8 and d = 256 they carry nearly all of it. The level errors of docs/results/layer-suite.md split so."""
    est = PCAReducedMI(KSGMI(k=3, metric="euclidean"))
    kept = {}
    for d, snr in ((1024, 1.5), (256, 8.0)):
        setting = {"latent_dim": 4, "dim_x": 64, "dim_t": d, "snr_t": snr, "snr_x": 10.0}
        sample = spiked_channel(512, seed=0, **setting)
        wx, wt = (est.projection(torch.from_numpy(v), offset).numpy() for offset, v in ((0, sample.x), (1, sample.y)))
        kept[d] = spiked_channel_kept_mi(wx, wt, seed=0, **setting) / sample.mi
    assert kept[1024] < 0.5
    assert kept[256] > 0.95
