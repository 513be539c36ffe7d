"""summary.json, the final information-plane numbers, and what train() returns."""

from __future__ import annotations

import csv
import json
import math

import pytest

from ssl_it.config_checks import ConfigError
from ssl_it.run_summary import check_optimized_metric, final_infoplane_metrics, returned_value, write_summary
from ssl_it.train import train


def test_final_infoplane_metrics_take_the_last_evaluation(tmp_path):
    rows = [
        {"step": 0, "layer": "backbone", "I_XT": 1.0, "I_TY": 0.1},
        {"step": 0, "layer": "views", "I_Z1Z2": 3.0},
        {"step": 10, "layer": "backbone", "I_XT": 2.0, "I_TY": 0.2},
        {"step": 10, "layer": "projector", "I_XT": 4.0, "I_TY": 0.4},
        {"step": 10, "layer": "views", "I_Z1Z2": 5.0},
    ]
    with (tmp_path / "infoplane.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["step", "layer", "I_XT", "I_TY", "I_Z1Z2"])
        writer.writeheader()
        writer.writerows(rows)
    assert final_infoplane_metrics(tmp_path) == {
        "final/infoplane/backbone/I_XT": 2.0, "final/infoplane/backbone/I_TY": 0.2,
        "final/infoplane/projector/I_XT": 4.0, "final/infoplane/projector/I_TY": 0.4,
        "final/infoplane/views/I_Z1Z2": 5.0,
    }
    assert final_infoplane_metrics(tmp_path / "missing") == {}


def test_summary_file_writes_nan_as_null(tmp_path):
    path = write_summary(tmp_path, {"final/a": 0.5, "final/b": math.nan}, wall_time_s=12.345)
    assert json.loads(path.read_text()) == {"final/a": 0.5, "final/b": None, "status": "finished", "wall_time_s": 12.35}


def test_returned_value_is_the_default_a_number_or_a_tuple():
    summary = {"final/a": 0.5, "final/b": 2.0}
    assert returned_value(summary, 0.9, None) == 0.9
    assert returned_value(summary, 0.9, "final/b") == 2.0
    assert returned_value(summary, 0.9, ["final/a", "final/b"]) == (0.5, 2.0)
    with pytest.raises(ValueError, match="optimized_metric"):
        returned_value(summary, 0.9, ["final/c"])


@pytest.mark.parametrize(
    "overrides, name",
    [
        ([], "final/linear_eval_top3"),
        (["callbacks.linear_eval=null"], "final/linear_eval_top1"),
        (["infoplane=none"], "final/infoplane/backbone/I_XT"),
        ([], "final/infoplane/backbon/I_XT"),
        (["callbacks=minimal"], "final/knn_acc"),
    ],
)
def test_impossible_optimized_metric_fails_before_training(make_cfg, overrides, name):
    with pytest.raises(ValueError, match="optimized_metric"):
        check_optimized_metric(make_cfg(*overrides, f"optimized_metric={name}"))
    with pytest.raises(ConfigError, match="optimized_metric"):
        train(make_cfg(*overrides, f"optimized_metric={name}"))


def test_train_returns_the_named_final_metrics_and_writes_them(make_cfg, tmp_path):
    names = ["final/linear_eval_top1", "final/infoplane/backbone/I_XT", "final/knn_acc"]
    out = train(make_cfg(f"optimized_metric=[{','.join(names)}]"))
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert isinstance(out, tuple) and out == tuple(summary[n] for n in names)
    with (tmp_path / "run" / "infoplane.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    last = [r for r in rows if r["layer"] == "backbone"][-1]
    assert out[1] == float(last["I_XT"]) and int(last["step"]) == max(int(r["step"]) for r in rows)
    with (tmp_path / "run" / "metrics.csv").open(newline="") as f:
        knn = [float(r["val/knn_acc"]) for r in csv.DictReader(f) if r.get("val/knn_acc")]
    assert out[2] == pytest.approx(knn[-1]) and summary["wall_time_s"] > 0
