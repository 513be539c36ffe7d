"""End-to-end: the real configs, trained for a few steps on synthetic data."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from ssl_it.run.config_checks import ConfigError
from ssl_it.train import train
from tests.conftest import CLI_TINY
from tests.helpers import SimulatedKill
from tests.wandb_files import offline_run_files, read_offline_run

ROOT = Path(__file__).resolve().parents[1]


def metrics(run_dir: Path) -> list[dict[str, str]]:
    with (run_dir / "metrics.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def step_losses(run_dir: Path) -> dict[int, float]:
    return {int(r["step"]): float(r["train/loss_step"]) for r in metrics(run_dir) if r.get("train/loss_step")}


def test_default_objective_trains_and_writes_run_files(make_cfg, tmp_path):
    acc = train(make_cfg())
    run = tmp_path / "run"
    assert 0.0 <= acc <= 1.0
    assert (run / "config.yaml").is_file() and (run / "checkpoints" / "last.ckpt").is_file()
    keys = set().union(*metrics(run))
    assert {"train/loss_step", "train/invariance_step", "val/probe_acc", "train/probe_acc"} <= keys
    rows = list(csv.DictReader((run / "infoplane.csv").open()))
    assert {r["layer"] for r in rows} == {"backbone", "projector", "views"}
    assert {int(r["step"]) for r in rows} == {0, 4}  # before training, after the epoch (96*0.75/16 = 4 steps)


def test_seed_repeats_bit_for_bit(make_cfg):
    train(make_cfg(run="a"))
    train(make_cfg(run="b"))
    a, b = step_losses(Path(make_cfg(run="a").paths.output_dir)), step_losses(Path(make_cfg(run="b").paths.output_dir))
    assert a and a == b


def test_kill_then_resume_gives_one_unbroken_run(make_cfg, tmp_path):
    """A run killed mid-epoch 2 and resumed equals a run that was never stopped:
    same per-step losses, same trajectory, nothing duplicated or missing."""
    train(make_cfg("trainer.max_epochs=3", run="straight"))
    kill = "+callbacks.kill={_target_: tests.helpers.KillAtStep, step: 10}"
    with pytest.raises(SimulatedKill):
        train(make_cfg("trainer.max_epochs=3", kill, run="split"))
    split = tmp_path / "split"
    ckpt = torch.load(split / "checkpoints" / "last.ckpt", weights_only=False)
    assert ckpt["epoch"] == 1 and ckpt["global_step"] == 8  # the last finished epoch
    assert max(step_losses(split)) >= 8  # rows logged after the checkpoint exist before resuming
    saved = OmegaConf.load(split / "config.yaml")
    del saved.callbacks["kill"]  # the kill is not part of the run
    OmegaConf.save(saved, split / "config.yaml")
    train(make_cfg("trainer.max_epochs=3", f"resume={split}", run="ignored"))
    straight, resumed = step_losses(tmp_path / "straight"), step_losses(split)
    assert sorted(resumed) == list(range(12))
    assert resumed == straight
    traj = lambda d: [(r["step"], r["layer"], r["I_XT"]) for r in csv.DictReader((d / "infoplane.csv").open())]  # noqa: E731
    # at the start, after epoch 2 (every 2nd) and after the last, 3: the kill at step 10 falls between two
    assert [s for s, layer, _ in traj(split) if layer == "backbone"] == ["0", "8", "12"]
    assert traj(split) == traj(tmp_path / "straight")


@pytest.mark.parametrize(
    "override, key",
    [
        ("optimizer.lr=-1", "optimizer.lr"),
        ("datamodule.batch_size=0", "datamodule.batch_size"),
        ("trainer.max_epochs=0", "trainer.max_epochs"),
        ("augmentation.scale=[0.5,1.5]", "augmentation.scale"),
        ("data=imagefolder data.train_dir=/nonexistent data.val_dir=/nonexistent", "data.train_dir"),
        ("backbone=vit_tiny backbone.patch_size=5", "patch_size"),
        ("data=cifar10 data.download=false data.root=/nonexistent", "data.download"),
        ("resume=/no/such/run", "resume"),
    ],
)
def test_bad_config_fails_before_training_naming_the_key(make_cfg, override, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        train(make_cfg(*override.split()))


def test_bad_config_exits_nonzero_with_one_clear_line(tmp_path):
    proc = subprocess.run(
        [sys.executable, "train.py", "optimizer.lr=-0.1", "logger=none", f"hydra.run.dir={tmp_path}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "invalid configuration: optimizer.lr=-0.1" in proc.stderr and "Traceback" not in proc.stderr


def test_unknown_option_is_rejected_at_composition(make_cfg):
    from hydra.errors import MissingConfigException

    with pytest.raises(MissingConfigException, match="objective"):
        make_cfg("objective=not_a_method")


def test_wandb_offline_run_holds_the_logged_metrics(make_cfg, tmp_path, monkeypatch):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    train(make_cfg("logger=wandb", "logger.project=test", "logger.group=g1"))
    files = offline_run_files(tmp_path / "run")
    assert len(files) == 1
    run = read_offline_run(files[0])
    logged = [r for r in run["history"] if "train/loss_step" in r]
    csv_losses = step_losses(tmp_path / "run")
    assert [r["train/loss_step"] for r in logged] == pytest.approx([csv_losses[s] for s in sorted(csv_losses)])
    assert any("infoplane/backbone/I_XT" in r for r in run["history"])
    table = [r for r in run["history"] if "infoplane/trajectory" in r]
    assert table and table[-1]["infoplane/trajectory"]["_type"] == "table-file"
    assert any("infoplane/figure" in r for r in run["history"])
    val_acc = [float(r["val/probe_acc"]) for r in metrics(tmp_path / "run") if r.get("val/probe_acc")]
    assert run["summary"]["final/val_probe_acc"] == pytest.approx(val_acc[-1])
    assert run["config"]["seed"] == 0 and run["config"]["objective/_target_"] == "ssl_it.objectives.VICReg"
    assert run["run_id"] == (tmp_path / "run" / "wandb_run_id.txt").read_text().strip()


@pytest.mark.slow
def test_multirun_gives_each_job_its_own_run_dir_and_wandb_run(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "train.py",
            "-m",
            "objective=simclr,vicreg",
            *CLI_TINY,
            "logger.group=sweep1",
            f"hydra.sweep.dir={tmp_path}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**__import__("os").environ, "WANDB_MODE": "offline"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    run_dirs = sorted(p.parent for p in tmp_path.glob("*/config.yaml"))
    assert len(run_dirs) == 2
    ids = {read_offline_run(offline_run_files(d)[0])["run_id"] for d in run_dirs}
    assert len(ids) == 2
    assert proc.stdout.count("final val linear-probe accuracy") == 2
