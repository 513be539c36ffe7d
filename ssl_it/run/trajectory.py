"""The append-only information-plane trajectory file (``infoplane.csv``).

One row per layer per evaluation (and one ``views`` row for ``I(Z1;Z2)``),
with, per quantity, the estimator, its bound kind, the ceiling, the
``saturated`` flag (``infoplane.rows``), the band columns and the
data-processing check (``infoplane.dpi``), and the row's ``source``:
``train`` (the callback, during training) or ``measure`` (``ssl-it-measure``,
from a saved checkpoint or model). Flushed and fsync'ed after every
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
    "step",
    "epoch",
    "layer",
    "estimator",
    "bound",
    "I_XT",
    "I_TY",
    "I_Z1Z2",
    "H_gauss",
    "effective_rank",
    "dim",
    "estimated_dim",
    "n_probe",
    "log_n",
    "H_X",
    "H_Y",
    "estimator_XT",
    "bound_XT",
    "ceiling_XT",
    "saturated_XT",
    "estimator_TY",
    "bound_TY",
    "ceiling_TY",
    "saturated_TY",
    "estimator_Z1Z2",
    "bound_Z1Z2",
    "ceiling_Z1Z2",
    "saturated_Z1Z2",
    "settings",
    "seconds",
    *[f"{q}_{b}" for q in ("I_XT", "I_TY", "I_Z1Z2") for b in ("lo", "hi", "sd", "spread", "bias", "level_hi")],
    "I_TY_linear",
    "I_TY_nonlinear",
    "nonlinear_gap_TY",
    "kept_share_XT",
    "kept_share_Z1Z2",
    "dpi_upstream",
    "dpi_XT",
    "dpi_TY",
    "source",
]
TEXT_COLUMNS = {
    "layer",
    "estimator",
    "bound",
    "settings",
    "estimator_XT",
    "bound_XT",
    "estimator_TY",
    "bound_TY",
    "estimator_Z1Z2",
    "bound_Z1Z2",
    "dpi_upstream",
    "source",
}
FLAG_COLUMNS = {"saturated_XT", "saturated_TY", "saturated_Z1Z2", "dpi_XT", "dpi_TY"}
DEFAULT_SOURCE = "train"
"""The ``source`` of a row written before the column existed: the callback's."""


def header_of(path: Path) -> list[str]:
    """The columns of an existing trajectory file (an older file may lack newer ones)."""
    with path.open(newline="") as f:
        return next(csv.reader(f), [])


class TrajectoryFile:
    """CSV with fixed columns; ``rows_written`` is the resume bookmark."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows_written = 0

    def append(self, rows: list[dict[str, Any]]) -> None:
        """Append ``rows``; a file written before a column was added keeps its header (a resumed old run)."""
        new = not self.path.exists()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        columns = COLUMNS if new else (header_of(self.path) or COLUMNS)
        with self.path.open("a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
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
    """Rows of a trajectory file, numbers parsed (empty cells become ``None``,
    ``saturated_*`` flags ``bool``; a missing ``source`` is ``train``)."""
    with Path(path).open(newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        row["source"] = row.get("source") or DEFAULT_SOURCE
        for key, value in row.items():
            if key in TEXT_COLUMNS:
                continue
            if value in ("", None):
                row[key] = None
            elif key in FLAG_COLUMNS:
                row[key] = value.strip().lower() in ("1", "1.0", "true")
            else:
                row[key] = float(value)
    return rows


PLANE_QUANTITIES = ("I_XT", "I_TY", "I_Z1Z2")


def final_metrics(path: Path) -> dict[str, float]:
    """``final/infoplane/<layer>/<quantity>`` of the last evaluation (the
    largest step) in the trajectory file ``path``; empty without the file."""
    path = Path(path)
    if not path.is_file():
        return {}
    with path.open(newline="") as f:
        rows = [r for r in csv.DictReader(f) if r.get("step")]
    if not rows:
        return {}
    last = max(float(r["step"]) for r in rows)
    out = {}
    for row in rows:
        if float(row["step"]) != last:
            continue
        for q in PLANE_QUANTITIES:
            if row.get(q) not in (None, ""):
                out[f"final/infoplane/{row['layer']}/{q}"] = float(row[q])
    return out
