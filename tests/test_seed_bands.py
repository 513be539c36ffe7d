"""Seed bands: mean, spread and saturated share over seeds, lined up by step."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ssl_it.analysis.compare import RunRecord
from ssl_it.analysis.seed_bands import band_summary, configurations, plot_seed_bands, seed_bands


def run(objective: str, values: list[float], saturated: list[bool], extra_step: bool = False) -> RunRecord:
    rows = [
        {
            "step": float(s),
            "epoch": s / 10,
            "layer": "backbone",
            "I_XT": v,
            "I_TY": 2 * v,
            "saturated_XT": float(f),
            "saturated_TY": 0.0,
        }
        for s, (v, f) in enumerate(zip(values, saturated))
    ]
    if extra_step:  # a step only this seed evaluated
        rows.append({"step": 99.0, "epoch": 9.9, "layer": "backbone", "I_XT": 5.0, "I_TY": 1.0})
    return RunRecord(Path("."), {}, {"objective": objective}, {}, rows)


def test_bands_are_mean_and_sample_sd_over_seeds_at_shared_steps():
    runs = [
        run("vicreg", [1.0, 2.0, 3.0], [False, False, True], extra_step=True),
        run("vicreg", [3.0, 4.0, 2.0], [False, True, True]),
        run("simclr", [0.5, 0.5, 0.5], [False, False, False]),
    ]
    bands = {(b.group, b.quantity): b for b in seed_bands(runs, "objective")}
    xt = bands["vicreg", "I_XT"]
    assert xt.n_seeds == 2 and list(xt.epochs) == [0.0, 0.1, 0.2]  # step 99 was evaluated by one seed only
    np.testing.assert_allclose(xt.mean, [2.0, 3.0, 2.5])
    np.testing.assert_allclose(xt.sd, [np.sqrt(2), np.sqrt(2), np.sqrt(0.5)])
    np.testing.assert_allclose(xt.saturated, [0.0, 0.5, 1.0])
    np.testing.assert_allclose(bands["vicreg", "I_TY"].mean, [4.0, 6.0, 5.0])
    assert np.isnan(bands["simclr", "I_XT"].sd).all()  # one seed: no spread


def test_summary_reports_first_peak_and_last():
    bands = seed_bands(
        [run("vicreg", [1.0, 2.0, 3.0], [False] * 3), run("vicreg", [3.0, 4.0, 2.0], [False] * 3)], "objective"
    )
    header, rows = band_summary(bands)
    row = dict(zip(header, next(r for r in rows if r[2] == "I(X;T)")))
    assert row["first"] == "2.000 ± 1.414" and row["peak (epoch)"] == "3.000 ± 1.414 (0.10)"
    assert row["last"] == "2.500 ± 0.707" and row["last - peak"] == "-0.500"


def test_figure_has_one_panel_per_layer_and_quantity():
    runs = [run("a", [1.0, 2.0], [False, True]), run("a", [2.0, 3.0], [True, True])]
    fig = plot_seed_bands(seed_bands(runs, "objective"))
    assert len(fig.axes) == 2 and {ax.get_title() for ax in fig.axes} == {"backbone: I(X;T)", "backbone: I(T;Y)"}


@pytest.mark.parametrize(
    ("key", "groups"), [("objective", {"a", "b"}), ("missing.key", {"None [objective=a]", "None [objective=b]"})]
)
def test_runs_group_by_a_choice_or_a_config_value(key, groups):
    # runs with no value of the key share it (None), but their objectives differ: not seeds of one configuration
    bands = seed_bands([run("a", [1.0], [False]), run("b", [2.0], [False])], key)
    assert {b.group for b in bands} == groups


def _banded(objective: str, values: list[float], half: float) -> RunRecord:
    record = run(objective, values, [False] * len(values))
    for row in record.trajectory:
        row.update(I_XT_lo=row["I_XT"] - half, I_XT_hi=row["I_XT"] + half)
    return record


@pytest.mark.parametrize(("half", "resolved"), [(0.1, "yes"), (0.6, "no")])
def test_a_fall_inside_the_estimator_bands_is_reported_not_resolved(half: float, resolved: str):
    # seeds agree to 0.1 (sd 0.071); the fall from 3.0 to 2.0 is resolved unless each point's band is +-0.6
    bands = seed_bands([_banded("v", [1.0, 3.0, 2.0], half), _banded("v", [1.1, 3.1, 2.1], half)], "objective")
    header, rows = band_summary(bands)
    row = dict(zip(header, next(r for r in rows if r[2] == "I(X;T)")))
    assert row["resolved"] == resolved and row["band ±"] == f"{half:.3f}"
    assert dict(zip(header, next(r for r in rows if r[2] == "I(T;Y)")))["band ±"] == "-"  # no I_TY band given


def test_compare_reads_the_last_band_of_each_layer():
    from ssl_it.analysis.compare import last_band

    record = _banded("v", [1.0, 3.0, 2.0], 0.25)
    assert last_band(record.trajectory, "I_XT/backbone") == (1.75, 2.25)
    assert last_band(record.trajectory, "I_TY/backbone") is None


def _seeded(objective: str, seed: int, values: list[float], **config) -> RunRecord:
    record = run(objective, values, [False] * len(values))
    record.path = Path(f"/sweep/{objective}-{seed}-{len(config)}")
    record.config = {"seed": seed, "infoplane.seed": seed, "optimizer.lr": 0.001, **config}
    return record


def test_seeds_that_differ_only_in_their_seed_are_merged():
    runs = [_seeded("vicreg", s, [1.0 + s, 2.0]) for s in range(3)]
    groups, notes = configurations(runs, "objective")
    assert groups == {"vicreg": runs} and notes == []
    assert {b.n_seeds for b in seed_bands(runs, "objective")} == {3}


def test_runs_that_differ_in_max_epochs_are_split_and_the_note_says_so():
    one_a = _seeded("vicreg", 0, [1.0, 2.0], **{"trainer.max_epochs": 1})
    two = _seeded("vicreg", 1, [1.5, 2.5], **{"trainer.max_epochs": 2})
    one_b = _seeded("vicreg", 2, [3.0, 4.0], **{"trainer.max_epochs": 1})
    simclr = _seeded("simclr", 0, [0.5, 0.5], **{"trainer.max_epochs": 1})
    groups, notes = configurations([one_a, two, one_b, simclr], "objective")
    assert groups == {
        "vicreg [trainer.max_epochs=1]": [one_a, one_b],
        "vicreg [trainer.max_epochs=2]": [two],
        "simclr": [simclr],
    }
    assert notes == [
        "objective=vicreg: the runs differ in trainer.max_epochs (1, 2), not only in the seed; "
        "not merged: shown as 2 separate configurations"
    ]
    xt = {b.group: b for b in seed_bands([one_a, two, one_b, simclr], "objective") if b.quantity == "I_XT"}
    assert {g: b.n_seeds for g, b in xt.items()} == {
        "vicreg [trainer.max_epochs=1]": 2,
        "vicreg [trainer.max_epochs=2]": 1,
        "simclr": 1,
    }
    np.testing.assert_allclose(xt["vicreg [trainer.max_epochs=1]"].mean, [2.0, 3.0])  # not 1.5 x 3 seeds
