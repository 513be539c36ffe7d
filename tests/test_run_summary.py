"""summary.json, the final information-plane numbers, and what train() returns."""

from __future__ import annotations

import csv
import json
import math
import re

import pytest
from omegaconf import OmegaConf

from ssl_it.run import segments as run_segments
from ssl_it.run.config_checks import ConfigError
from ssl_it.run.summary import (
    check_optimized_metric,
    final_infoplane_metrics,
    returned_value,
    run_status,
    write_summary,
)
from ssl_it.run.sweep_failures import FAILED_FILE
from ssl_it.train import train
from tests.helpers import SimulatedKill


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
        "final/infoplane/backbone/I_XT": 2.0,
        "final/infoplane/backbone/I_TY": 0.2,
        "final/infoplane/projector/I_XT": 4.0,
        "final/infoplane/projector/I_TY": 0.4,
        "final/infoplane/views/I_Z1Z2": 5.0,
    }
    assert final_infoplane_metrics(tmp_path / "missing") == {}


def test_summary_file_writes_nan_as_null(tmp_path):
    path = write_summary(tmp_path, {"final/a": 0.5, "final/b": math.nan}, wall_time_s=12.345)
    summary = json.loads(path.read_text())
    (segment,) = summary.pop("segments")
    assert summary == {"final/a": 0.5, "final/b": None, "status": "finished", "wall_time_s": 12.35, "commands": []}
    assert segment["command"] is None and segment["status"] == "finished" and segment["wall_time_s"] == 12.35


def test_wall_time_adds_up_every_segment_that_recorded_its_end(tmp_path):
    run_segments.begin(tmp_path, ["seed=1"], argv=["train.py", "seed=1"])
    write_summary(tmp_path, {}, wall_time_s=10.0, status="preempted")
    run_segments.begin(tmp_path, [f"resume={tmp_path}"], argv=["train.py", f"resume={tmp_path}"])  # killed: no end
    run_segments.begin(
        tmp_path,
        [f"resume={tmp_path}", "trainer.max_epochs=3"],
        argv=["ssl-it-train", f"resume={tmp_path}", "trainer.max_epochs=3"],
    )
    summary = json.loads(write_summary(tmp_path, {"final/a": 1.0}, wall_time_s=2.5).read_text())
    assert summary["wall_time_s"] == 12.5 and summary["status"] == "finished"
    assert [s["wall_time_s"] for s in summary["segments"]] == [10.0, None, 2.5]
    assert [s["status"] for s in summary["segments"]] == ["preempted", None, "finished"]
    assert summary["commands"] == [
        "train.py seed=1",
        f"train.py resume={tmp_path}",
        f"ssl-it-train resume={tmp_path} trainer.max_epochs=3",
    ]
    assert summary["segments"][2]["overrides"] == [f"resume={tmp_path}", "trainer.max_epochs=3"]


def _start_line(run_dir, host: str, pid: int) -> None:
    line = {
        "event": "start",
        "started": "2026-01-01T00:00:00+00:00",
        "command": "train.py",
        "overrides": [],
        "host": host,
        "pid": pid,
    }
    with (run_dir / run_segments.SEGMENTS_FILE).open("a") as f:
        f.write(json.dumps(line) + "\n")


def test_run_status_from_segments_summary_or_their_absence(tmp_path):
    import os
    import socket
    import subprocess
    import sys

    dirs = {
        name: tmp_path / name
        for name in ("finished", "preempted", "killed", "running", "elsewhere", "old", "old_failed", "nothing")
    }
    for d in dirs.values():
        d.mkdir()
    write_summary(dirs["finished"], {}, 1.0)
    write_summary(dirs["preempted"], {}, 1.0, status="preempted")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    _start_line(dirs["killed"], socket.gethostname(), int(dead.stdout))
    _start_line(dirs["running"], socket.gethostname(), os.getpid())
    _start_line(dirs["elsewhere"], "another-host", 1)
    (dirs["old"] / "summary.json").write_text(json.dumps({"wall_time_s": 3.0}))  # before summaries had a status
    (dirs["old_failed"] / FAILED_FILE).write_text("boom\n")
    assert {name: run_status(d) for name, d in dirs.items()} == {
        "finished": "finished",
        "preempted": "preempted",
        "killed": "killed",
        "running": "running",
        "elsewhere": "killed or running",
        "old": "finished",
        "old_failed": "failed",
        "nothing": "killed",
    }


def test_a_run_resumed_after_a_failure_records_both_segments(make_cfg, tmp_path):
    lean = [
        "infoplane=none",
        "callbacks.linear_eval=null",
        "callbacks.knn=null",
        "callbacks.diagnostics=null",
        "trainer.max_epochs=2",
    ]
    kill = "+callbacks.kill={_target_: tests.helpers.KillAtStep, step: 6}"
    with pytest.raises(SimulatedKill):
        train(make_cfg(*lean, kill), overrides=[*lean, kill])
    run = tmp_path / "run"
    failed = json.loads((run / "summary.json").read_text())
    assert failed["status"] == "failed" and failed["error"] == "SimulatedKill: killed after step 6"
    assert run_status(run) == "failed"
    saved = OmegaConf.load(run / "config.yaml")
    del saved.callbacks["kill"]  # the kill is not part of the run
    OmegaConf.save(saved, run / "config.yaml")
    typed = [f"resume={run}"]
    train(make_cfg(*typed), overrides=typed)
    summary = json.loads((run / "summary.json").read_text())
    first, second = summary["segments"]
    assert (first["status"], second["status"], summary["status"]) == ("failed", "finished", "finished")
    assert (first["overrides"], second["overrides"]) == ([*lean, kill], typed)
    assert summary["wall_time_s"] == pytest.approx(first["wall_time_s"] + second["wall_time_s"], abs=0.011)
    assert first["wall_time_s"] > 0 and second["wall_time_s"] > 0 and len(summary["commands"]) == 2
    assert run_status(run) == "finished"


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
    standard = rf"^optimized_metric: must be a final metric of this run: final/.*; got '{re.escape(name)}'$"
    with pytest.raises(ValueError, match=standard):
        check_optimized_metric(make_cfg(*overrides, f"optimized_metric={name}"))
    with pytest.raises(ConfigError, match=standard):
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
