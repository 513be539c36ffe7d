"""Known-MI tasks of the information plane's regime: their truths, shapes and argument checks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ssl_it import checks, synthetic
from ssl_it.estimators import GaussianMI
from ssl_it.synthetic.layers import nonlinear_labels, spiked_channel


@pytest.mark.parametrize("embedding", ["linear", "tanh", "softplus"])
def test_channel_truth_is_the_latent_closed_form(embedding: str) -> None:
    s = synthetic.gaussian_channel(300, 3, 64, rho=0.8, embedding=embedding, seed=1, ambient_dim_y=128)
    assert s.x.shape == (300, 64) and s.y.shape == (300, 128)
    assert s.mi == pytest.approx(-1.5 * math.log(1 - 0.64), rel=1e-12) and s.mi_se == 0.0
    assert np.isfinite(s.x).all() and np.isfinite(s.y).all()


def test_linear_channel_has_the_latent_rank_and_its_gaussian_mi() -> None:
    s = synthetic.gaussian_channel(2000, 2, 256, rho=0.8, embedding="linear", seed=2)
    assert np.linalg.matrix_rank(s.x[:50]) == 2 and np.linalg.matrix_rank(s.y[:50]) == 2
    # On the 2 principal axes of each side the log-det MI is the latent one: sd ~ rho sqrt(2/N) = 0.025.
    assert GaussianMI(shrinkage=0.0, max_dim=2).estimate(s.x, s.y) == pytest.approx(s.mi, abs=0.08)


def test_nonlinear_embedding_is_injective_on_the_sample() -> None:
    s = synthetic.gaussian_channel(500, 4, 64, embedding="tanh", seed=3)
    # distinct latents stay distinct: no two rows of x coincide (tanh is strictly increasing)
    gaps = np.sqrt(((s.x[:, None, :] - s.x[None, :, :]) ** 2).sum(-1)) + np.eye(500)
    assert gaps.min() > 1e-6


def test_mixture_truth_matches_one_dimensional_quadrature() -> None:
    # m = 1: the MC truth against the integral over the drawn means on a fine grid.
    means = synthetic.mixture_means(3, 1, 2.0)[:, 0]
    t = np.linspace(means.min() - 12, means.max() + 12, 200_001)
    comp = np.exp(-0.5 * (t[None] - means[:, None]) ** 2) / math.sqrt(2 * math.pi)
    mix = comp.mean(0)
    exact = float(np.trapezoid((comp * np.log(comp / mix)).mean(0), t))
    mi, se = synthetic.subspace_mixture_mi(3, 1, 2.0, mc_samples=200_000)
    assert se < 0.002 and abs(mi - exact) <= 4 * se


def test_mixture_sample_carries_its_mc_truth_and_labels() -> None:
    s = synthetic.subspace_mixture(400, 128, n_classes=10, subspace_dim=4, separation=0.75, seed=0)
    assert s.x.shape == (400, 128) and s.y.dtype == np.int64 and set(np.unique(s.y)) <= set(range(10))
    assert s.mi == pytest.approx(0.695, abs=0.003) and 0 < s.mi_se < 0.001  # 1e6 draws
    assert s.mi < math.log(10)
    mi0, se0 = synthetic.subspace_mixture_mi(10, 4, 0.0, mc_samples=1000)  # equal means: 0 up to round-off
    assert abs(mi0) < 1e-12 and se0 < 1e-12


def test_deterministic_encoder_truth_is_log_m() -> None:
    s = synthetic.deterministic_encoder(2000, 64, 16, 256, seed=4)
    assert s.mi == pytest.approx(math.log(64))
    # T determines X and X determines T: as many distinct rows of T as of X, paired one to one
    n_x = len(np.unique(s.x, axis=0))
    assert n_x == len(np.unique(s.y, axis=0)) == len(np.unique(np.hstack([s.x, s.y]), axis=0)) <= 64


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: synthetic.gaussian_channel(10, 0, 64), "latent_dim"),
        (lambda: synthetic.gaussian_channel(10, 8, 4), "ambient_dim"),
        (lambda: synthetic.gaussian_channel(10, 2, 64, rho=1.0), "rho"),
        (lambda: synthetic.gaussian_channel(10, 2, 64, embedding="relu"), "embedding"),
        (lambda: synthetic.subspace_mixture(10, 4, subspace_dim=8), "subspace_dim"),
        (lambda: synthetic.subspace_mixture(10, 64, separation=-1.0), "separation"),
        (lambda: synthetic.deterministic_encoder(10, 0, 4, 4), "n_points"),
        (lambda: synthetic.deterministic_encoder(0, 4, 4, 4), "n"),
    ],
)
def test_bad_arguments_name_the_field(call, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        call()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: synthetic.gaussian_channel(10, 8, 4), "ambient_dim: must be an integer >= the latent dimension 8"),
        (lambda: synthetic.subspace_mixture(10, 4, subspace_dim=8), "subspace_dim: must be an integer <= ambient_dim"),
        (
            lambda: synthetic.discrete_joint(10, np.array([[0.5, 0.6]])),
            "pmf: must be a 2-D table of non-negative probabilities summing to 1; got",
        ),
        (lambda: spiked_channel(10, 4, 3, 8, 1.0), "latent_dim: must be an integer <= dim_x and dim_t (here 3)"),
        (lambda: spiked_channel(10, 2, 4, 4, [1.0, -1.0]), "snr_t: must be a number > 0, or one per latent"),
        (lambda: nonlinear_labels(10, 8, "xor", latent_dim=1), "latent_dim: must be an integer >= 2 with kind=xor"),
        (lambda: nonlinear_labels(10, 8, "xor", n_classes=3), "n_classes: must be 2 with kind=xor; got 3"),
        (
            lambda: nonlinear_labels(10, 4, "radial", latent_dim=6, n_classes=3),
            "latent_dim: must be an integer <= dim (here 4)",
        ),
    ],
)
def test_cross_field_limits_get_the_standard_wording(call, message: str) -> None:
    with pytest.raises(checks.InvalidValue) as err:
        call()
    assert str(err.value).startswith(message)
