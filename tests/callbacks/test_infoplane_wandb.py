"""The information-plane trajectory read back from the offline W&B run file."""

from __future__ import annotations

import json
import math

import pytest

from ssl_it.callbacks.infoplane.sinks import WANDB_COLUMNS
from ssl_it.run.trajectory import read_trajectory
from ssl_it.train import train
from tests.wandb_files import offline_run_files, read_offline_run

SUFFIX = {"I_XT": "XT", "I_TY": "TY", "I_Z1Z2": "Z1Z2"}


def _table(run_file, entry: dict) -> dict:
    return json.loads((run_file.parent / "files" / entry["path"]).read_text())


def test_trajectory_rows_in_wandb_match_infoplane_csv(make_cfg, tmp_path, monkeypatch):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    train(
        make_cfg(
            "logger=wandb",
            "logger.project=test",
            "infoplane.log_spaced_evals=2",
            "callbacks.linear_eval=null",
            "estimator=calibrated",
            "estimator@estimator.I_TY=gaussian",
            "infoplane.wandb_chart_preset=me/ssl-it-infoplane",
        )
    )
    run_dir = tmp_path / "run"
    run_file = offline_run_files(run_dir)[0]
    run = read_offline_run(run_file)
    csv_rows = read_trajectory(run_dir / "infoplane.csv")
    evaluations = sorted({int(r["step"]) for r in csv_rows})

    increments = [h["infoplane/rows"] for h in run["history"] if "infoplane/rows" in h]
    assert [i["_type"] for i in increments] == ["incremental-table-file"] * len(evaluations)
    assert [i["increment_num"] for i in increments] == list(range(len(evaluations)))
    tables = [_table(run_file, i) for i in increments]
    assert all(t["columns"] == WANDB_COLUMNS for t in tables)
    # each increment holds only its own evaluation's rows
    assert [sorted({r[3] for r in t["data"]}) for t in tables] == [[s] for s in evaluations]
    logged = [dict(zip(WANDB_COLUMNS, r)) for t in tables for r in t["data"]]

    expected = [(r, q) for r in csv_rows for q in SUFFIX if r.get(q) is not None]
    assert len(logged) == len(expected)
    by_key = {(w["step"], w["layer"], w["quantity"]): w for w in logged}
    run_id = (run_dir / "wandb_run_id.txt").read_text().strip()
    for r, q in expected:
        w = by_key[(int(r["step"]), r["layer"], q)]
        s = SUFFIX[q]
        assert w["value"] == pytest.approx(r[q], rel=1e-9)
        assert w["ceiling"] == pytest.approx(r[f"ceiling_{s}"], rel=1e-9)
        assert w["saturated"] is r[f"saturated_{s}"]
        assert (w["estimator"], w["bound"]) == (r[f"estimator_{s}"], r[f"bound_{s}"])
        assert w["epoch"] == pytest.approx(r["epoch"]) and w["n_probe"] == r["n_probe"]
        assert w["run_id"] == run_id and w["run_name"] and w["objective"] == "vicreg"
        assert r[f"{q}_lo"] is not None  # every value has its band, logged beside it
        assert (w["lo"], w["hi"]) == (pytest.approx(r[f"{q}_lo"], rel=1e-9), pytest.approx(r[f"{q}_hi"], rel=1e-9))
    assert {w["estimator"] for w in logged if w["quantity"] == "I_TY"} == {"gaussian"}
    assert all(not math.isnan(w["value"]) for w in logged)
    # the scalars carry the band and the reduction's kept share beside each value
    scalars = [h for h in run["history"] if "infoplane/backbone/I_XT" in h]
    assert len(scalars) == len(evaluations)
    assert all(h["infoplane/backbone/I_XT_lo"] <= h["infoplane/backbone/I_XT_hi"] for h in scalars)
    assert all(0.0 <= h["infoplane/backbone/kept_share_XT"] <= 1.0 for h in scalars)
    assert all(h["infoplane/backbone/I_XT_hi"] <= h["infoplane/backbone/I_XT_level_hi"] for h in scalars)
    assert all("infoplane/backbone/I_TY_level_hi" not in h for h in scalars)  # a lower bound's is its ceiling

    # the whole trajectory once more at the end, for custom charts and cross-run queries
    final = [h["infoplane/trajectory"] for h in run["history"] if "infoplane/trajectory" in h]
    assert len(final) == 1 and final[0]["_type"] == "table-file"
    assert [dict(zip(WANDB_COLUMNS, r)) for r in _table(run_file, final[0])["data"]] == logged
    assert run["summary"]["infoplane/trajectory"]["nrows"] == len(logged)
    # the run-end chart names the custom-chart preset and reads the long rows
    chart = run["config"]["_wandb"]["visualize"]["infoplane/chart"]
    assert chart["panel_config"]["panelDefId"] == "me/ssl-it-infoplane"
    assert chart["panel_config"]["fieldSettings"]["layer"] == "layer"
    figures = [h for h in run["history"] if "infoplane/figure" in h]
    every = 4  # infoplane.figure_every: the first, every 4th and the last evaluation (at it, or at the run's end)
    assert len(figures) == len({i for i in range(len(evaluations)) if i % every == 0} | {len(evaluations) - 1})
    # two tables per evaluation used to be logged (whole trajectory + chart); now one increment each, plus the end
    table_files = list((run_file.parent / "files" / "media" / "table").rglob("*.table.json"))
    assert len(table_files) == len(evaluations) + 1  # increments + the final trajectory (the chart reuses it)


def test_wandb_rows_name_the_objective_as_the_config_and_tags_do(make_cfg):
    from hydra.utils import instantiate

    from ssl_it.build import build_estimator
    from ssl_it.run.names import run_identity

    cfg = make_cfg("objective=barlow_twins", "logger=wandb")
    fallback = run_identity(cfg).tags  # no Hydra here: no run.choices, the tags fall back to the class
    plane = instantiate(cfg.infoplane, estimator=build_estimator(cfg.estimator))
    module = type("Module", (), {"objective": instantiate(cfg.objective)(in_dim=8)})()
    assert "objective:barlowtwins" in fallback and plane._objective_name(module) == "barlowtwins"

    cfg.run.choices = {"objective": "barlow_twins"}  # what train.py records from Hydra's choices
    plane = instantiate(cfg.infoplane, estimator=build_estimator(cfg.estimator))
    assert "objective:barlow_twins" in run_identity(cfg).tags and plane._objective_name(module) == "barlow_twins"
