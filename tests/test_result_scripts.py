"""The result scripts read run folders without importing torch or Lightning, and say how each run ended.

The run folders are written here the way a run writes them (the composed
config, ``infoplane.csv``, ``metrics.csv``, ``segments.jsonl`` and
``summary.json`` through the package's own writers), so the scripts read
real formats without a training run.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

from omegaconf import OmegaConf

from ssl_it.run import segments as run_segments
from ssl_it.run.summary import write_summary
from ssl_it.run.trajectory import TrajectoryFile

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "lightning", "pytorch_lightning", "lightning_fabric", "hydra")


def write_run(run_dir: Path, cfg, shift: float, status: str | None) -> None:
    """A run folder; ``status`` None: a run killed outright (a start line, no end, no summary)."""
    run_dir.mkdir(parents=True)
    cfg = cfg.copy()
    cfg.paths.output_dir = str(run_dir)
    OmegaConf.save(cfg, run_dir / "config.yaml", resolve=True)
    rows = [
        {
            "step": step,
            "epoch": step / 10,
            "layer": layer,
            "I_XT": 1.0 + shift + step / 10,
            "I_TY": 0.5 + step / 20,
            "log_n": 3.4,
            "H_Y": 2.3,
            "saturated_XT": step == 10 and layer == "projector",
        }
        for step in (0, 5, 10)
        for layer in ("backbone", "projector")
    ]
    TrajectoryFile(run_dir / "infoplane.csv").append(rows)
    with (run_dir / "metrics.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerows([["step", "val/knn_acc", "final/linear_eval_top1"], [10, 0.5 + shift, 0.6 + shift]])
    run_segments.begin(run_dir, ["seed=0"], argv=["train.py", "seed=0"])
    if status is None:
        with (run_dir / run_segments.SEGMENTS_FILE).open() as f:
            start = json.loads(f.readline())
        start["pid"] = _dead_pid()
        (run_dir / run_segments.SEGMENTS_FILE).write_text(json.dumps(start) + "\n")
    else:
        write_summary(run_dir, {"final/linear_eval_top1": 0.6 + shift}, wall_time_s=5.0 + shift, status=status)


def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(proc.stdout)


def run_scripts(*commands: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """Run each script as ``__main__`` in ONE fresh interpreter; after each, print the heavy modules it imported."""
    lines = ["import runpy, sys"]
    for argv in commands:
        lines += [
            f"sys.argv = {argv!r}",
            f"runpy.run_path({str(ROOT / 'scripts' / argv[0])!r}, run_name='__main__')",
            f"print('imported:', {argv[0]!r}, sorted(m for m in {HEAVY!r} if m in sys.modules))",
        ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", "\n".join(lines)], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_result_scripts_import_neither_torch_nor_lightning_and_show_each_runs_status(make_cfg, tmp_path):
    sweep = tmp_path / "sweep"
    statuses = ["finished", "finished", "preempted", None]
    for i, (status, epochs) in enumerate(zip(statuses, [1, 2, 1, 1])):
        write_run(sweep / str(i), make_cfg("logger=csv", f"seed={i}", f"trainer.max_epochs={epochs}"), i / 10, status)
    proc = run_scripts(
        ["compare_runs.py", str(sweep)],
        ["plot_infoplane.py", str(sweep / "0"), str(sweep / "1"), "--out", str(tmp_path / "plane.png")],
        ["plot_seed_bands.py", str(sweep), "--group", "objective", "--out", str(tmp_path / "bands")],
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    imported = [line for line in proc.stdout.splitlines() if line.startswith("imported:")]
    assert imported == [f"imported: {s} []" for s in ("compare_runs.py", "plot_infoplane.py", "plot_seed_bands.py")]

    with (sweep / "compare.csv").open(newline="") as f:
        table = list(csv.DictReader(f))
    assert [(r["run"], r["status"]) for r in table] == [
        ("0", "finished"),
        ("1", "finished"),
        ("2", "preempted"),
        ("3", "killed"),
    ]
    assert [r["wall_time_s"] for r in table] == ["5.0", "5.1", "5.2", ""]
    assert list(table[0])[:4] == ["run", "status", "seed", "trainer.max_epochs"]

    # seeds 0, 2, 3 ran 1 epoch, seed 1 ran 2: two configurations, and the script says so
    note = (
        "objective=vicreg: the runs differ in trainer.max_epochs (1, 2), not only in the seed; "
        "not merged: shown as 2 separate configurations"
    )
    assert f"plot_seed_bands: {note}" in proc.stderr
    bands = (tmp_path / "bands.md").read_text()
    assert f"Note: {note}" in bands
    assert "| vicreg [trainer.max_epochs=1] | 3 |" in bands and "| vicreg [trainer.max_epochs=2] | 1 |" in bands
    assert (tmp_path / "plane.png").stat().st_size > 5000 and (tmp_path / "bands.png").stat().st_size > 5000
