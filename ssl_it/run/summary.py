"""A run's final numbers: ``summary.json`` and the value returned to a sweeper.

``train()`` gathers the final metrics (``final/linear_eval_top1``,
``final/val_probe_acc``, ``final/knn_acc``, and the last information-plane
evaluation as ``final/infoplane/<layer>/<I_XT|I_TY|I_Z1Z2>``, read back from
``infoplane.csv``), writes them with the run's status, wall time and command
lines (every segment: run_segments.py) to ``summary.json`` in the run
directory, and returns what ``optimized_metric`` names:

- ``null``: the final linear-eval top-1 (the online probe's accuracy when
  linear evaluation is off), as before;
- one metric name: that number (a single-objective sweep);
- a list of names: a tuple in that order (a multi-objective Optuna sweep,
  ``direction: [maximize, minimize]``).
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from ssl_it import checks
from ssl_it.run import segments as run_segments
from ssl_it.run.sweep_failures import FAILED_FILE
from ssl_it.run.trajectory import final_metrics

SUMMARY_FILE = "summary.json"
_PLANE_METRIC = re.compile(r"final/infoplane/(.+)/(I_XT|I_TY|I_Z1Z2)")


def final_infoplane_metrics(run_dir: Path) -> dict[str, float]:
    """``final/infoplane/<layer>/<quantity>`` of the last evaluation (the
    largest step) in ``<run_dir>/infoplane.csv``; empty without the file."""
    return final_metrics(Path(run_dir) / "infoplane.csv")


def write_summary(run_dir: Path, metrics: Mapping[str, Any], wall_time_s: float, status: str = "finished") -> Path:
    """``<run_dir>/summary.json``: the final metrics (NaN written as null),
    the run's ``status`` (``finished``; ``preempted``: see preemption.py;
    ``failed``), and its segments (run_segments.py): ``wall_time_s``, the
    seconds of every segment that recorded its end (this one:
    ``wall_time_s`` given here), ``segments`` (command line, overrides,
    start, end, status and seconds of the first start and of each resume)
    and ``commands``. Written to a temporary file and renamed, so a kill
    never leaves half a summary."""
    run_segments.end(run_dir, status, wall_time_s)
    segments = [{k: v for k, v in s.items() if k != "pid"} for s in run_segments.read_segments(run_dir)]
    clean = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in metrics.items()}
    path = Path(run_dir) / SUMMARY_FILE
    tmp = path.with_name(f".{SUMMARY_FILE}.tmp")
    record = {
        **clean,
        "status": status,
        "wall_time_s": round(sum(s["wall_time_s"] for s in segments if s["wall_time_s"] is not None), 2),
        "segments": segments,
        "commands": [s["command"] for s in segments if s["command"] is not None],
    }
    tmp.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)
    return path


def run_status(run_dir: Path) -> str:
    """``finished``, ``preempted`` or ``failed`` as the latest segment recorded it; ``running`` or ``killed``
    when it recorded no end (run_segments.py). Runs older than segments.jsonl: the status in ``summary.json``,
    ``failed`` with a sweep job's ``FAILED`` file, else ``killed`` (no summary: the run never ended)."""
    status = run_segments.last_status(run_segments.read_segments(run_dir))
    if status is not None:
        return status
    summary = read_summary(run_dir)
    if summary:
        return str(summary.get("status", "finished"))
    return "failed" if (Path(run_dir) / FAILED_FILE).is_file() else "killed"


def finished(run_dir: Path) -> bool:
    """Whether ``summary.json`` records a run that ended (older summaries have no status: they were written only
    by finished runs)."""
    summary = read_summary(run_dir)
    return bool(summary) and summary.get("status", "finished") == "finished"


def read_summary(run_dir: Path) -> dict[str, Any]:
    """The run's ``summary.json`` as a dict (empty when there is none)."""
    path = Path(run_dir) / SUMMARY_FILE
    return json.loads(path.read_text()) if path.is_file() else {}


def _names(names: str | Sequence[str] | None) -> list[str]:
    if names is None:
        return []
    if isinstance(names, str):
        return [names]
    return [str(n) for n in names]


def check_optimized_metric(cfg: DictConfig) -> None:
    """Raise ``ValueError`` naming ``optimized_metric`` when a name cannot be
    among this run's final metrics (checked before training)."""
    names = _names(cfg.get("optimized_metric"))
    callbacks = cfg.get("callbacks") or {}
    fixed: set[str] = set()
    if callbacks.get("online_probe") is not None:
        fixed.add("final/val_probe_acc")
    if callbacks.get("linear_eval") is not None:
        fixed |= {"final/linear_eval_top1", "final/linear_eval_top5"}
    if callbacks.get("knn") is not None:
        fixed.add("final/knn_acc")
    plane = cfg.get("infoplane")
    layers: list[str] = []
    if plane is not None and "_target_" in plane:
        layers = list(plane.get("layers") or [])
        layers += ["views"] if plane.get("measure_views") else []
    for name in names:
        match = _PLANE_METRIC.fullmatch(name)
        if name in fixed or (match and match.group(1) in layers):
            continue
        allowed = sorted(fixed) + [f"final/infoplane/{layer}/<I_XT|I_TY|I_Z1Z2>" for layer in layers]
        checks.fail("optimized_metric", "a final metric of this run: " + ", ".join(allowed), name)


def returned_value(
    summary: Mapping[str, float], default: float, names: str | Sequence[str] | None
) -> float | tuple[float, ...]:
    """``default`` when ``names`` is null, else the named final metric(s)."""
    if names is None:
        return default
    missing = [n for n in _names(names) if n not in summary]
    if missing:
        raise ValueError(f"optimized_metric: {missing} not among this run's final metrics {sorted(summary)}")
    if isinstance(names, str):
        return float(summary[names])
    return tuple(float(summary[n]) for n in names)
