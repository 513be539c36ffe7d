"""Ceilings, the saturated flag, the once-per-layer warning and the hollow markers."""

from __future__ import annotations

import math
import warnings

import pytest
import torch
from torch import nn

from ssl_it.analysis.plotting import plot_information_plane
from ssl_it.callbacks.infoplane import InformationPlane
from ssl_it.callbacks.infoplane.rows import ceiling_of, is_saturated
from ssl_it.estimators import KDEMI, KSGMI, BinningMI, GaussianMI, InfoNCEBound, label_entropy
from tests.callbacks.fakes import TinyModel, fake_trainer

N = 64


def _labels() -> torch.Tensor:
    return torch.arange(N) % 2


def _separated() -> torch.Tensor:
    """Two tight clusters 20 apart, one per label; every point distinct."""
    y = _labels().float()
    return torch.stack([20 * y + 1e-3 * torch.arange(N), 20 * y], dim=1)


def _independent() -> torch.Tensor:
    return torch.randn(N, 2, generator=torch.Generator().manual_seed(0))


def _callback(tmp_path, estimator, **kwargs) -> InformationPlane:
    return InformationPlane(
        estimator, str(tmp_path), layers=["backbone"], x_representation="pixels", measure_views=False, **kwargs
    )


def _evaluate(cb: InformationPlane, inputs: torch.Tensor, step: int = 0, layers_model: nn.Module | None = None) -> list:
    trainer = fake_trainer(inputs, _labels(), step=step)
    cb._evaluate(trainer, layers_model or TinyModel(nn.Identity()))
    return [r for r in cb.rows if r["step"] == step]


def test_value_at_its_ceiling_is_flagged_and_one_well_below_is_not(tmp_path):
    at = _evaluate(_callback(tmp_path / "a", KDEMI(noise_var=0.1)), _separated())[0]
    # T tells the label exactly: I(T;Y) = H(Y) = log 2, its ceiling (not KDE's log N)
    assert at["ceiling_TY"] == pytest.approx(math.log(2))
    assert at["I_TY"] == pytest.approx(math.log(2), abs=1e-3)
    assert at["saturated_TY"] == 1
    # the same T keeps ~log 2 of the log 64 nats of X: far below its ceiling
    assert at["ceiling_XT"] == pytest.approx(math.log(N))
    assert at["I_XT"] < 0.5 * at["ceiling_XT"] and at["saturated_XT"] == 0

    below = _evaluate(_callback(tmp_path / "b", KDEMI(noise_var=10.0)), _independent())[0]
    assert below["I_TY"] < 0.1 * below["ceiling_TY"]
    assert below["saturated_TY"] == 0 and below["saturated_XT"] == 0


def test_flag_threshold_is_two_percent_of_the_ceiling():
    assert is_saturated(0.981, 1.0, 0.02) and not is_saturated(0.979, 1.0, 0.02)
    assert not is_saturated(float("nan"), 1.0, 0.02)
    assert is_saturated(0.0, 0.0, 0.02)  # nothing to measure when the ceiling is 0


