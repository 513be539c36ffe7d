"""The append-only information-plane trajectory file (``infoplane.csv``).

One row per layer per evaluation, flushed and fsync'ed after every
evaluation, so a killed run keeps every finished point. On resume the file is
cut back to the rows the checkpoint knew about, so the trajectory continues
with no duplicated and no missing evaluations.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

COLUMNS = [
    "step", "epoch", "layer", "estimator", "bound", "I_XT", "I_TY", "I_Z1Z2", "H_gauss", "effective_rank",
    "dim", "estimated_dim", "n_probe", "ceiling_XT", "ceiling_TY", "H_Y", "log_n", "settings", "seconds",
]


class TrajectoryFile:
    """CSV with fixed columns; ``rows_written`` is the resume bookmark."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows_written = 0

    def append(self, rows: list[dict[str, Any]]) -> None:
        new = not self.path.exists()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=COLUMNS, extrasaction="ignore")
            if new:
                writer.writeheader()
            writer.writerows(rows)
            f.flush()
            os.fsync(f.fileno())
        self.rows_written += len(rows)

    def truncate_to(self, n_rows: int) -> None:
        """Keep the header and the first ``n_rows`` rows (resume)."""
        self.rows_written = n_rows
        if not self.path.exists():
            return
        with self.path.open(newline="") as f:
            rows = list(csv.DictReader(f))[:n_rows]
        with self.path.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=COLUMNS, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)


def read_trajectory(path: Path) -> list[dict[str, Any]]:
    """Rows of a trajectory file, numbers parsed (empty cells become ``None``)."""
    with Path(path).open(newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        for key, value in row.items():
            if key in ("layer", "estimator", "bound", "settings"):
                continue
            row[key] = None if value in ("", None) else float(value)
    return rows
