"""scripts/compare_runs.py and scripts/plot_infoplane.py on a real 2x2 sweep:
the table's numbers are the runs' own, the runs are told apart."""

from __future__ import annotations

import csv
import json
import runpy
import sys
from pathlib import Path

import pytest
from matplotlib.colors import to_hex

from ssl_it.analysis.compare import RunRecord, differing_columns, plot_runs, run_labels, run_names
from tests.conftest import FAST, FAST_DATA, run_python

ROOT = Path(__file__).resolve().parents[1]


def run_script(script: str, *args: str, monkeypatch) -> None:
    monkeypatch.setattr(sys, "argv", [script, *args])
    runpy.run_path(str(ROOT / "scripts" / script), run_name="__main__")


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def last(rows: list[dict[str, str]], key: str) -> float:
    return [float(r[key]) for r in rows if r.get(key)][-1]


@pytest.mark.slow
def test_two_by_two_sweep_table_and_figure(tmp_path, monkeypatch, capsys):
    sweep = tmp_path / "sweep"
    small = [o for o in FAST_DATA + FAST if not o.startswith("infoplane.")] + ["infoplane.log_spaced_evals=0"]
    proc = run_python(
        "train.py",
        "-m",
        "objective=simclr,vicreg",
        "optimizer.lr=0.001,0.003",
        *small,
        "torch_threads=1",
        f"hydra.sweep.dir={sweep}",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    run_script("compare_runs.py", str(sweep), monkeypatch=monkeypatch)
    table = read_csv(sweep / "compare.csv")
    assert [r["run"] for r in table] == ["0", "1", "2", "3"]
    assert list(table[0])[:4] == ["run", "status", "objective", "optimizer.lr"]  # only what differs, choices first
    assert {r["status"] for r in table} == {"finished"}
    assert [(r["objective"], float(r["optimizer.lr"])) for r in table] == [
        ("simclr", 0.001),
        ("simclr", 0.003),
        ("vicreg", 0.001),
        ("vicreg", 0.003),
    ]
    for row in table:
        run = sweep / row["run"]
        metrics = read_csv(run / "metrics.csv")
        assert float(row["linear_eval_top1"]) == last(metrics, "final/linear_eval_top1")
        assert float(row["knn_acc"]) == last(metrics, "val/knn_acc")
        plane = read_csv(run / "infoplane.csv")
        final_step = max(int(r["step"]) for r in plane)
        for r in plane:
            if int(r["step"]) != final_step:
                continue
            for q in ("I_XT", "I_TY") if r["layer"] != "views" else ("I_Z1Z2",):
                assert float(row[f"{q}/{r['layer']}"]) == float(r[q])
        assert float(row["wall_time_s"]) == json.loads((run / "summary.json").read_text())["wall_time_s"]
    assert (sweep / "compare.md").read_text().count("\n") == 6 and (sweep / "compare.png").stat().st_size > 10_000

    out = tmp_path / "plane.png"
    run_script("plot_infoplane.py", str(sweep / "0"), str(sweep / "1"), "--out", str(out), monkeypatch=monkeypatch)
    assert "(2 runs: lr=0.001; lr=0.003)" in capsys.readouterr().out and out.is_file()
    run_script(
        "plot_infoplane.py",
        str(sweep / "0"),
        str(sweep / "3"),
        "--label-keys",
        "optimizer.lr",
        "--out",
        str(out),
        monkeypatch=monkeypatch,
    )
    assert "(2 runs: lr=0.001; lr=0.003)" in capsys.readouterr().out


def record(name: str, config: dict, choices: dict, steps: int = 3) -> RunRecord:
    trajectory = [
        {"step": s, "layer": "backbone", "I_XT": 1.0 + s, "I_TY": 0.1 * s, "log_n": 5.0, "H_Y": 2.3}
        for s in range(steps)
    ]
    return RunRecord(Path(f"/runs/{name}"), config, choices, {}, trajectory)


def test_differing_columns_leave_out_what_a_choice_or_a_path_explains():
    runs = [
        record(
            "0",
            {
                "seed": 0,
                "infoplane.seed": 0,
                "objective.temperature": 0.1,
                "optimizer.lr": 1e-3,
                "callbacks.ckpt.dirpath": "/runs/0/checkpoints",
            },
            {"objective": "simclr"},
        ),
        record(
            "1",
            {
                "seed": 1,
                "infoplane.seed": 1,
                "objective.sim_coeff": 25.0,
                "optimizer.lr": 1e-3,
                "callbacks.ckpt.dirpath": "/runs/1/checkpoints",
            },
            {"objective": "vicreg"},
        ),
    ]
    assert differing_columns(runs) == {"objective": ["simclr", "vicreg"], "seed": [0, 1]}
    assert run_labels(runs) == ["simclr seed=0", "vicreg seed=1"]
    assert run_labels(runs, ["optimizer.lr"]) == ["lr=0.001 (0)", "lr=0.001 (1)"]  # still ambiguous: dir added


def test_each_run_gets_its_own_colour_and_legend_entry():
    runs = [record(str(i), {"optimizer.lr": lr}, {}) for i, lr in enumerate([1e-3, 3e-3, 1e-2])]
    labels = run_labels(runs)
    fig = plot_runs(runs, labels)
    lines = [ln for ln in fig.axes[0].get_lines() if ln.get_label().split("\n")[0] in labels]
    assert [ln.get_label().split("\n")[0] for ln in lines] == ["lr=0.001", "lr=0.003", "lr=0.01"]
    assert len({to_hex(ln.get_color()) for ln in lines}) == 3
    assert [t.get_text() for t in fig.legends[0].get_texts()] == [f"{label}\n(trained)" for label in labels]


def test_the_legend_names_how_each_plane_was_made_estimator_and_probe_size():
    runs = [
        record("trained", {"measure.checkpoints": ("/r/checkpoints/last.ckpt",)}, {}),
        record("random", {"measure.checkpoints": ()}, {}),
    ]
    for run, source in zip(runs, ("measure", "train")):
        for row in run.trajectory:
            row.update(source=source, estimator="pca_ksg+classifier", n_probe=4096)
    runs[1].trajectory[0]["estimator"] = "pca_ksg"  # a views row names one estimator
    labels = run_labels(runs)
    assert labels == ["checkpoints=last", "random weights"]
    texts = [t.get_text() for t in plot_runs(runs, labels).legends[0].get_texts()]
    assert texts == [
        "checkpoints=last\n(measured: pca_ksg+classifier, N=4096)",
        "random weights\n(trained: pca_ksg+classifier, N=4096)",
    ]


def test_runs_of_two_sweeps_keep_distinct_names():
    runs = [record("0", {}, {}), record("0", {}, {})]
    runs[0].path, runs[1].path = Path("/sweeps/a/0"), Path("/sweeps/b/0")
    assert run_names(runs) == ["a/0", "b/0"]
    assert run_names([record("0", {}, {}), record("1", {}, {})]) == ["0", "1"]


def test_a_value_that_repeats_a_groups_choice_is_not_a_column():
    runs = [
        record("0", {"infoplane.objective_name": "simclr", "seed": 0}, {"objective": "simclr"}),
        record("1", {"infoplane.objective_name": "vicreg", "seed": 0}, {"objective": "vicreg"}),
    ]
    assert differing_columns(runs) == {"objective": ["simclr", "vicreg"]}


def test_hollow_means_saturated_in_the_overlay_too():
    run = record("0", {}, {}, steps=4)
    run.trajectory[2]["saturated_TY"] = True  # the third evaluation reached H(Y)
    fig = plot_runs([run], ["run 0"])
    lines = {ln.get_gid(): ln for ln in fig.axes[0].get_lines() if ln.get_gid()}
    assert list(lines["saturated"].get_xdata()) == [3.0] and lines["saturated"].get_markerfacecolor() == "none"
    assert list(lines["measured"].get_xdata()) == [1.0, 2.0, 4.0] and lines["measured"].get_markerfacecolor() != "none"
    assert lines["first"].get_marker() == "s" and lines["first"].get_markerfacecolor() != "none"
    assert "hollow: saturated" in fig.legends[0].get_title().get_text()