def test_warning_once_per_layer_and_quantity_names_the_layer_and_the_remedy(tmp_path):
    spread = 100 * _independent()  # kernels of variance 0.1 see every sample on its own: I(X;T) = log N
    model = TinyModel(nn.Identity(), nn.Linear(2, 3))
    cb = InformationPlane(
        KDEMI(noise_var=0.1),
        str(tmp_path),
        layers=["backbone", "projector"],
        x_representation="pixels",
        measure_views=False,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for step in range(3):
            _evaluate(cb, spread, step=step, layers_model=model)
    texts = [str(w.message) for w in caught if "infoplane: layer" in str(w.message)]
    xt = [t for t in texts if "I(X;T)" in t]
    assert len(xt) == 2  # one per layer, not one per evaluation
    assert {t.split("'")[1] for t in xt} == {"backbone", "projector"}
    assert all(
        f"log N of the {N} probe inputs" in t and "datamodule.probe_size" in t and "estimator.noise_var" in t
        for t in xt
    )
    assert len(texts) == len({(t.split("'")[1], t.split(":")[2].split("=")[0].strip()) for t in texts})
    assert all(r["saturated_XT"] == 1 for r in cb.rows)


def test_per_quantity_config_key_is_named_in_the_warning(tmp_path):
    estimators = {"I_XT": KDEMI(noise_var=0.1), "I_TY": BinningMI(n_bins=30)}
    cb = _callback(tmp_path, estimators)
    with pytest.warns(UserWarning, match=r"layer 'backbone': I\(T;Y\).*fewer bins \(estimator\.I_TY\.n_bins\)"):
        row = _evaluate(cb, _separated())[0]
    assert (row["estimator_XT"], row["estimator_TY"]) == ("kde", "binning")
    assert (row["bound_XT"], row["bound_TY"]) == ("upper", "plugin")
    assert row["estimator"] == "kde+binning"


@pytest.mark.parametrize(
    "make, has_own_ceiling",
    [
        (lambda: KDEMI(), True),
        (lambda: BinningMI(), True),
        (lambda: KSGMI(), True),
        (lambda: GaussianMI(), False),
        (lambda: InfoNCEBound(steps=20, batch_size=16, eval_every=10), True),
    ],
)
def test_ceilings_per_estimator_are_the_smaller_bound(make, has_own_ceiling):
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(N, 3, generator=gen)
    t = x + 0.1 * torch.randn(N, 3, generator=gen)
    labels = _labels()
    h_x, h_y = label_entropy(x), label_entropy(labels)
    assert h_x == pytest.approx(math.log(N))
    est = make()
    xt = est.estimate_with_info(x, t)
    ty = est.estimate_with_info(t, labels)
    # labels: H(Y) = log 2 is below every estimator's own ceiling
    assert ceiling_of("I_TY", ty, h_x, h_y).value == pytest.approx(h_y)
    assert ceiling_of("I_TY", ty, h_x, h_y).source == "H_Y"
    # continuous pair: log N, or the estimator's lower one (KSG: psi(N) - psi(k); InfoNCE: log of its held-out batch)
    got = ceiling_of("I_XT", xt, h_x, h_y)
    expected = min(h_x, xt.ceiling) if has_own_ceiling else h_x
    assert got.value == pytest.approx(expected)
    assert (xt.ceiling is not None) == has_own_ceiling
    if isinstance(est, InfoNCEBound):
        assert got.source == "estimator" and got.value < h_x
    assert ceiling_of("I_Z1Z2", xt, h_x, h_y).value == pytest.approx(expected)


def test_duplicated_probe_inputs_lower_the_ceiling_to_h_x():
    x = torch.cat([torch.zeros(48, 4), torch.ones(16, 4)])  # two distinct inputs, 3:1
    assert label_entropy(x) == pytest.approx(-(0.75 * math.log(0.75) + 0.25 * math.log(0.25)))


def _rows() -> list[dict]:
    base = {"layer": "backbone", "log_n": math.log(N), "H_X": math.log(N), "H_Y": math.log(2)}
    return [
        {**base, "step": 0, "epoch": 0.0, "I_XT": 1.0, "I_TY": 0.2, "saturated_XT": 0, "saturated_TY": 0},
        {**base, "step": 5, "epoch": 1.0, "I_XT": 4.16, "I_TY": 0.69, "saturated_XT": 1, "saturated_TY": 0},
        {**base, "step": 9, "epoch": 2.0, "I_XT": 3.0, "I_TY": 0.69, "saturated_XT": 0, "saturated_TY": 1},
    ]


def test_saturated_points_are_drawn_hollow_and_the_legend_says_so():
    fig = plot_information_plane([("", _rows())])
    ax = fig.axes[0]
    filled = [c for c in ax.collections if c.get_gid() == "measured"]
    hollow = [c for c in ax.collections if c.get_gid() == "saturated"]
    assert len(filled) == 1 and len(hollow) == 1
    assert filled[0].get_offsets().tolist() == [[1.0, 0.2]]
    assert sorted(hollow[0].get_offsets().tolist()) == [[3.0, 0.69], [4.16, 0.69]]
    assert len(hollow[0].get_facecolors()) == 0  # no face: hollow
    assert hollow[0].get_edgecolors().shape == (2, 4) and hollow[0].get_edgecolors()[:, 3].min() == 1.0
    assert filled[0].get_facecolors()[0, 3] == 1.0
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "hollow: saturated (within 2 % of a ceiling)" in legend


def test_no_hollow_legend_entry_without_saturated_points():
    rows = [{**r, "saturated_XT": 0, "saturated_TY": 0} for r in _rows()]
    ax = plot_information_plane([("", rows)]).axes[0]
    assert not [c for c in ax.collections if c.get_gid() == "saturated"]
    assert not any("hollow" in t.get_text() for t in ax.get_legend().get_texts())
