"""scripts/compare_objectives.py end to end on tiny runs: the table holds every
requested objective with its accuracies, the overrides it ran with, and the
random-init baseline."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FAST, FAST_DATA

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_two_objectives_and_random_init(tmp_path):
    # the script sets the logger, the epochs and infoplane=none itself
    extra = [o for o in FAST_DATA + FAST if not o.startswith(("logger=", "trainer.max_epochs", "infoplane."))]
    out = tmp_path / "table.md"
    cmd = [
        sys.executable,
        "scripts/compare_objectives.py",
        "--objectives",
        "supervised,dino",
        "--epochs",
        "1",
        "--outdir",
        str(tmp_path / "runs"),
        "--out",
        str(out),
        "--extra",
        *extra,
    ]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = json.loads(out.with_suffix(".json").read_text())
    assert [r["objective"] for r in rows] == ["supervised", "dino", "random init (no training)"]
    for r in rows:
        assert r["returncode"] == 0 and 0.0 <= r["linear_top1"] <= r["linear_top5"] <= 1.0, r
    assert rows[1]["overrides"] == "optimizer.weight_decay=0.04 optimizer.lr=5e-4"
    text = out.read_text()
    assert "| dino | optimizer.weight_decay=0.04 optimizer.lr=5e-4 |" in text and "random init" in text
