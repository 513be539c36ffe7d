"""Optuna sweeps (ssl_it's own sweeper on current Optuna) that run end to end,
survive a kill and refuse a damaged study file; launchers that run jobs in
parallel or on SLURM; the multi-objective sweep's configuration."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from ssl_it.train import CONFIG_DIR
from tests.conftest import FAST, FAST_DATA

ROOT = Path(__file__).resolve().parents[1]
optuna = pytest.importorskip("optuna")
# one tiny job: no W&B, no information plane, no linear evaluation
TINY = [
    *FAST_DATA,
    *[o for o in FAST if not o.startswith("infoplane.")],
    "infoplane=none",
    "callbacks.linear_eval=null",
    "torch_threads=1",
]


def sweep_command(sweep_dir: Path, *overrides: str) -> list[str]:
    return [sys.executable, "train.py", *overrides, *TINY, f"hydra.sweep.dir={sweep_dir}"]


def env() -> dict[str, str]:
    return {**os.environ, "WANDB_MODE": "offline", "PYTHONPATH": str(ROOT)}


def hydra_cfg(*overrides: str):  # noqa: ANN201
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose("train", overrides=list(overrides), return_hydra_config=True)


@pytest.mark.slow
def test_optuna_sweep_runs_a_two_trial_study(tmp_path):
    """Two trials end to end: each job directory holds its trial, the study
    holds what train() returned, the results file names the best trial, and
    Optuna warns of nothing experimental."""
    sweep = tmp_path / "sweep"
    proc = subprocess.run(
        sweep_command(sweep, "hparams_search=optuna", "hydra.sweeper.n_trials=2"),
        cwd=ROOT,
        env=env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "ExperimentalWarning" not in proc.stderr
    study = optuna.load_study(study_name="ssl_it", storage=f"sqlite:///{sweep / 'optuna.db'}")
    assert [t.state.name for t in study.trials] == ["COMPLETE", "COMPLETE"]
    for trial in study.trials:
        job = sweep / str(trial.number)
        assert trial.value == pytest.approx(json.loads((job / "summary.json").read_text())["final/val_probe_acc"])
        saved = OmegaConf.load(job / "config.yaml")
        assert (saved.optimizer.lr, saved.optimizer.weight_decay) == (
            trial.params["optimizer.lr"],
            trial.params["optimizer.weight_decay"],
        )
        assert 1e-4 <= trial.params["optimizer.lr"] <= 1e-2 and trial.user_attrs["job_dir"] == str(job)
    results = OmegaConf.load(sweep / "optimization_results.yaml")
    assert results.best_trial == study.best_trial.number and results.best_value == pytest.approx(study.best_value)
    assert dict(results.best_params) == study.best_params
    swept = OmegaConf.load(sweep / "0" / "config.yaml").run.swept
    assert sorted(swept) == ["optimizer.lr", "optimizer.weight_decay"]


@pytest.mark.slow
def test_a_damaged_study_file_stops_the_sweep_with_one_line(tmp_path):
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    damaged = b"SQLite format 3\x00" + bytes(range(256)) * 8
    (sweep / "optuna.db").write_bytes(damaged)
    proc = subprocess.run(
        sweep_command(sweep, "hparams_search=optuna", "hydra.sweeper.n_trials=2"),
        cwd=ROOT,
        env=env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr[-3000:]
    assert lines[0].startswith(
        f"ssl_it: invalid configuration: hydra.sweeper.storage: cannot open the Optuna study in '{sweep / 'optuna.db'}'"
    )
    assert (sweep / "optuna.db").read_bytes() == damaged and not (sweep / "0").exists()


@pytest.mark.slow
def test_killed_optuna_sweep_resumes_with_its_trials(tmp_path):
    """A 3-trial sweep killed while its second trial runs, then run again with
    the same command: the finished trial is kept, the killed one is marked
    failed and its parameters tried again, job k is trial k, 3 trials finish."""
    sweep = tmp_path / "sweep"
    cmd = sweep_command(sweep, "hparams_search=optuna", "hydra.sweeper.n_trials=3")
    first = subprocess.Popen(
        cmd, cwd=ROOT, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    deadline = time.monotonic() + 300
    while not (sweep / "1").is_dir() and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)  # job 1 starts only once trial 0 is told to the study
    assert first.poll() is None, first.stderr.read()[-3000:]
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    storage = f"sqlite:///{sweep / 'optuna.db'}"
    before = optuna.load_study(study_name="ssl_it", storage=storage).trials
    assert [t.state.name for t in before] == ["COMPLETE", "RUNNING"]

    proc = subprocess.run(cmd, cwd=ROOT, env=env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "killed trial(s) [1] marked failed and queued again, 2 to run" in proc.stdout
    assert "ExperimentalWarning" not in proc.stderr
    trials = optuna.load_study(study_name="ssl_it", storage=storage).trials
    assert [t.state.name for t in trials] == ["COMPLETE", "FAIL", "COMPLETE", "COMPLETE"]
    assert trials[0].params == before[0].params and trials[0].value == before[0].value
    assert trials[2].params == before[1].params and trials[2].user_attrs["retry_of"] == 1  # the killed trial, again
    summary0 = json.loads((sweep / "0" / "summary.json").read_text())
    assert trials[0].value == pytest.approx(summary0["final/val_probe_acc"])
    for trial in (trials[0], trials[2], trials[3]):
        saved = OmegaConf.load(sweep / str(trial.number) / "config.yaml")
        assert saved.optimizer.lr == trial.params["optimizer.lr"]  # job directory k holds trial k


@pytest.mark.slow
def test_submitit_local_runs_a_multi_objective_sweep_in_parallel(tmp_path):
    """Two trials of the accuracy-vs-compression sweep start together in two
    processes; each returns (linear-eval top-1, backbone I(X;T)) to Optuna."""
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    sweep = tmp_path / "sweep"
    small = [o for o in TINY if o not in ("infoplane=none", "callbacks.linear_eval=null")]
    small.append("infoplane.measure_views=false")
    cmd = [
        sys.executable,
        "train.py",
        "hparams_search=optuna_pareto",
        "launcher=submitit_local",
        "hydra.sweeper.n_trials=2",
        "hydra.sweeper.n_jobs=2",
        *small,
        f"hydra.sweep.dir={sweep}",
    ]
    proc = subprocess.run(cmd, cwd=ROOT, env=env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    trials = optuna.load_study(study_name="ssl_it_pareto", storage=f"sqlite:///{sweep / 'optuna.db'}").trials
    assert [t.state.name for t in trials] == ["COMPLETE", "COMPLETE"]
    spans = []
    for trial in trials:
        run = sweep / str(trial.number)
        summary = json.loads((run / "summary.json").read_text())
        returned = [summary["final/linear_eval_top1"], summary["final/infoplane/backbone/I_XT"]]
        assert trial.values == pytest.approx(returned)
        spans.append(((run / "config.yaml").stat().st_mtime, (run / "summary.json").stat().st_mtime))
    (start_a, end_a), (start_b, end_b) = spans
    assert start_a < end_b and start_b < end_a  # the two jobs overlapped in time
    assert len([p for p in (sweep / ".submitit").iterdir() if p.name.isdigit()]) == 2  # two submitit jobs


def test_slurm_launcher_composes_with_its_documented_keys():
    cfg = hydra_cfg(
        "launcher=slurm",
        "trainer=ddp",
        "trainer.devices=4",
        "trainer.num_nodes=2",
        "hydra.launcher.partition=gpu",
        "hydra.launcher.timeout_min=90",
        "hydra.launcher.account=lab",
    )
    launcher = cfg.hydra.launcher
    assert launcher._target_.endswith("SlurmLauncher")
    assert (launcher.partition, launcher.timeout_min, launcher.account) == ("gpu", 90, "lab")
    assert (launcher.gpus_per_node, launcher.tasks_per_node, launcher.nodes) == (4, 4, 2)


def test_optuna_configs_store_the_study_in_the_sweep_dir():
    for option, directions in (("optuna", "maximize"), ("optuna_pareto", ["maximize", "minimize"])):
        cfg = hydra_cfg(f"hparams_search={option}", "hydra.sweep.dir=/tmp/some_sweep")
        sweeper = cfg.hydra.sweeper
        assert sweeper._target_ == "hydra_plugins.ssl_it_sweepers.optuna_sweeper.OptunaSweeper"
        assert sweeper.storage == "sqlite:////tmp/some_sweep/optuna.db" and sweeper.study_name
        assert sweeper.direction == directions
    pareto = hydra_cfg("hparams_search=optuna_pareto")
    assert list(pareto.optimized_metric) == ["final/linear_eval_top1", "final/infoplane/backbone/I_XT"]
    assert pareto.hydra.sweeper.sampler._target_ == "optuna.samplers.NSGAIISampler"
