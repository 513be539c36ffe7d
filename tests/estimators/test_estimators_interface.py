"""Interface contract of every estimator: input errors, configs, ceilings, determinism, collapse."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from conftest import FACTORIES, NAMES
from scipy.special import digamma

import ssl_it.estimators as est
from ssl_it import checks
from ssl_it.estimators import MIEstimate, MIEstimator

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs" / "estimator"
RNG = np.random.default_rng(0)
X = RNG.standard_normal((120, 3))
Y = X[:, :2] + 0.5 * RNG.standard_normal((120, 2))
LABELS = RNG.integers(0, 3, 120)


@pytest.mark.parametrize(
    ("x", "y", "message"),
    [
        (X, Y[:100], "same number of samples"),
        (np.where(np.arange(360).reshape(120, 3) == 7, np.nan, X), Y, "NaN or inf"),
        (X, np.where(np.arange(240).reshape(120, 2) == 3, np.inf, Y), "NaN or inf"),
        (X.reshape(120, 3, 1), Y, "3-D"),
        (X[:1], Y[:1], "below this estimator's minimum"),
        (X, np.zeros((120, 0)), "no features"),
        (np.array(["a"] * 120, dtype=object), Y, "numeric"),
    ],
)
def test_bad_inputs_raise_value_error_naming_problem(any_estimator: MIEstimator, x, y, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        any_estimator.estimate(x, y)


@pytest.mark.parametrize("name", NAMES)
def test_float_labels_rejected_where_labels_required(name: str) -> None:
    with pytest.raises(ValueError, match="integer class labels"):
        FACTORIES[name](y_kind="labels").estimate(X, LABELS.astype(float))
    with pytest.raises(ValueError, match="non-negative"):
        FACTORIES[name]().estimate(X, LABELS - 1)


@pytest.mark.parametrize("name", NAMES)
def test_min_samples_is_enforced_exactly(name: str) -> None:
    estimator = FACTORIES[name]()
    n = estimator.min_samples
    with pytest.raises(ValueError, match=f"N = {n - 1} samples"):
        estimator.estimate(X[: n - 1], Y[: n - 1])


@pytest.mark.parametrize(
    ("name", "kwargs", "field"),
    [
        ("binning", {"n_bins": 1}, "n_bins"),
        ("binning", {"strategy": "kmeans"}, "strategy"),
        ("kde", {"noise_var": 0.0}, "noise_var"),
        ("ksg", {"k": 0}, "k"),
        ("ksg", {"algorithm": 3}, "algorithm"),
        ("ksg", {"search": "ball"}, "search"),
        ("ksg", {"preprocess": "whiten"}, "preprocess"),
        ("gaussian", {"shrinkage": 1.5}, "shrinkage"),
        ("renyi", {"alpha": 1.0}, "alpha"),
        ("renyi", {"kernel_width": "scott"}, "kernel_width"),
        ("mine", {"ema_rate": 0.0}, "ema_rate"),
        ("smile", {"clip": -1.0}, "clip"),
        ("infonce", {"critic": "bilinear"}, "critic"),
        ("nwj", {"batch_size": 1}, "batch_size"),
        ("js", {"test_fraction": 1.0}, "test_fraction"),
        ("club", {"lr": 0.0}, "lr"),
        ("mine", {"cpu_threads": 0}, "cpu_threads"),
        ("ksg", {"seed": -1}, "seed"),
        ("gaussian", {"y_kind": "ordinal"}, "y_kind"),
    ],
)
def test_constructor_rejects_bad_arguments_by_name(name: str, kwargs: dict, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        FACTORIES[name](**kwargs)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: est.GaussianMI(shrinkage=1.5), "shrinkage: must be ledoit_wolf or a number in [0, 1]; got 1.5"),
        (lambda: est.GaussianMI(shrinkage=True), "shrinkage: must be ledoit_wolf or a number in [0, 1]; got True"),
        (lambda: est.RenyiMI(alpha=1.0), "alpha: must be a number > 0 other than 1 (the Shannon limit"),
        (lambda: est.RenyiMI(alpha=0.0), "alpha: must be a number > 0 other than 1 (the Shannon limit"),
        (
            lambda: est.RenyiMI(kernel_width="scott"),
            "kernel_width: must be median, silverman or a number > 0; got 'scott'",
        ),
        (lambda: est.RenyiMI(kernel_width=0.0), "kernel_width: must be median, silverman or a number > 0; got 0.0"),
        (lambda: est.BandMaker(n_halves=3), "n_halves: must be an even integer >= 2 (complementary pairs of halves)"),
        (
            lambda: est.BandMaker(transforms=["flip"]),
            "transforms: must be one of rotation, unit_scale, copula; got 'flip'",
        ),
        (lambda: est.ClassifierMI(penalties=[]), "penalties: must be a non-empty list of numbers > 0; got []"),
        (lambda: est.ClassifierMI(ranks=[]), "ranks: must be null or a non-empty list of positive integers; got []"),
        (lambda: est.ClassifierMI(bandwidths=()), "bandwidths: must be a non-empty list of numbers > 0; got ()"),
        (
            lambda: est.ClassifierMI(y_kind="continuous"),
            "y_kind: must be labels or auto for ClassifierMI (a bound on I(T;Y) with class labels y); got 'continuous'",
        ),
        (lambda: FACTORIES["nwj"](batch_size=1), "batch_size: must be an integer >= 2; got 1"),
    ],
)
def test_bad_arguments_get_the_standard_wording(make, message: str) -> None:
    with pytest.raises(checks.InvalidValue) as err:
        make()
    assert str(err.value).startswith(message)


@pytest.mark.parametrize("name", NAMES)
def test_config_targets_public_class_with_exactly_its_settings(name: str) -> None:
    cfg = yaml.safe_load((CONFIG_DIR / f"{name}.yaml").read_text())
    target = cfg.pop("_target_")
    assert "_partial_" not in cfg
    module, cls_name = target.rsplit(".", 1)
    assert module == "ssl_it.estimators" and cls_name in est.__all__
    estimator = getattr(est, cls_name)(**cfg)
    assert estimator.name == name
    assert estimator.settings() == cfg


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_number_and_info_fields(name: str) -> None:
    a = FACTORIES[name](seed=3).estimate_with_info(X, Y)
    b = FACTORIES[name](seed=3).estimate_with_info(torch.from_numpy(X), torch.from_numpy(Y))
    assert isinstance(a, MIEstimate) and a.n_samples == 120
    assert a.value == b.value and math.isfinite(a.value)
    assert a.bound == FACTORIES[name]().bound in ("point", "lower", "upper", "plugin")


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("labels", [False, True])
def test_collapsed_representation_gives_zero_not_nan(name: str, labels: bool) -> None:
    const = np.ones((120, 4))
    # Tolerances: exact 0 for plug-in/kernel/Gaussian; KSG's jitter-broken ties and
    # neural held-out bounds have O(1/sqrt(n_test)) noise around 0.
    tol = {"ksg": 0.05}.get(name, 0.15 if name in ("mine", "nwj", "infonce", "js", "smile", "club") else 1e-9)
    if labels:  # I(T;Y) with T collapsed
        values = [FACTORIES[name]().estimate(const, LABELS)]
    else:  # I(X;T) with T collapsed (KDE puts its noise on y = T); symmetric ones also for x
        values = [FACTORIES[name]().estimate(X, const)]
        values += [] if name == "kde" else [FACTORIES[name]().estimate(const, Y)]
    for value in values:
        assert abs(value) <= tol


def test_float_inputs_1d_are_read_as_columns() -> None:
    a = est.GaussianMI(shrinkage=0.0).estimate(X[:, 0], Y[:, 0])
    b = est.GaussianMI(shrinkage=0.0).estimate(X[:, :1], Y[:, :1])
    assert a == pytest.approx(b, abs=1e-12)


def test_ceilings() -> None:
    assert est.BinningMI().ceiling(1000) == pytest.approx(math.log(1000))
    assert est.KDEMI().ceiling(500) == pytest.approx(math.log(500))
    # InfoNCE ceiling: log of the held-out batch = min(batch_size, round(0.3 N)).
    assert est.InfoNCEBound(batch_size=64).ceiling(1000) == pytest.approx(math.log(64))
    assert est.InfoNCEBound(batch_size=128).ceiling(100) == pytest.approx(math.log(30))
    # KSG: counts of at least k - 1 give psi(N) - psi(k) (algorithm 1); MINE's DV bound has no maximum.
    assert (
        est.KSGMI(k=3).ceiling(1000) == pytest.approx(digamma(1000) - digamma(3)) and est.MINE().ceiling(1000) is None
    )
    info = est.InfoNCEBound(steps=20, batch_size=16).estimate_with_info(X, Y)
    assert info.ceiling == pytest.approx(math.log(16)) and info.value <= info.ceiling


def test_repr_lists_settings() -> None:
    assert repr(est.KSGMI(k=5)).startswith("KSGMI(k=5, algorithm=1")
