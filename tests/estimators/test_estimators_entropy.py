"""Entropy functions and the known-MI distributions themselves."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.stats import multivariate_t

from ssl_it import synthetic
from ssl_it.estimators import effective_rank, gaussian_entropy

COV = np.array([[2.0, 0.6, 0.0], [0.6, 1.0, 0.3], [0.0, 0.3, 0.5]])
TRUE_H = 0.5 * 3 * math.log(2 * math.pi * math.e) + 0.5 * math.log(np.linalg.det(COV))


def _sample(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).multivariate_normal(np.zeros(3), COV, size=n)


def test_gaussian_entropy_closed_form() -> None:
    z = _sample(5000)
    # sd of 1/2 log det S ~ sqrt(d / (2N)) = 0.017; bias -d^2/(4N) ~ 0.0005.
    assert gaussian_entropy(z, eps=0.0) == pytest.approx(TRUE_H, abs=0.06)
    assert gaussian_entropy(np.zeros((50, 4)), eps=1e-6) == pytest.approx(2 * math.log(2 * math.pi * math.e * 1e-6))


def test_effective_rank_known_spectrum() -> None:
    rng = np.random.default_rng(3)
    u, _ = np.linalg.qr(rng.standard_normal((50, 4)))
    v, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    sv = np.array([4.0, 2.0, 1.0, 1.0])
    z = u @ np.diag(sv) @ v.T
    p = sv / sv.sum() + 1e-7
    assert effective_rank(z) == pytest.approx(math.exp(-(p * np.log(p)).sum()), rel=1e-9)
    # the eps of RankMe adds d * eps * |log eps| ~ 1.1e-5
    assert effective_rank(np.ones((30, 8))) == pytest.approx(1.0, abs=3e-5)
    assert effective_rank(np.zeros((30, 8))) == 0.0
    assert effective_rank(rng.standard_normal((2000, 8))) == pytest.approx(8.0, abs=0.1)


@pytest.mark.parametrize(
    ("fn", "kwargs", "field"),
    [(gaussian_entropy, {"eps": -1.0}, "eps"), (gaussian_entropy, {"shrinkage": "oas"}, "shrinkage")],
)
def test_entropy_arguments_validated(fn, kwargs: dict, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        fn(_sample(20), **kwargs)
    with pytest.raises(ValueError, match="NaN or inf"):
        fn(np.full((20, 2), np.nan))


def test_student_t_mi_matches_monte_carlo() -> None:
    d, rho, df = 2, 0.5, 3.0
    s = synthetic.student_t(40000, d, rho, df, seed=5)
    cov = np.block([[np.eye(d), rho * np.eye(d)], [rho * np.eye(d), np.eye(d)]])
    log_ratio = (
        multivariate_t(np.zeros(2 * d), cov, df=df).logpdf(np.hstack([s.x, s.y]))
        - multivariate_t(np.zeros(d), np.eye(d), df=df).logpdf(s.x)
        - multivariate_t(np.zeros(d), np.eye(d), df=df).logpdf(s.y)
    )
    se = log_ratio.std() / math.sqrt(len(log_ratio))
    assert s.mi == pytest.approx(log_ratio.mean(), abs=4 * se)
    assert synthetic.student_t_mi(0.0, 3, 1e6) == pytest.approx(0.0, abs=1e-4)  # df -> inf: Gaussian


def test_mixture_and_discrete_ground_truth() -> None:
    assert synthetic.mixture_label_mi(3, 30.0) == pytest.approx(math.log(3), abs=1e-9)
    assert synthetic.mixture_label_mi(2, 0.0) == pytest.approx(0.0, abs=1e-9)
    # two classes at +-1 (separation 2): I = H(Y) - E[H(Y|T)], via an independent MC
    rng = np.random.default_rng(6)
    y = rng.integers(0, 2, 200000)
    t = 2.0 * y + rng.standard_normal(200000)
    post1 = 1 / (1 + np.exp(-(2 * t - 2)))  # p(y=1|t) for means 0 and 2
    h_cond = -(post1 * np.log(post1) + (1 - post1) * np.log(1 - post1)).mean()
    assert synthetic.mixture_label_mi(2, 2.0) == pytest.approx(math.log(2) - h_cond, abs=3e-3)
    pmf = np.array([[0.5, 0.0], [0.0, 0.5]])
    assert synthetic.discrete_joint(10, pmf).mi == pytest.approx(math.log(2))
    with pytest.raises(ValueError, match="pmf"):
        synthetic.discrete_joint(10, np.array([[0.5, 0.6]]))
    assert synthetic.rho_for_mi(2.0, 4) == pytest.approx(math.sqrt(1 - math.exp(-1.0)))


@pytest.mark.parametrize("shrinkage", [0.0, 0.25, "ledoit_wolf"])
def test_gaussian_entropy_of_a_wide_embedding_matches_the_full_covariance(shrinkage):
    # d > N: computed from the N x N Gram spectrum, it must equal the d x d log-det
    from ssl_it.estimators.gaussian import shrunk_covariance

    z = torch.as_tensor(np.random.default_rng(3).standard_normal((40, 150)), dtype=torch.float64)
    cov, _ = shrunk_covariance(z, shrinkage)
    cov = cov + 1e-6 * torch.eye(150, dtype=torch.float64)
    want = 75 * math.log(2 * math.pi * math.e) + 0.5 * float(torch.linalg.slogdet(cov)[1])
    assert gaussian_entropy(z, shrinkage) == pytest.approx(want, rel=1e-6, abs=1e-6)


def test_effective_rank_of_a_wide_embedding_matches_its_svd():
    z = torch.as_tensor(np.random.default_rng(4).standard_normal((30, 400)), dtype=torch.float64)
    p = torch.linalg.svdvals(z)
    p = p / p.sum() + 1e-7
    assert effective_rank(z) == pytest.approx(float(torch.exp(-(p * p.log()).sum())), rel=1e-9)
