"""Non-neural estimators against closed-form MI, exact identities and independent computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ssl_it import synthetic
from ssl_it.estimators import KDEMI, KSGMI, BinningMI, GaussianMI, RenyiMI, label_entropy, pairwise

N = 2000


# KSG's bias is negative and grows with dimension and MI at fixed N (Kraskov et al. 2004,
# Fig. 4; Gao, Ver Steeg & Galstyan 2015, arXiv:1411.2003). Tolerances = |mean bias|
# + 3 sd measured over 12 seeds at N = 2000 (max over algorithms 1 and 2), rounded up:
# e.g. d=3, rho=0.8: bias -0.10, sd 0.03; d=8, rho=0.3: bias -0.165, sd 0.018.
@pytest.mark.parametrize(
    ("dim", "rho", "tol"),
    [(1, 0.3, 0.06), (1, 0.8, 0.07), (3, 0.3, 0.06), (3, 0.8, 0.2), (8, 0.3, 0.23)],
)
@pytest.mark.parametrize("algorithm", [1, 2])
def test_ksg_correlated_gaussians(dim: int, rho: float, tol: float, algorithm: int) -> None:
    s = synthetic.correlated_gaussian(N, dim, rho, seed=1)
    value = KSGMI(algorithm=algorithm).estimate(s.x, s.y)
    assert abs(value - s.mi) <= tol
    assert value <= s.mi + 0.05  # the bias is downward


@pytest.mark.parametrize(("dim", "rho"), [(1, 0.3), (1, 0.8), (3, 0.5), (8, 0.3), (8, 0.8)])
def test_gaussian_estimator_closed_form(dim: int, rho: float) -> None:
    s = synthetic.correlated_gaussian(N, dim, rho, seed=2)
    # sd of the log-det MI ~ rho sqrt(d / N) (delta method); upward bias ~ d^2 / (2N).
    tol = 4 * rho * math.sqrt(dim / N) + dim * dim / N
    assert GaussianMI(shrinkage=0.0).estimate(s.x, s.y) == pytest.approx(s.mi, abs=tol)
    # Ledoit-Wolf shrinkage only lowers the estimate (towards independence).
    assert GaussianMI().estimate(s.x, s.y) <= GaussianMI(shrinkage=0.0).estimate(s.x, s.y) + 1e-12


def test_gaussian_shrinkage_keeps_n_below_d_finite() -> None:
    s = synthetic.correlated_gaussian(60, 50, 0.5, seed=0)
    info = GaussianMI().estimate_with_info(s.x, s.y)
    assert math.isfinite(info.value) and 0 <= info.value and 0 < info.diagnostics["shrinkage_intensity"] < 1


@pytest.mark.parametrize(
    ("estimator", "tol"),
    # KSG: sd ~ 0.01 at N = 2000; Gaussian: bias d^2/(2N) = 0.002; binning 1-D with
    # 8 bins: plug-in bias (B-1)^2/(2N) = 0.012; Renyi: kernel MI of independent data ~ 1/N.
    [(KSGMI(), 0.03), (KSGMI(algorithm=2), 0.03), (GaussianMI(), 0.01), (RenyiMI(), 0.01)],
)
def test_independent_variables_give_zero(estimator, tol: float) -> None:
    s = synthetic.correlated_gaussian(N, 3, 0.0, seed=3)
    assert abs(estimator.estimate(s.x, s.y)) <= tol


def test_binning_independent_1d() -> None:
    s = synthetic.correlated_gaussian(N, 1, 0.0, seed=3)
    value = BinningMI(n_bins=8).estimate(s.x, s.y)
    assert 0 <= value <= 2 * 49 / (2 * N)  # plug-in bias (B-1)^2/(2N), up to 2x for sampling


def _plugin_mi(a: np.ndarray, b: np.ndarray) -> float:
    table = np.zeros((a.max() + 1, b.max() + 1))
    np.add.at(table, (a, b), 1)
    p = table / table.sum()
    px, py = p.sum(1, keepdims=True), p.sum(0, keepdims=True)
    nz = p > 0
    return float((p[nz] * np.log(p[nz] / (px @ py)[nz])).sum())


def test_binning_discrete_exact() -> None:
    pmf = np.array([[0.3, 0.05, 0.05], [0.05, 0.3, 0.05], [0.02, 0.08, 0.1]])
    s = synthetic.discrete_joint(3000, pmf, seed=0)
    value = BinningMI().estimate(s.x, s.y)
    assert value == pytest.approx(_plugin_mi(s.x[:, 0].astype(int), s.y), abs=1e-12)
    assert value == pytest.approx(s.mi, abs=0.05)  # sampling sd ~ 0.012 at N = 3000
    mm = BinningMI(miller_madow=True).estimate_with_info(s.x, s.y)
    d = mm.diagnostics  # each entropy gets (m - 1) / (2N): 2/6000 + 2/6000 - 8/6000
    assert mm.value == pytest.approx(value + (2 + 2 - 8) / 6000, abs=1e-12)
    assert d["occupied_x"] == 3 and d["occupied_y"] == 3


@pytest.mark.parametrize("scale", [1.0, 100.0])
def test_binning_edges_follow_the_data(scale: float) -> None:
    # ReLU-like activations in [0, scale]: 10 equal-width bins over the observed range,
    # 40 distinct inputs per bin -> I(X; T_bin) = H(T_bin) = log 10 exactly.
    t = np.linspace(0, scale, 400, endpoint=False)[:, None]
    x = np.arange(400.0)[:, None]
    assert BinningMI(n_bins=10).estimate(x, t) == pytest.approx(math.log(10), abs=1e-12)
    assert BinningMI(n_bins=10, strategy="quantile").estimate(x, t) == pytest.approx(math.log(10), abs=1e-12)


@pytest.mark.parametrize(("n_classes", "sep"), [(2, 2.0), (4, 1.5)])
def test_mixed_ksg_and_gaussian_on_labels(n_classes: int, sep: float) -> None:
    s = synthetic.gaussian_mixture_labels(N, n_classes, 3, sep, seed=4)
    # Tolerances = |mean bias| + 3 sd over 12 seeds at N = 2000: Ross 2014 bias +0.01,
    # sd 0.02; QDA plug-in (the exact model here) bias < 0.003, sd 0.02.
    assert KSGMI().estimate(s.x, s.y) == pytest.approx(s.mi, abs=0.07)
    assert GaussianMI().estimate(s.x, s.y) == pytest.approx(s.mi, abs=0.06)


def test_label_mi_never_exceeds_label_entropy() -> None:
    s = synthetic.gaussian_mixture_labels(600, 3, 2, separation=20.0, seed=5)
    h_y = label_entropy(torch.as_tensor(s.y))
    assert s.mi == pytest.approx(math.log(3), abs=1e-9)
    for estimator in [BinningMI(), KDEMI(), GaussianMI()]:  # exact property, and tight here
        value = estimator.estimate(s.x, s.y)
        assert h_y - 0.01 <= value <= h_y + 1e-9, estimator.name
    # Renyi-2 with the median width (~ the cluster spacing) resolves only part of it.
    assert 0 < RenyiMI().estimate(s.x, s.y) <= h_y + 1e-9
    assert KSGMI().estimate(s.x, s.y) <= h_y + 0.02  # k-NN estimator: bias ~ 1/N


def test_ksg_brute_and_kdtree_agree_exactly() -> None:
    s = synthetic.correlated_gaussian(700, 3, 0.6, seed=6)
    m = synthetic.gaussian_mixture_labels(700, 3, 2, 1.0, seed=6)
    for algorithm in (1, 2):
        a = KSGMI(algorithm=algorithm, search="kdtree").estimate(s.x, s.y)
        b = KSGMI(algorithm=algorithm, search="brute").estimate(s.x, s.y)
        assert a == pytest.approx(b, abs=1e-12)
    brute = KSGMI(search="brute").estimate(m.x, m.y)
    assert KSGMI(search="kdtree").estimate(m.x, m.y) == pytest.approx(brute, abs=1e-12)


def test_ksg_invariance_under_invertible_maps() -> None:
    base = synthetic.correlated_gaussian(N, 2, 0.6, seed=7)
    # rank preprocessing: exactly invariant under increasing coordinate maps
    cubic = synthetic.transformed_gaussian(N, 2, 0.6, "cubic", seed=7)
    rank = KSGMI(preprocess="rank")
    assert rank.estimate(cubic.x, cubic.y) == pytest.approx(rank.estimate(base.x, base.y), abs=1e-12)
    # standardised KSG: within its sampling sd (~0.015) for a mild map
    sig = synthetic.transformed_gaussian(N, 2, 0.6, "sigmoid", seed=7)
    assert KSGMI().estimate(sig.x, sig.y) == pytest.approx(KSGMI().estimate(base.x, base.y), abs=0.03)
    assert KSGMI().estimate(sig.x, sig.y) == pytest.approx(base.mi, abs=0.06)


def test_kde_bounds_bracket_monte_carlo_mixture_entropy() -> None:
    rng = np.random.default_rng(8)
    t = rng.standard_normal((150, 2))
    noise_var = 0.1
    info = KDEMI(noise_var=noise_var).estimate_with_info(np.arange(150.0), t)
    # Independent Monte Carlo: draw from the mixture, H(T_s) = -E log p, minus the noise entropy.
    draws = t[rng.integers(0, 150, 40000)] + math.sqrt(noise_var) * rng.standard_normal((40000, 2))
    d2 = ((draws[:, None, :] - t[None]) ** 2).sum(-1)
    log_p = np.logaddexp.reduce(-d2 / (2 * noise_var), axis=1) - math.log(150) - math.log(2 * math.pi * noise_var)
    mc = -log_p.mean() - math.log(2 * math.pi * math.e * noise_var)
    se = log_p.std() / math.sqrt(len(log_p))
    assert info.diagnostics["lower"] - 3 * se <= mc <= info.value + 3 * se
    assert info.diagnostics["lower"] < info.value


def test_kde_separated_clusters_give_log_k() -> None:
    centres = 100.0 * np.arange(5)[:, None]
    t = np.repeat(centres, 40, axis=0) + 1e-3 * np.random.default_rng(9).standard_normal((200, 1))
    assert KDEMI(noise_var=0.1).estimate(np.arange(200.0), t) == pytest.approx(math.log(5), abs=1e-3)


def _renyi_dense(kx: np.ndarray, ky: np.ndarray, alpha: float) -> float:
    def s(k: np.ndarray) -> float:
        lam = np.clip(np.linalg.eigvalsh(k / np.trace(k)), 0, None)
        return float(np.log((lam[lam > 0] ** alpha).sum()) / (1 - alpha))

    return s(kx) + s(ky) - s(kx * ky)


@pytest.mark.parametrize("alpha", [2.0, 3.0, 1.5])
def test_renyi_matches_dense_eigendecomposition(alpha: float) -> None:
    s = synthetic.correlated_gaussian(200, 2, 0.7, seed=10)
    width = 0.8
    kx = np.exp(-((s.x[:, None] - s.x[None]) ** 2).sum(-1) / (2 * width**2))
    ky = np.exp(-((s.y[:, None] - s.y[None]) ** 2).sum(-1) / (2 * width**2))
    value = RenyiMI(alpha=alpha, kernel_width=width).estimate(s.x, s.y)
    assert value == pytest.approx(_renyi_dense(kx, ky, alpha), abs=1e-8)


def test_renyi_separated_labels_give_renyi_label_entropy() -> None:
    s = synthetic.gaussian_mixture_labels(300, 3, 1, separation=50.0, seed=11)
    p = np.bincount(s.y) / len(s.y)
    assert RenyiMI(kernel_width=1.0).estimate(s.x, s.y) == pytest.approx(-math.log((p**2).sum()), abs=1e-6)


def test_chunked_paths_equal_single_block(monkeypatch: pytest.MonkeyPatch) -> None:
    s = synthetic.correlated_gaussian(500, 3, 0.5, seed=12)
    m = synthetic.gaussian_mixture_labels(500, 3, 2, 1.0, seed=12)
    runs = [
        lambda: KDEMI().estimate(s.x, s.y),
        lambda: KDEMI().estimate(m.x, m.y),
        lambda: RenyiMI().estimate(s.x, s.y),
        lambda: KSGMI(search="brute", algorithm=2).estimate(s.x, s.y),
        lambda: KSGMI(search="brute").estimate(m.x, m.y),
    ]
    whole = [run() for run in runs]
    monkeypatch.setattr(pairwise, "BLOCK_BYTES", 500 * 8 * 6 * 30)  # 30-row chunks for 6 blocks
    assert len(list(pairwise.row_chunks(500, 500))) > 10
    assert [run() for run in runs] == pytest.approx(whole, abs=1e-10)


def test_row_chunks_never_exceed_budget_at_50k() -> None:
    n = 50_000
    sizes = [c.stop - c.start for c in pairwise.row_chunks(n, n, n_blocks=6)]
    assert sum(sizes) == n and max(sizes) * n * 8 * 6 <= pairwise.BLOCK_BYTES


def test_plugin_entropies_on_known_histograms() -> None:
    from ssl_it.estimators import entropy_of_counts

    assert entropy_of_counts(torch.tensor([5, 0, 5])).item() == pytest.approx(math.log(2))  # empty bins add nothing
    assert entropy_of_counts(torch.tensor([1.0, 3.0])).dtype == torch.float32
    assert label_entropy(torch.tensor([0, 0, 1, 2])) == pytest.approx(-(0.5 * math.log(0.5) + 0.5 * math.log(0.25)))
    rows = torch.tensor([[0.0, 1.0], [0.0, 1.0], [2.0, 3.0], [4.0, 5.0]])  # distinct rows: 2, 1, 1 of 4
    assert label_entropy(rows) == pytest.approx(-(0.5 * math.log(0.5) + 0.5 * math.log(0.25)))
