"""Bands on every plane point, the data-processing self-check, and how both are drawn."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from ssl_it.analysis.plotting import plot_information_plane
from ssl_it.callbacks.infoplane.dpi import DataProcessingCheck, layer_pairs
from ssl_it.train import train


def rows(run: Path) -> list[dict[str, str]]:
    with (run / "infoplane.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def test_every_point_of_the_default_estimators_has_a_band_and_the_dpi_pair_is_checked(make_cfg, tmp_path):
    train(make_cfg("estimator=calibrated", "callbacks.linear_eval=null", "callbacks=minimal"))
    got = rows(tmp_path / "run")
    layers = [r for r in got if r["layer"] != "views"]
    views = [r for r in got if r["layer"] == "views"]
    assert layers and views
    for r in layers:
        for q in ("I_XT", "I_TY"):
            lo, hi, sd = float(r[f"{q}_lo"]), float(r[f"{q}_hi"]), float(r[f"{q}_sd"])
            assert 0.0 <= lo <= hi and math.isfinite(sd) and sd >= 0
            ceiling = float(r["H_Y"] if q == "I_TY" else r["H_X"])
            assert hi <= ceiling + 1e-9
            assert float(r[f"{q}_spread"]) >= 0.0  # the rotation re-estimate (both defaults are per-unit invariant)
        assert float(r["I_TY_nonlinear"]) - float(r["I_TY_linear"]) == pytest.approx(float(r["nonlinear_gap_TY"]))
        assert 0.0 <= float(r["kept_share_XT"]) <= 1.0  # pca_ksg's reading of what its reduction kept
        # where the level may reach: the band's top with the bias allowance, over the kept share, under log N
        level_hi, hi_bias = float(r["I_XT_level_hi"]), float(r["I_XT_hi"]) + float(r["I_XT_bias"])
        kept = float(r["kept_share_XT"])
        expected = min(hi_bias, float(r["H_X"])) / kept if kept > 0 else float(r["H_X"])
        assert level_hi == pytest.approx(min(expected, float(r["H_X"])), rel=1e-9)
        assert float(r["I_TY_level_hi"]) == pytest.approx(float(r["H_Y"]))  # a lower bound: up to H(Y)
    for r in views:
        assert float(r["I_Z1Z2_lo"]) <= float(r["I_Z1Z2_hi"])
        assert 0.0 <= float(r["kept_share_Z1Z2"]) <= 1.0
        assert float(r["I_Z1Z2_hi"]) <= float(r["I_Z1Z2_level_hi"]) <= float(r["H_X"]) + 1e-9
    projector = [r for r in layers if r["layer"] == "projector"]
    assert projector and all(r["dpi_upstream"] == "backbone" for r in projector)
    assert all(r["dpi_XT"] in ("0", "1") for r in projector)
    assert all(r["dpi_TY"] == "" for r in projector)  # classifier bounds: a lower bound above another is no violation
    assert all(r["dpi_upstream"] == "" for r in layers if r["layer"] == "backbone")


def test_bands_can_be_switched_off(make_cfg, tmp_path):
    train(
        make_cfg(
            "estimator=kde",
            "infoplane.bands=false",
            "infoplane.at_start=false",
            "callbacks.linear_eval=null",
            "callbacks=minimal",
        )
    )
    got = rows(tmp_path / "run")
    assert got and all(r["I_XT_lo"] == "" and r["dpi_XT"] == "" for r in got)
    assert all(r["kept_share_XT"] == "" for r in got)  # KDE reduces nothing


def _row(layer: str, xt: float, lo: float, hi: float, bound_ty: str = "lower") -> dict:
    return {
        "layer": layer,
        "step": 3,
        "I_XT": xt,
        "I_XT_lo": lo,
        "I_XT_hi": hi,
        "bound_XT": "point",
        "I_TY": 0.5,
        "I_TY_lo": 0.4,
        "I_TY_hi": 0.6,
        "bound_TY": bound_ty,
    }


def test_dpi_flags_a_downstream_layer_above_its_upstream_beyond_both_bands_and_warns_once():
    check = DataProcessingCheck([("backbone", "projector")])
    apart = [_row("backbone", 1.0, 0.9, 1.1), _row("projector", 1.5, 1.2, 1.8)]
    with pytest.warns(UserWarning, match="projector' is a function of 'backbone'"):
        assert len(check.check(apart)) == 1
    assert apart[1]["dpi_XT"] == 1 and apart[1]["dpi_upstream"] == "backbone"
    assert apart[1]["dpi_TY"] is None  # lower bounds: not checked
    again = [_row("backbone", 1.0, 0.9, 1.1), _row("projector", 1.5, 1.2, 1.8)]
    assert check.check(again) == [] and again[1]["dpi_XT"] == 1  # flagged again, warned once
    overlapping = [_row("backbone", 1.0, 0.9, 1.3), _row("projector", 1.2, 1.1, 1.4)]
    check.check(overlapping)
    assert overlapping[1]["dpi_XT"] == 0  # above, but inside the bands: not resolved, not flagged


def test_dpi_checks_i_ty_only_between_point_estimates():
    up, down = _row("backbone", 1.0, 0.9, 1.1, "point"), _row("projector", 0.5, 0.4, 0.6, "point")
    down.update(I_TY=0.9, I_TY_lo=0.8, I_TY_hi=1.0)
    with pytest.warns(UserWarning, match="I\\(T;Y\\)"):
        DataProcessingCheck([("backbone", "projector")]).check([up, down])
    assert down["dpi_TY"] == 1 and down["dpi_XT"] == 0


def test_dpi_pairs_default_to_backbone_projector_and_reject_untapped_layers():
    assert layer_pairs(["backbone", "projector"], None) == [("backbone", "projector")]
    assert layer_pairs(["backbone"], None) == []
    assert layer_pairs(["backbone.layer2", "backbone"], [["backbone.layer2", "backbone"]]) == [
        ("backbone.layer2", "backbone")
    ]
    with pytest.raises(
        ValueError,
        match=r"^infoplane\.dpi_pairs: must be a list of \[upstream, downstream\] pairs, two different tapped "
        r"layers of \['backbone', 'projector'\]; got \['backbone', 'head'\]$",
    ):
        layer_pairs(["backbone", "projector"], [["backbone", "head"]])


def test_the_figure_draws_bands_and_crosses_dpi_violations():
    base = {
        "log_n": math.log(100),
        "H_X": math.log(100),
        "H_Y": math.log(10),
        "epoch": 1.0,
        "step": 3,
        "saturated_XT": 0,
        "saturated_TY": 0,
    }
    plane = [{**base, **_row("backbone", 1.0, 0.9, 1.1)}, {**base, **_row("projector", 1.5, 1.2, 1.8), "dpi_XT": 1}]
    ax = plot_information_plane([("", plane)]).axes[0]
    assert [c for c in ax.collections if c.get_gid() == "dpi_violation"][0].get_offsets().tolist() == [[1.5, 0.5]]
    bars = [c for c in ax.collections if c.get_gid() == "bands"]
    assert len(bars) >= 2  # one error-bar set per layer
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(t.startswith("bars: band") for t in legend) and any(t.startswith("x: above") for t in legend)
