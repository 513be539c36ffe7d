"""``infoplane.probe_size``: a fixed subset, or the largest probe set the time share affords (injected timings)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch

from ssl_it import checks
from ssl_it.callbacks import InformationPlane
from ssl_it.callbacks.infoplane.budget import (
    ProbeSizer,
    choose_probe_size,
    cost_exponent,
    evaluations_in_run,
    stratified_subset,
)
from ssl_it.estimators import KDEMI
from ssl_it.run.config_checks import ConfigError
from ssl_it.train import train


def test_cost_exponent_fits_the_power_law_through_the_pilot_and_is_clipped_to_1_3():
    assert cost_exponent({256: 1.0, 512: 4.0}) == pytest.approx(2.0)
    assert cost_exponent({256: 1.0, 512: 2.0**1.5, 1024: 8.0}) == pytest.approx(1.5)
    assert cost_exponent({256: 1.0, 512: 1.0}) == 1.0  # flat timings (a fixed cost) would promise any N for free
    assert cost_exponent({256: 1.0, 512: 64.0}) == 3.0
    assert cost_exponent({512: 1.0}) == 2.0  # one size: the k-NN searches' N^2


def test_choice_is_the_largest_grid_size_whose_predicted_cost_fits_the_budget():
    pilot = {256: 0.5, 512: 2.0}  # cost ~ N^2: 1,024 -> 8 s, 1,280 -> 12.5 s
    got = choose_probe_size(pilot, budget_seconds=8.0, available=8192, minimum=20)
    assert (got.n, got.exponent, got.predicted_seconds, got.budget_seconds) == (
        1024,
        pytest.approx(2.0),
        pytest.approx(8.0),
        8.0,
    )
    assert choose_probe_size(pilot, 1e9, available=1000, minimum=20).n == 1000  # capped by the probe samples
    assert choose_probe_size(pilot, 0.01, available=8192, minimum=20).n == 256  # over budget: the smallest size
    assert choose_probe_size(pilot, 0.01, available=100, minimum=20).n == 100


def test_evaluations_in_run_counts_start_log_spaced_steps_and_epochs():
    assert evaluations_in_run(True, {1, 6}, total_steps=310, epochs=10, every_n_epochs=1) == 13
    # after epochs 3, 6, 9 and the last, 10
    assert evaluations_in_run(False, {1, 6, 400}, total_steps=310, epochs=10, every_n_epochs=3) == 6


def test_stratified_subset_keeps_class_shares_sorted_and_seeded():
    labels = torch.tensor([0] * 700 + [1] * 200 + [2] * 100)[
        torch.randperm(1000, generator=torch.Generator().manual_seed(1))
    ]
    rows = stratified_subset(labels, 100, seed=3)
    assert torch.bincount(labels[rows]).tolist() == [70, 20, 10]
    assert torch.equal(rows, torch.sort(rows).values) and len(set(rows.tolist())) == 100
    assert torch.equal(rows, stratified_subset(labels, 100, seed=3))
    assert not torch.equal(rows, stratified_subset(labels, 100, seed=4))
    assert torch.equal(stratified_subset(labels, 1000, seed=3), torch.arange(1000))


def test_sizer_chooses_from_the_timed_steps_and_the_pilot():
    sizer = ProbeSizer("auto", time_share=0.1, auto_after_steps=5, seed=0)
    for t in (0.0, 0.1, 0.2, 0.3, 0.4):
        sizer.clock.tick(t)
    assert sizer.waiting and not sizer.can_choose()  # 4 gaps
    sizer.clock.tick(0.5)
    sizer.clock.skip()
    sizer.clock.tick(9.0)  # after an evaluation: that gap is not a training step
    sizer.clock.tick(9.1)
    assert sizer.can_choose() and sizer.clock.seconds_per_step() == pytest.approx(0.1)
    seen = []

    def time_at(rows: torch.Tensor) -> float:
        seen.append(len(rows))
        return 0.25 * (len(rows) / 512) ** 2

    labels = torch.arange(4096) % 10
    # budget: 0.1 x 0.1 s x 1,000 steps / 10 evaluations = 1 s; 0.25 s x (N / 512)^2 <= 1 s up to N = 1,024
    got = sizer.choose(labels, minimum=20, time_at=time_at, total_steps=1000, evaluations=10)
    assert seen == [256, 512] and got.n == 1024 and got.budget_seconds == pytest.approx(1.0)
    assert not sizer.waiting and sizer.size(4096) == 1024 and len(sizer.subset(labels)) == 1024


def test_a_fixed_probe_size_uses_that_many_rows_and_all_when_none():
    assert ProbeSizer(300, 0.1, 5, 0).subset(torch.arange(1000) % 10).shape == (300,)
    assert ProbeSizer(None, 0.1, 5, 0).subset(torch.arange(1000) % 10) is None


def _rows(run):
    with (run / "infoplane.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def test_a_run_with_a_fixed_probe_size_estimates_on_that_many_samples(make_cfg, tmp_path):
    train(
        make_cfg(
            "estimator=calibrated",
            "data.n_samples=400",
            "datamodule.probe_size=60",
            "infoplane.probe_size=40",
            "callbacks.linear_eval=null",
            "callbacks=minimal",
        )
    )
    got = _rows(tmp_path / "run")
    assert got and {r["n_probe"] for r in got} == {"40"}


def test_an_auto_run_holds_its_early_evaluations_and_estimates_them_at_the_chosen_size(make_cfg, tmp_path):
    train(
        make_cfg(
            "estimator=calibrated",
            "data.n_samples=400",
            "datamodule.probe_size=60",
            "infoplane.probe_size=auto",
            "infoplane.auto_after_steps=2",
            "trainer.max_epochs=2",
            "callbacks.linear_eval=null",
            "callbacks=minimal",
        )
    )
    got = _rows(tmp_path / "run")
    steps = [int(r["step"]) for r in got]
    assert steps == sorted(steps) and steps[0] == 0  # the held at-start evaluation comes first
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    chosen = summary["final/infoplane/probe_size"]
    assert {r["n_probe"] for r in got} == {str(int(chosen))}
    assert 20 <= chosen <= summary["final/infoplane/probe_available"] == 60


@pytest.mark.parametrize("value", ["many", "1", "0"])
def test_a_bad_probe_size_names_the_key(make_cfg, value):
    with pytest.raises(
        (ConfigError, ValueError), match=r"^infoplane\.probe_size: must be null, auto or an integer >= 2; got"
    ):
        train(make_cfg(f"infoplane.probe_size={value}"))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"probe_size": "many"}, "infoplane.probe_size: must be null, auto or an integer >= 2; got 'many'"),
        ({"probe_size": 1}, "infoplane.probe_size: must be null, auto or an integer >= 2; got 1"),
        ({"time_share": 0.0}, "infoplane.time_share: must be a number in (0, 1]; got 0.0"),
        ({"layers": []}, "infoplane.layers: must be a non-empty list of layer names; got []"),
        (
            {"band_halves": 3},
            "infoplane.band_halves: must be an even integer >= 2 (complementary pairs of halves); got 3",
        ),
        (
            {"band_transforms": ["flip"]},
            "infoplane.band_transforms: must be one of rotation, unit_scale, copula; got 'flip'",
        ),
        (
            {"band_transforms": {"I_TY": ["rotation", "flip"]}},
            "infoplane.band_transforms.I_TY: must be one of rotation, unit_scale, copula; got 'flip'",
        ),
        (
            {"band_transforms": {"I_XY": ["rotation"]}},
            "infoplane.band_transforms: must be a list of maps, or a mapping from ['I_XT', 'I_TY', 'I_Z1Z2'] to "
            "lists of maps; got ['I_XY']",
        ),
        (
            {"band_transforms": "rotation"},
            "infoplane.band_transforms: must be a list of maps among ['rotation', "
            "'unit_scale', 'copula']; got 'rotation'",
        ),
    ],
)
def test_bad_plane_settings_get_the_standard_wording(tmp_path, kwargs, message):
    with pytest.raises(checks.InvalidValue) as err:
        InformationPlane(KDEMI(), str(tmp_path), **kwargs)
    assert str(err.value) == message


def test_a_probe_size_beyond_the_probe_set_names_both_keys(tmp_path):
    plane = InformationPlane(KDEMI(), str(tmp_path), probe_size=50)
    with pytest.raises(checks.InvalidValue) as err:
        plane.check_probe_size(20)
    assert str(err.value) == (
        "infoplane.probe_size: must be null (all of them) or an integer <= 20, the samples of the probe set "
        "(datamodule.probe_size: raise it to measure more); got 50"
    )
    plane.check_probe_size(50)  # exactly as many: fine


def test_measuring_saved_weights_refuses_an_auto_probe_size(tmp_path):
    plane = InformationPlane(KDEMI(), str(tmp_path), probe_size="auto")
    with pytest.raises(checks.InvalidValue) as err:
        plane.measure(None, None, 0, 0.0)  # type: ignore[arg-type]
    assert str(err.value).startswith("infoplane.probe_size: must be null or an integer to measure saved weights")


def test_the_last_epoch_is_always_evaluated():
    from ssl_it.callbacks.infoplane.schedule import EvaluationSchedule

    schedule = EvaluationSchedule(every_n_epochs=2, log_spaced_evals=0, log_spaced_epochs=1.0, at_start=False)
    schedule.fit_start(10, max_epochs=5)
    assert [e for e in range(5) if schedule.due_after_epoch(e)] == [1, 3, 4]  # epochs 2, 4 and the last, 5
    schedule.fit_start(10, max_epochs=-1)  # a run limited by steps: no last epoch known in advance
    assert [e for e in range(5) if schedule.due_after_epoch(e)] == [1, 3]


def test_band_transforms_are_chosen_per_quantity_and_only_i_xt_takes_the_copula_by_default(tmp_path):
    from omegaconf import OmegaConf

    from ssl_it.train import CONFIG_DIR

    default = InformationPlane(KDEMI(), str(tmp_path)).band_transforms
    assert default == {
        "I_XT": ("rotation", "unit_scale", "copula"),
        "I_TY": ("rotation", "unit_scale"),
        "I_Z1Z2": ("rotation", "unit_scale"),
    }
    configured = OmegaConf.load(Path(CONFIG_DIR) / "infoplane" / "default.yaml").band_transforms
    assert InformationPlane(KDEMI(), str(tmp_path), band_transforms=configured).band_transforms == default
    every = InformationPlane(KDEMI(), str(tmp_path), band_transforms=["rotation"]).band_transforms
    assert set(every.values()) == {("rotation",)}
    partial = InformationPlane(KDEMI(), str(tmp_path), band_transforms={"I_TY": []}).band_transforms
    assert partial["I_TY"] == () and partial["I_XT"] == ("rotation", "unit_scale", "copula")
