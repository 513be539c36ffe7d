"""What a reduction keeps: the closed-form MI of linear maps of a spiked channel, and pca_ksg's map."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ssl_it.estimators import KSGMI, PCAReducedMI
from ssl_it.estimators.reduction import kept_information_share, spike_alignment
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


def test_spike_alignment_inverts_the_spiked_eigenvalue() -> None:
    """A spike l above sqrt(gamma) gives x = (1 + l)(1 + gamma / l); the inversion returns l and Paul's cosine."""
    gamma = 0.5
    spikes = torch.tensor([0.9, 2.0, 8.0], dtype=torch.float64)
    x = (1 + spikes) * (1 + gamma / spikes)
    back, cos2 = spike_alignment(torch.cat([x, torch.tensor([1.0, 0.999 * (1 + gamma**0.5) ** 2])]), gamma)
    torch.testing.assert_close(back[:3], spikes)
    torch.testing.assert_close(cos2[:3], (1 - gamma / spikes**2) / (1 + gamma / spikes))
    assert back[3:].tolist() == [0.0, 0.0] and cos2[3:].tolist() == [
        0.0,
        0.0,
    ]  # inside the bulk, and just below its edge


def test_kept_share_bounds() -> None:
    ev = torch.tensor([40.0, 20.0, 3.0, 1.0], dtype=torch.float64) * 100
    assert kept_information_share(ev, 2, 2, 0.0, 100, 50) == 1.0  # no noise bulk: the axes are the signal's
    assert kept_information_share(ev, 4, 0, 1.0, 100, 50) == 0.0  # nothing above the edge
    every, fewer = (kept_information_share(ev, k, 3, 1.0, 100, 50) for k in (3, 2))
    assert 0 < fewer < every < 1


@pytest.mark.parametrize(("n", "d", "snr"), [(512, 256, 8.0), (512, 256, 1.5), (512, 1024, 3.0), (2048, 1024, 1.5)])
def test_kept_share_tracks_what_the_axes_carry(n: int, d: int, snr: float) -> None:
    """The estimator's own reading of its reduction's loss against the closed form (spiked ladder; ``kept_share``
    sees each side alone, the closed form the pair) where a spike stands above the edge: never more than 0.05
    under it, and over it by up to 0.15 near the edge, where the sample eigenvalues that cleared the edge
    overstate their spikes (bench_layers, 3 seeds: by 0.04 and 0.09 on the two rungs at 2.1 times the
    threshold at N = 512; 0.12 on this seed)."""
    est = PCAReducedMI(KSGMI(k=3, metric="euclidean"))
    setting = {"latent_dim": 4, "dim_x": 64, "dim_t": d, "snr_t": snr, "snr_x": 10.0}
    sample = spiked_channel(n, seed=1, **setting)
    x, t = torch.from_numpy(sample.x), torch.from_numpy(sample.y)
    carried = spiked_channel_kept_mi(est.projection(x, 0).numpy(), est.projection(t, 1).numpy(), seed=1, **setting)
    info = est.estimate_with_info(x, t)
    assert info.diagnostics["kept_share"] == min(info.diagnostics["kept_shares"]) == est.kept_share(t, 1)
    assert carried / sample.mi - 0.05 <= info.diagnostics["kept_share"] <= carried / sample.mi + 0.15


def test_kept_share_is_zero_where_no_axis_stands_above_the_noise() -> None:
    """SNR 1.5 at d = 1,024 and N = 512: the kept axes are the floor's, at noise level, and the share says so."""
    sample = spiked_channel(512, 4, 64, 1024, 1.5, seed=0)
    est = PCAReducedMI(KSGMI(k=3, metric="euclidean"))
    assert est.kept_share(sample.y, 1) == 0.0
    assert est.kept_share(sample.x, 0) > 0.95  # X: 4 directions at SNR 10 in 64 dimensions
    # an exact low-rank layer loses nothing
    low_rank = np.random.default_rng(0).standard_normal((512, 3)) @ np.random.default_rng(1).standard_normal((3, 200))
    assert est.kept_share(low_rank) == pytest.approx(1.0)


def test_kept_share_keeps_the_invariances_of_the_reduction() -> None:
    """A common rescaling changes nothing; a rotation or a per-unit rescaling (log-uniform in [0.1, 10]) moves it
    by at most 0.02 (spiked d = 256, SNR 3, N = 512: 0.890, 0.890, 0.886 measured)."""
    t = spiked_channel(512, 4, 64, 256, 3.0, seed=0).y
    rng = np.random.default_rng(1)
    rotation = np.linalg.qr(rng.standard_normal((256, 256)))[0]
    factors = np.exp(rng.uniform(np.log(0.1), np.log(10.0), 256))
    est = PCAReducedMI(KSGMI(k=3, metric="euclidean"))
    base = est.kept_share(t, 1)
    assert 0.8 < base < 1.0
    assert est.kept_share(t * 100.0, 1) == pytest.approx(base, abs=1e-9)
    assert est.kept_share(t @ rotation, 1) == pytest.approx(base, abs=0.02)
    assert est.kept_share(t * factors, 1) == pytest.approx(base, abs=0.02)


@pytest.mark.parametrize(("n", "d"), [(512, 64), (512, 2048), (8192, 256)])
def test_white_noise_keeps_nothing_visible(n: int, d: int) -> None:
    """A layer of white noise has no spike: the share is 0 on every draw (without the edge's margin a bulk
    eigenvalue 5 % above the edge read as a spike, and the share reached 0.6)."""
    est = PCAReducedMI(KSGMI(k=3, metric="euclidean"))
    assert [est.kept_share(np.random.default_rng(s).standard_normal((n, d))) for s in range(4)] == [0.0] * 4
