"""``train.py`` itself under DDP: two gloo processes, every default callback
(progress bar, checkpoints, kNN, diagnostics, information plane, linear
evaluation), W&B offline. A hang fails the test: the run is killed (its whole
process group) after ``TIMEOUT_S``."""

from __future__ import annotations

import csv
import os
import re
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT_S = 240  # the run takes ~40-70 s on 2 shared cores; a deadlock never ends


def run_train(args: list[str], cwd: Path, timeout: float = TIMEOUT_S) -> subprocess.CompletedProcess:
    """``python train.py *args`` in a new process group, killed whole on timeout."""
    env = {**os.environ, "WANDB_MODE": "offline", "WANDB_SILENT": "true", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "train.py"), *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        pytest.fail(f"train.py did not finish within {timeout} s (hang?); last output:\n{out[-3000:]}")
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, "")


@pytest.mark.slow
def test_two_gloo_processes_with_every_default_callback(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    result = run_train(
        [
            "trainer=ddp",
            "trainer.devices=2",
            "trainer.accelerator=cpu",
            "data=digits",
            "trainer.max_epochs=1",
            "+trainer.limit_train_batches=3",
            "+trainer.limit_val_batches=2",
            "datamodule.batch_size=32",
            "datamodule.num_workers=0",
            "datamodule.probe_size=64",
            "datamodule.eval_size=256",
            "infoplane.log_spaced_evals=1",
            f"hydra.run.dir={run_dir}",
            f"paths.outputs_root={tmp_path}",
        ],
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "sync_batchnorm=true needs CUDA; turned off" in result.stdout
    acc = re.search(r"final val linear-probe accuracy = ([0-9.]+)", result.stdout)
    assert acc is not None and 0.0 <= float(acc.group(1)) <= 1.0
    # one complete trajectory: every evaluated step has one row per layer, none twice
    with (run_dir / "infoplane.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    pairs = Counter((int(r["step"]), r["layer"]) for r in rows)
    steps = sorted({s for s, _ in pairs})
    assert max(pairs.values()) == 1
    assert set(pairs) == {(s, layer) for s in steps for layer in ("backbone", "projector", "views")}
    assert steps[0] == 0 and steps[-1] == 3 and len(steps) >= 3  # before training, log-spaced, epoch end
    assert len(list((run_dir / "wandb").glob("offline-run-*"))) == 1


def test_sync_batchnorm_is_switched_off_only_where_it_cannot_run():
    from omegaconf import OmegaConf

    from ssl_it.run.config_checks import trainer_overrides

    cpu = OmegaConf.create({"accelerator": "cpu", "sync_batchnorm": True})
    assert trainer_overrides(cpu) == {"sync_batchnorm": False}
    assert trainer_overrides(OmegaConf.create({"accelerator": "gpu", "sync_batchnorm": True})) == {}
    assert trainer_overrides(OmegaConf.create({"accelerator": "cpu", "sync_batchnorm": False})) == {}
