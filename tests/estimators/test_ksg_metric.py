"""KSG's ``metric`` option: max-norm (Kraskov et al. 2004) vs Euclidean per space (benchmark-mi)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import digamma

from ssl_it import synthetic
from ssl_it.estimators import KSGMI

N = 2000


@pytest.mark.parametrize("algorithm", [1, 2])
def test_euclidean_equals_max_norm_in_one_dimension(algorithm: int) -> None:
    # With d = 1 + 1 both norms are |.|, so the neighbours and counts are the same.
    s = synthetic.correlated_gaussian(N, 1, 0.7, seed=21)
    a = KSGMI(algorithm=algorithm).estimate(s.x, s.y)
    b = KSGMI(algorithm=algorithm, metric="euclidean").estimate(s.x, s.y)
    assert b == a


@pytest.mark.parametrize("algorithm", [1, 2])
def test_euclidean_correlated_gaussians_d5(algorithm: int) -> None:
    # True MI 1 nat in d = 5 + 5. k-NN bias is negative at this dimension and N
    # (Kraskov et al. 2004, Fig. 4; Czyż et al. 2023). Measured over 12 seeds at
    # N = 2000: mean bias -0.21 (alg. 1) / -0.19 (alg. 2), sd 0.027 / 0.032;
    # tolerance = |bias| + 3 sd, rounded up.
    s = synthetic.correlated_gaussian(N, 5, synthetic.rho_for_mi(1.0, 5), seed=22)
    value = KSGMI(algorithm=algorithm, metric="euclidean").estimate(s.x, s.y)
    assert abs(value - s.mi) <= 0.32
    assert value <= s.mi + 0.05  # the bias is downward


@pytest.mark.parametrize("algorithm", [1, 2])
def test_euclidean_independent_variables_give_zero(algorithm: int) -> None:
    # Independent d = 3 + 3: mean over 12 seeds ~0.000, sd 0.018 / 0.022 -> 3 sd.
    s = synthetic.correlated_gaussian(N, 3, 0.0, seed=23)
    assert abs(KSGMI(algorithm=algorithm, metric="euclidean").estimate(s.x, s.y)) <= 0.07


def _ksg1_by_hand(x: np.ndarray, y: np.ndarray, k: int) -> float:
    """KSG algorithm 1 with L2 in each space and the max of the two in the joint space (plain loops)."""
    n = len(x)
    total = 0.0
    for i in range(n):
        dx = [float(np.sqrt(((x[j] - x[i]) ** 2).sum())) for j in range(n)]
        dy = [float(np.sqrt(((y[j] - y[i]) ** 2).sum())) for j in range(n)]
        joint = sorted(max(dx[j], dy[j]) for j in range(n) if j != i)
        eps = joint[k - 1]
        nx = sum(1 for j in range(n) if j != i and dx[j] < eps)
        ny = sum(1 for j in range(n) if j != i and dy[j] < eps)
        total += digamma(nx + 1) + digamma(ny + 1)
    return float(digamma(k) + digamma(n) - total / n)


@pytest.mark.parametrize("k", [1, 3])
def test_euclidean_matches_brute_force_formula(k: int) -> None:
    rng = np.random.default_rng(24)
    x = rng.standard_normal((30, 2))
    y = 0.8 * x + 0.6 * rng.standard_normal((30, 2))
    est = KSGMI(k=k, metric="euclidean", preprocess="none", noise=0.0)
    assert est.estimate(x, y) == pytest.approx(_ksg1_by_hand(x, y, k), abs=1e-9)


def test_euclidean_labels_kdtree_and_brute_agree() -> None:
    # Ross's mixed estimator: the metric applies to the continuous side only.
    m = synthetic.gaussian_mixture_labels(700, 3, 2, 1.0, seed=25)
    a = KSGMI(metric="euclidean", search="kdtree").estimate(m.x, m.y)
    b = KSGMI(metric="euclidean", search="brute").estimate(m.x, m.y)
    assert a == pytest.approx(b, abs=1e-12)
    assert a == pytest.approx(m.mi, abs=0.1)


def test_metric_is_reported_and_validated() -> None:
    assert KSGMI().settings()["metric"] == "max"
    assert KSGMI(metric="euclidean").settings()["metric"] == "euclidean"
    with pytest.raises(ValueError, match="metric"):
        KSGMI(metric="manhattan")
