"""One estimator per quantity, from the config: estimator=calibrated and single-quantity overrides."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from ssl_it.build import build_estimator
from ssl_it.callbacks.infoplane import InformationPlane
from ssl_it.estimators import KDEMI, KSGMI, MINE, GaussianMI
from ssl_it.run.config_checks import ConfigError
from ssl_it.train import train

QUICK = ["infoplane.at_start=false", "callbacks.linear_eval=null", "callbacks=minimal"]


def rows(run: Path) -> list[dict[str, str]]:
    with (run / "infoplane.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def test_group_override_swaps_one_quantity_and_rows_record_each(make_cfg, tmp_path):
    cfg = make_cfg("estimator=calibrated", "estimator@estimator.I_TY=gaussian", *QUICK)
    built = build_estimator(cfg.estimator)
    assert set(built) == {"I_XT", "I_TY", "I_Z1Z2"} and isinstance(built["I_TY"], GaussianMI)
    train(cfg)
    got = rows(tmp_path / "run")
    layers = [r for r in got if r["layer"] != "views"]
    views = [r for r in got if r["layer"] == "views"]
    assert layers and views
    xt_name, xt_bound = built["I_XT"].name, built["I_XT"].bound  # whatever calibrated.yaml chooses
    z_name = built["I_Z1Z2"].name
    for r in layers:
        assert (r["estimator_XT"], r["bound_XT"]) == (xt_name, xt_bound)
        assert (r["estimator_TY"], r["bound_TY"]) == (GaussianMI.name, GaussianMI.bound)
        assert r["estimator"] == (xt_name if xt_name == GaussianMI.name else f"{xt_name}+{GaussianMI.name}")
        assert r["estimator_Z1Z2"] == "" and r["I_Z1Z2"] == ""
        # the gaussian estimator has no ceiling of its own: H(Y) is the row's ceiling
        assert float(r["ceiling_TY"]) == pytest.approx(float(r["H_Y"]))
        assert 0 < float(r["ceiling_XT"]) <= math.log(int(r["n_probe"])) + 1e-9
        assert r["saturated_TY"] in ("0", "1") and r["saturated_XT"] in ("0", "1")
    for r in views:
        assert (r["estimator_Z1Z2"], r["estimator"]) == (z_name, z_name)
        assert r["I_XT"] == "" and float(r["ceiling_Z1Z2"]) <= math.log(int(r["n_probe"])) + 1e-9


def test_a_key_of_one_quantity_overrides_only_that_quantity(make_cfg):
    base = build_estimator(make_cfg("estimator=calibrated").estimator)
    built = build_estimator(
        make_cfg("estimator=calibrated", "estimator@estimator.I_TY=kde", "estimator.I_TY.noise_var=0.5").estimator
    )
    assert isinstance(built["I_TY"], KDEMI) and built["I_TY"].noise_var == 0.5
    for q in ("I_XT", "I_Z1Z2"):
        assert repr(built[q]) == repr(base[q])


def test_single_estimator_option_still_means_it_for_every_quantity(make_cfg, tmp_path):
    est = build_estimator(make_cfg("estimator=ksg").estimator)
    assert isinstance(est, KSGMI)
    cb = InformationPlane(build_estimator(make_cfg("estimator=mine").estimator), str(tmp_path))
    assert all(isinstance(e, MINE) for e in cb.per_quantity.values()) and set(cb.per_quantity) == {
        "I_XT",
        "I_TY",
        "I_Z1Z2",
    }
    assert cb.saturation.config_keys["I_TY"] == "estimator"


def test_neural_estimators_are_warm_started_per_layer_and_quantity(tmp_path):
    cb = InformationPlane({"I_XT": MINE(steps=5), "I_TY": KDEMI(), "I_Z1Z2": MINE(steps=5)}, str(tmp_path))
    a, b = cb._estimator_for("backbone/I_XT"), cb._estimator_for("projector/I_XT")
    assert a is cb._estimator_for("backbone/I_XT") and a is not b
    assert a is not cb.per_quantity["I_XT"] and isinstance(cb._estimator_for("views/I_Z1Z2"), MINE)
    assert isinstance(cb._estimator_for("backbone/I_TY"), KDEMI)


@pytest.mark.parametrize(
    "overrides, field",
    [
        (["+estimator.I_XY={_target_: ssl_it.estimators.KDEMI}"], r"estimator: unknown key\(s\) \['I_XY'\]"),
        (["~estimator.I_TY"], r"estimator\.I_TY: missing"),
    ],
)
def test_bad_per_quantity_config_names_the_field(make_cfg, overrides, field):
    with pytest.raises(ConfigError, match=field):
        train(make_cfg("estimator=calibrated", *overrides))


@pytest.mark.parametrize(
    "overrides, field",
    [
        (["estimator=classifier"], r"estimator: 'classifier' estimates I\(T;Y\) from class labels only"),
        (["estimator=calibrated", "estimator@estimator.I_XT=classifier"], r"estimator\.I_XT: 'classifier'"),
        (["estimator=calibrated", "estimator@estimator.I_Z1Z2=classifier"], r"estimator\.I_Z1Z2: 'classifier'"),
    ],
)
def test_a_labels_only_estimator_is_refused_for_continuous_pairs_before_training(make_cfg, tmp_path, overrides, field):
    with pytest.raises(ConfigError, match=field):
        train(make_cfg(*overrides))
    assert not (tmp_path / "run" / "infoplane.csv").exists()
