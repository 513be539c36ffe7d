"""A sweep job that fails is recorded, and the sweep goes on.

Every job of a multirun appends one JSON line to ``<sweep dir>/sweep_summary.jsonl``
(``job``, ``status`` ``ok``/``failed``, ``value``, ``overrides``, ``run_dir``,
``message``); a failed job also writes ``FAILED`` (the message, and the
traceback of an unexpected error) into its own directory. Lines are
appended with one ``write`` on a file opened ``O_APPEND``, so jobs running in
parallel do not interleave. At the end of the sweep :func:`report` tells how
many jobs failed, and the command exits non-zero if any did.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SUMMARY_FILE = "sweep_summary.jsonl"
FAILED_FILE = "FAILED"


class JobFailed(RuntimeError):
    """Raised to an optimising sweeper (Optuna) so that it records the trial as failed."""


@dataclass
class SweepJob:
    """One job of a multirun: its number, overrides and directories."""

    num: int
    sweep_dir: Path
    job_dir: Path
    overrides: list[str] = field(default_factory=list)

    def record(
        self, status: str, value: float | tuple[float, ...] | None = None, message: str = "", details: str = ""
    ) -> None:
        """Append this job's line to the sweep summary (and write ``FAILED`` when it failed)."""
        if status == "failed":
            self.job_dir.mkdir(parents=True, exist_ok=True)
            (self.job_dir / FAILED_FILE).write_text(message.rstrip() + "\n" + (f"\n{details}" if details else ""))
        finite = value is not None and all(math.isfinite(v) for v in (value if isinstance(value, tuple) else (value,)))
        line = {
            "job": self.num,
            "status": status,
            "value": value if finite else None,
            "overrides": self.overrides,
            "run_dir": str(self.job_dir),
            "message": message,
        }
        self.sweep_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.sweep_dir / SUMMARY_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, (json.dumps(line) + "\n").encode())
        finally:
            os.close(fd)


def read_sweep_summary(sweep_dir: Path) -> list[dict[str, Any]]:
    """One dict per finished job of the sweep, from its ``sweep_summary.jsonl`` (empty when there is none)."""
    path = sweep_dir / SUMMARY_FILE
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def report(sweep_dir: Path) -> tuple[str, bool]:
    """``(text, any_failed)``: one line for the sweep and one per failed job."""
    rows = read_sweep_summary(sweep_dir)
    failed = [r for r in rows if r["status"] == "failed"]
    lines = [f"ssl_it: sweep finished: {len(rows)} job(s), {len(failed)} failed  ({sweep_dir / SUMMARY_FILE})"]
    for r in sorted(failed, key=lambda r: r["job"]):
        lines.append(f"  job {r['job']} ({' '.join(r['overrides'])}) FAILED: {r['message']}")
    return "\n".join(lines), bool(failed)
