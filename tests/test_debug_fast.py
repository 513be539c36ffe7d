"""`python train.py debug=fast`: the default run's whole pipeline, in under a minute."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tests.conftest import run_python

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_debug_fast_trains_three_batches_without_the_slow_measurements(tmp_path):
    run = tmp_path / "run"
    proc = run_python("train.py", "debug=fast", f"hydra.run.dir={run}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    with (run / "metrics.csv").open(newline="") as f:
        steps = {int(r["step"]) for r in csv.DictReader(f) if r.get("train/loss_step")}
    assert steps == {0, 1, 2}  # 3 batches of the default data
    summary = json.loads((run / "summary.json").read_text())
    assert "final/val_probe_acc" in summary and "final/linear_eval_top1" not in summary
    assert not (run / "infoplane.csv").exists() and not (run / "wandb").exists()
