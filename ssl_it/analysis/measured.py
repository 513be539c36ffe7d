"""One trajectory from a measure multirun: the rows of every job that measured, in step order.

``ssl-it-measure -m checkpoint=a,b,c,d`` measures one checkpoint per job,
each into its own job folder (``<sweep dir>/<job>/infoplane.csv``).
:func:`merge_sweep` joins the rows of the jobs that finished (as
``sweep_summary.jsonl`` records them) into ``<sweep dir>/infoplane.csv``, in
step order, draws ``<sweep dir>/infoplane.png``, and writes
``<sweep dir>/config.yaml``: the first job's configuration with every
measured checkpoint, so that ``scripts/compare_runs.py`` and
``scripts/plot_infoplane.py`` read the sweep folder as one measured model.
A failed job (a checkpoint that does not load) is named and left out; the
others are kept.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

from omegaconf import OmegaConf

from ssl_it.analysis.compare import plane_provenance
from ssl_it.analysis.plotting import plot_information_plane, save_figure
from ssl_it.run.sweep_failures import read_sweep_summary
from ssl_it.run.trajectory import DEFAULT_SOURCE, TrajectoryFile, read_trajectory

TRAJECTORY = "infoplane.csv"


@dataclass
class Merged:
    """What :func:`merge_sweep` joined."""

    jobs: list[Path] = field(default_factory=list)  # the job folders whose rows were merged
    failed: list[str] = field(default_factory=list)  # one line per job left out
    rows: int = 0

    def report(self, sweep_dir: Path) -> str:
        """One line per job of the measure sweep, failed ones named."""
        lines = [f"ssl_it: merged {self.rows} rows of {len(self.jobs)} job(s) into {sweep_dir / TRAJECTORY}"]
        lines += [f"  left out: {line}" for line in self.failed]
        return "\n".join(lines)


def _raw_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        row["source"] = row.get("source") or DEFAULT_SOURCE
    return rows


def _job_folders(sweep_dir: Path) -> tuple[list[Path], list[str]]:
    """Folders of the jobs that finished, and a line per job that did not (from the sweep summary;
    without one, every sub-folder holding a trajectory)."""
    summary = read_sweep_summary(sweep_dir)
    if not summary:
        return sorted(p.parent for p in sweep_dir.glob(f"*/{TRAJECTORY}")), []
    ok = [Path(r["run_dir"]) for r in sorted(summary, key=lambda r: r["job"]) if r["status"] == "ok"]
    failed = [f"job {r['job']} ({' '.join(r['overrides'])}): {r['message']}" for r in summary if r["status"] != "ok"]
    return ok, failed


def merge_sweep(sweep_dir: Path) -> Merged:
    """Write the merged ``infoplane.csv``, ``infoplane.png`` and ``config.yaml`` into ``sweep_dir``."""
    sweep_dir = Path(sweep_dir)
    jobs, failed = _job_folders(sweep_dir)
    merged = Merged(failed=failed)
    rows: list[dict[str, str]] = []
    for job in jobs:
        if not (job / TRAJECTORY).is_file():
            merged.failed.append(f"{job}: no {TRAJECTORY}")
            continue
        rows += _raw_rows(job / TRAJECTORY)
        merged.jobs.append(job)
    if not rows:
        return merged
    rows.sort(key=lambda r: float(r["step"]))  # stable: each step keeps its layer order
    out = sweep_dir / TRAJECTORY
    out.unlink(missing_ok=True)
    TrajectoryFile(out).append(rows)
    merged.rows = len(rows)
    parsed = read_trajectory(out)
    title = f"Information plane ({plane_provenance(parsed)})"
    save_figure(plot_information_plane([("", parsed)], title=title), sweep_dir / "infoplane.png")
    _write_config(sweep_dir, merged.jobs)
    summary = {"status": "finished", "merged_jobs": len(merged.jobs), "left_out": merged.failed}
    (sweep_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return merged


def _write_config(sweep_dir: Path, jobs: list[Path]) -> None:
    """The first job's config, naming every merged job's checkpoints."""
    first = jobs[0] / "config.yaml"
    if not first.is_file():
        return
    config = OmegaConf.load(first)
    checkpoints: list[str] = []
    for job in jobs:
        if (job / "config.yaml").is_file():
            checkpoints += list(OmegaConf.select(OmegaConf.load(job / "config.yaml"), "measure.checkpoints") or [])
    OmegaConf.update(config, "measure.checkpoints", checkpoints, force_add=True)
    OmegaConf.update(config, "measure.merged_jobs", [str(j) for j in jobs], force_add=True)
    OmegaConf.save(config, sweep_dir / "config.yaml")
