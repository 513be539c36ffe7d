"""ssl-it-measure on a tiny finished run: the trajectory rebuilt from its checkpoints matches the
callback's, a model named by config is measured from a weights file, bad inputs stop with one line
naming the key, and a -m over four checkpoints (one unreadable) on submitit_local merges the other three."""

from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from ssl_it.analysis.compare import load_run, plane_provenance
from ssl_it.analysis.measured import merge_sweep
from ssl_it.measure import prepare, run_measurement
from ssl_it.run.config_checks import ConfigError
from ssl_it.run.config_dir import CONFIG_DIR
from ssl_it.run.trajectory import COLUMNS, read_trajectory
from ssl_it.train import train
from tests.conftest import FAST, FAST_DATA, run_python

ROOT = Path(__file__).resolve().parents[1]
EVERY_STEP = (
    "+callbacks.trajectory={_target_: pytorch_lightning.callbacks.ModelCheckpoint, "
    "dirpath: '${paths.output_dir}/checkpoints/trajectory', filename: 'step_{step}', "
    "auto_insert_metric_name: false, every_n_train_steps: 1, save_top_k: -1}"
)
QUIET = [
    "callbacks.linear_eval=null",
    "callbacks.knn=null",
    "callbacks.diagnostics=null",
    "callbacks.embedding_view=null",
    "torch_threads=1",
]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One epoch of 4 steps on 96 synthetic samples, a checkpoint after every step, the plane at 0 and 4."""
    root = tmp_path_factory.mktemp("trained")
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(
            "train",
            overrides=[
                *FAST_DATA,
                *FAST,
                *QUIET,
                EVERY_STEP,
                f"paths.output_dir={root / 'run'}",
                f"paths.outputs_root={root}",
            ],
        )
    train(cfg)
    return root / "run"


def measure_cfg(out: Path, *overrides: str) -> DictConfig:
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose(
            "measure",
            overrides=[f"paths.output_dir={out}", f"paths.outputs_root={out.parent}", "torch_threads=1", *overrides],
        )


def measure(out: Path, *overrides: str) -> list[dict]:
    run_measurement(prepare(measure_cfg(out, *overrides), list(overrides)), list(overrides))
    return read_trajectory(out / "infoplane.csv")


def header(path: Path) -> list[str]:
    with path.open(newline="") as f:
        return next(csv.reader(f))


def test_measuring_a_finished_run_rebuilds_the_callbacks_trajectory(finished_run, tmp_path):
    logged = read_trajectory(finished_run / "infoplane.csv")
    rows = measure(tmp_path / "m", f"run={finished_run}")
    assert sorted({r["step"] for r in rows}) == [1, 2, 3, 4]  # trajectory/step_1..4; last and best are step 4 too
    assert {r["step"]: r["epoch"] for r in rows} == {1: 0.25, 2: 0.5, 3: 0.75, 4: 1.0}
    assert {r["source"] for r in rows} == {"measure"} and {r["source"] for r in logged} == {"train"}
    assert header(tmp_path / "m" / "infoplane.csv") == header(finished_run / "infoplane.csv") == COLUMNS
    final = {r["layer"]: r for r in logged if r["step"] == 4}
    again = {r["layer"]: r for r in rows if r["step"] == 4}
    assert set(again) == set(final) == {"backbone", "projector", "views"}
    compared = 0
    for layer, row in final.items():
        assert again[layer]["n_probe"] == row["n_probe"] == 20 and again[layer]["estimator"] == row["estimator"]
        for q in ("I_XT", "I_TY", "I_Z1Z2"):  # the same weights, probe set and estimator: within its own spread
            if row[q] is not None:
                assert abs(again[layer][q] - row[q]) <= max(row[f"{q}_sd"], 1e-9), (layer, q, again[layer][q], row[q])
                compared += 1
    assert compared >= 4
    assert (tmp_path / "m" / "infoplane.png").stat().st_size > 10_000
    measured = load_run(tmp_path / "m")
    assert measured.status == "finished" and measured.config["measure.run"] == str(finished_run.resolve())
    assert plane_provenance(measured.trajectory) == "measured: pca_ksg+classifier, N=20"  # 20 validation samples


def test_a_model_named_by_config_is_measured_from_its_weights_file(finished_run, tmp_path):
    state = torch.load(finished_run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    backbone = {k.removeprefix("backbone."): v for k, v in state["state_dict"].items() if k.startswith("backbone.")}
    torch.save(backbone, tmp_path / "backbone.pt")
    cheap = ["estimator=ksg", "infoplane.bands=false", "infoplane.layers=[backbone]", "infoplane.measure_views=false"]
    trained = measure(tmp_path / "w", *FAST_DATA, *cheap, f"weights={tmp_path / 'backbone.pt'}")
    random = measure(tmp_path / "r", *FAST_DATA, *cheap)
    from_run = measure(tmp_path / "m", f"run={finished_run}", "checkpoint=last.ckpt", *cheap)
    assert [(r["step"], r["layer"]) for r in trained + random + from_run] == [(0, "backbone")] * 2 + [(4, "backbone")]
    assert trained[0]["I_XT"] == pytest.approx(from_run[0]["I_XT"], abs=1e-9)  # the same backbone, data and estimator
    assert trained[0]["I_XT"] != random[0]["I_XT"]


@pytest.mark.parametrize(
    "overrides, key",
    [
        (["run=/no/such/folder"], r"run=/no/such/folder: no such folder"),
        (["checkpoint=nothing.ckpt"], r"checkpoint=nothing\.ckpt: no such checkpoint file"),
        (
            ["infoplane.layers=[backbone.nope]"],
            r"infoplane\.layers: must be an alias \(backbone, projector\) or a submodule of the model; "
            r"the backbone's tap points: .*; got 'backbone\.nope'$",
        ),
        (["backbone=mlp", "RUN"], r"backbone=mlp: with run= or checkpoint= the model is the run's own"),
    ],
)
def test_bad_inputs_stop_before_any_work_naming_the_key(finished_run, tmp_path, overrides, key):
    overrides = [f"run={finished_run}" if o == "RUN" else o for o in overrides]
    with pytest.raises(ConfigError, match=key):
        prepare(measure_cfg(tmp_path / "m", *overrides), overrides)
    assert not (tmp_path / "m").exists()


@pytest.mark.slow
def test_a_run_folder_without_checkpoints_exits_2_with_one_line(finished_run, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "config.yaml").write_text((finished_run / "config.yaml").read_text())
    proc = subprocess.run(
        [sys.executable, "measure.py", f"run={empty}", f"hydra.run.dir={tmp_path / 'm'}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith(f"ssl_it: invalid configuration: run={empty}: no checkpoint")
    assert not (tmp_path / "m").exists()


@pytest.mark.slow
def test_multirun_over_four_checkpoints_merges_three_and_reports_the_unreadable_one(finished_run, tmp_path):
    broken = tmp_path / "step_3_truncated.ckpt"
    broken.write_bytes((finished_run / "checkpoints" / "trajectory" / "step_3.ckpt").read_bytes()[:4096])
    ckpts = [finished_run / "checkpoints" / "trajectory" / f"step_{s}.ckpt" for s in (1, 2)] + [
        broken,
        finished_run / "checkpoints" / "last.ckpt",
    ]
    sweep = tmp_path / "sweep"
    proc = run_python(
        "measure.py",
        "-m",
        f"run={finished_run}",
        f"checkpoint={','.join(map(str, ckpts))}",
        "launcher=submitit_local",
        "estimator=gaussian",
        "infoplane.bands=false",
        "infoplane.layers=[backbone]",
        "infoplane.measure_views=false",
        "torch_threads=1",
        f"hydra.sweep.dir={sweep}",
    )
    assert proc.returncode == 1, proc.stderr[-3000:]  # a job failed: reported, and the sweep exits 1
    assert (
        "sweep finished: 4 job(s), 1 failed" in proc.stderr and f"checkpoint '{broken}' cannot be read" in proc.stderr
    )
    assert "merged 3 rows of 3 job(s)" in proc.stdout
    merged = read_trajectory(sweep / "infoplane.csv")
    assert [(r["step"], r["layer"]) for r in merged] == [(1, "backbone"), (2, "backbone"), (4, "backbone")]
    jobs = [json.loads(line) for line in (sweep / "sweep_summary.jsonl").read_text().splitlines()]
    assert sorted(j["status"] for j in jobs) == ["failed", "ok", "ok", "ok"]
    assert (sweep / "infoplane.png").is_file() and len(load_run(sweep).trajectory) == 3
    (sweep / "infoplane.csv").unlink()
    assert merge_sweep(sweep).rows == 3 and read_trajectory(sweep / "infoplane.csv") == merged  # merge=<sweep dir>


def test_an_older_trajectory_without_the_source_column_reads_as_trained_and_keeps_its_header(tmp_path):
    from ssl_it.run.trajectory import TrajectoryFile

    old = tmp_path / "infoplane.csv"
    old.write_text("step,epoch,layer,I_XT,I_TY\n0,0.0,backbone,1.5,0.5\n")
    TrajectoryFile(old).append(
        [{"step": 3, "epoch": 1.0, "layer": "backbone", "I_XT": 1.0, "I_TY": 0.7, "source": "train"}]
    )
    assert header(old) == ["step", "epoch", "layer", "I_XT", "I_TY"]
    assert [(r["step"], r["source"]) for r in read_trajectory(old)] == [(0, "train"), (3, "train")]


def test_a_timm_model_without_a_checkpoint_is_measured_and_its_plane_drawn(tmp_path):
    cheap = ["estimator=ksg", "infoplane.bands=false", "infoplane.measure_views=false"]
    rows = measure(
        tmp_path / "timm",
        *FAST_DATA,
        *cheap,
        "backbone=timm",
        "backbone.name=resnet18",
        "infoplane.layers=[backbone,backbone.model.layer2]",
    )
    assert [(r["step"], r["layer"], r["source"]) for r in rows] == [
        (0, "backbone", "measure"),
        (0, "backbone.model.layer2", "measure"),
    ]
    assert all(math.isfinite(r["I_XT"]) for r in rows)
    assert (tmp_path / "timm" / "infoplane.png").stat().st_size > 0
