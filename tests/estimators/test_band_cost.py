"""What makes the bands cheaper changes no number: the one-penalty ridge solve and the remembered reductions."""

from __future__ import annotations

import copy
import pickle

import pytest
import torch

from ssl_it.estimators import KSGMI, BandMaker, PCAReducedMI
from ssl_it.estimators.bands import SamplingSpread
from ssl_it.estimators.classifier import ridge_loo_scores


@pytest.mark.parametrize(("n", "d"), [(200, 40), (60, 150)])
@pytest.mark.parametrize("penalty", [1e-3, 1.0, 100.0])
def test_one_penalty_ridge_gives_the_eigendecomposition_path_s_scores(n: int, d: int, penalty: float) -> None:
    gen = torch.Generator().manual_seed(n + d)
    x = torch.randn(n, d, generator=gen, dtype=torch.float64)
    onehot = torch.nn.functional.one_hot(torch.randint(0, 5, (n,), generator=gen), 5).double()
    x_eval = torch.randn(17, d, generator=gen, dtype=torch.float64)
    one = ridge_loo_scores(x, onehot, x_eval, torch.tensor([penalty], dtype=torch.float64), "unit")
    grid = ridge_loo_scores(x, onehot, x_eval, torch.tensor([penalty, 3 * penalty], dtype=torch.float64), "unit")
    assert one[0].shape == (1, n, 5) and one[1].shape == (1, 17, 5)
    assert torch.allclose(one[0][0], grid[0][0], atol=1e-9) and torch.allclose(one[1][0], grid[1][0], atol=1e-9)


def _pair(n: int = 300) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(5)
    x = torch.randn(n, 12, generator=gen, dtype=torch.float64)
    return x, x @ torch.randn(12, 30, generator=gen, dtype=torch.float64) + torch.randn(
        n, 30, generator=gen, dtype=torch.float64
    )


def _counting(est: PCAReducedMI) -> list[int]:
    calls: list[int] = []
    inner = est._reduce
    est._reduce = lambda t, offset: (calls.append(offset), inner(t, offset))[1]  # type: ignore[method-assign]
    return calls


def test_the_bias_check_reuses_the_estimate_s_reductions_and_gives_the_same_number() -> None:
    x, y = _pair()
    est = PCAReducedMI(KSGMI(k=3, metric="euclidean"))
    calls = _counting(est)
    est.estimate(x, y)
    bias = est.gaussian_bias(x, y)
    assert calls == [0, 1]  # one reduction per side, shared by the bias check
    assert bias == PCAReducedMI(KSGMI(k=3, metric="euclidean")).gaussian_bias(x, y)


def test_changed_data_is_reduced_again() -> None:
    x, y = _pair()
    est = PCAReducedMI(KSGMI(k=3, metric="euclidean"))
    calls = _counting(est)
    est.estimate(x, y)
    x.mul_(-1.0).add_(torch.linspace(0, 1, 12, dtype=torch.float64))  # in place: same memory, new version
    value = est.estimate(x, y)
    assert calls == [0, 1, 0]  # only the changed side again
    assert value == PCAReducedMI(KSGMI(k=3, metric="euclidean")).estimate(x, y)


def test_copies_and_pickles_start_without_remembered_reductions() -> None:
    x, y = _pair()
    est = PCAReducedMI(KSGMI(k=3, metric="euclidean"))
    est.estimate(x, y)
    assert len(est._memo._entries) == 2
    assert len(copy.deepcopy(est)._memo._entries) == 0
    assert len(pickle.loads(pickle.dumps(est))._memo._entries) == 0


def test_a_band_s_bias_allowance_is_that_of_a_fresh_estimator() -> None:
    x, y = _pair()
    band = BandMaker().band(PCAReducedMI(KSGMI(k=3, metric="euclidean")), x.float(), y.float())
    fresh = PCAReducedMI(KSGMI(k=3, metric="euclidean")).gaussian_bias(x.float().double(), y.float().double())
    assert band.bias_allowance == max(0.0, fresh)


def test_a_band_with_a_carried_sampling_spread_runs_no_half_samples_and_keeps_the_value() -> None:
    x, y = _pair()
    maker = BandMaker()
    measured = maker.band(PCAReducedMI(KSGMI(k=3, metric="euclidean")), x, y)
    assert measured.method == "half_samples" and not measured.sampling_carried
    est = PCAReducedMI(KSGMI(k=3, metric="euclidean"))
    calls = _counting(est)
    carried = maker.band(est, x, y, carried_sampling=measured.sampling)
    assert carried.sampling_carried and carried.value == measured.value
    assert (carried.sampling_sd, carried.dof, carried.lo, carried.hi) == (
        measured.sampling_sd,
        measured.dof,
        measured.lo,
        measured.hi,
    )
    # the estimate and the rotation re-estimate reduce each side once; the half-samples would add 4 per side
    assert len(calls) == len(_counting_reference(maker, x, y)) - 8


def _counting_reference(maker: BandMaker, x: torch.Tensor, y: torch.Tensor) -> list[int]:
    est = PCAReducedMI(KSGMI(k=3, metric="euclidean"))
    calls = _counting(est)
    maker.band(est, x, y)
    return calls


def test_an_estimator_s_own_standard_error_is_never_carried() -> None:
    from ssl_it.estimators import ClassifierMI

    g = torch.Generator().manual_seed(0)
    labels = torch.arange(90) % 3
    t = torch.randn(90, 5, generator=g, dtype=torch.float64) + torch.nn.functional.one_hot(labels, 5).double()
    est = ClassifierMI(n_folds=3, standardize="unit")
    band = BandMaker().band(est, t, labels, carried_sampling=SamplingSpread(9.0, 3.0, "half_samples"))
    assert band.method == "stderr" and band.sampling_sd < 1.0 and not band.sampling_carried
