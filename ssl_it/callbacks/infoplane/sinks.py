"""Where the information-plane rows go besides ``infoplane.csv``.

* every logger: ``infoplane/<layer>/<quantity>`` scalars, each value's
  band (``<quantity>_lo``, ``<quantity>_hi``), where the level of I(X;T)
  and I(Z1;Z2) may reach (``I_XT_level_hi``, ``I_Z1Z2_level_hi``), the
  reduction's kept share (``kept_share_XT``, ``kept_share_Z1Z2``) and
  ``infoplane/seconds``;
* ``infoplane.png``, redrawn from the rows held in memory;
* W&B: the trajectory as long rows, one per (layer, quantity), carrying the
  run, step, epoch, layer, objective, estimator, value, band (lo, hi),
  bound, ceiling, saturated flag and probe size, so one panel or query can plot any subset
  of runs by layer, estimator or objective over time. During the run they
  go to an ``INCREMENTAL`` table (``infoplane/rows``: each evaluation logs
  only its new rows); at the end the whole trajectory is logged once as
  ``infoplane/trajectory`` (the table the custom chart in
  ``docs/wandb/infoplane_chart.json`` reads from the run summary), with a
  chart (``infoplane/chart``). The figure goes along as ``infoplane/figure``
  when it is drawn (``infoplane.figure_every``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ssl_it.analysis.plotting import plot_information_plane, save_figure
from ssl_it.callbacks.infoplane.rows import QUANTITIES

SCALARS = ("I_XT", "I_TY", "I_Z1Z2", "H_gauss", "effective_rank")
ROW_SCALARS = (
    *[f"{q}_{end}" for q in ("I_XT", "I_TY", "I_Z1Z2") for end in ("lo", "hi")],
    "I_XT_level_hi",
    "I_Z1Z2_level_hi",
    "kept_share_XT",
    "kept_share_Z1Z2",
)
"""Logged beside each value where the row has them: its band, where the level may reach (the label bound's is
its ceiling, not logged), and what the reduction kept."""
WANDB_COLUMNS = [
    "run_id",
    "run_name",
    "objective",
    "step",
    "epoch",
    "layer",
    "quantity",
    "estimator",
    "value",
    "lo",
    "hi",
    "bound",
    "ceiling",
    "saturated",
    "n_probe",
]


def scalar_metrics(rows: list[dict[str, Any]], seconds: float) -> dict[str, float]:
    """``{"infoplane/<layer>/<quantity>": value, "infoplane/seconds": ...}``, with each value's band
    (``<quantity>_lo``, ``<quantity>_hi``) and the reduction's kept share (:data:`ROW_SCALARS`)."""
    metrics: dict[str, float] = {"infoplane/seconds": seconds}
    for row in rows:
        for q in (*SCALARS, *ROW_SCALARS):
            if row.get(q) is not None:
                metrics[f"infoplane/{row['layer']}/{q}"] = float(row[q])
    return metrics


def long_rows(rows: list[dict[str, Any]], run_id: str, run_name: str, objective: str) -> list[list[Any]]:
    """One list per (row, measured quantity), in :data:`WANDB_COLUMNS` order."""
    out = []
    for row in rows:
        for q, s in QUANTITIES.items():
            if row.get(q) is None:
                continue
            out.append(
                [
                    run_id,
                    run_name,
                    objective,
                    int(row["step"]),
                    float(row["epoch"]),
                    row["layer"],
                    q,
                    row.get(f"estimator_{s}") or row.get("estimator"),
                    float(row[q]),
                    _float_or_none(row.get(f"{q}_lo")),
                    _float_or_none(row.get(f"{q}_hi")),
                    row.get(f"bound_{s}") or row.get("bound"),
                    _float_or_none(row.get(f"ceiling_{s}")),
                    bool(row.get(f"saturated_{s}")),
                    int(row["n_probe"]),
                ]
            )
    return out


def _float_or_none(value: Any) -> float | None:
    return None if value is None else float(value)


def draw_figure(rows: list[dict[str, Any]], path: Path, title: str, tolerance: float) -> Path:
    """Write ``infoplane.png`` from ``rows``."""
    save_figure(plot_information_plane([("", rows)], title=title, saturation_tolerance=tolerance), path)
    return path


def is_wandb(logger: Any) -> bool:
    """Lightning's ``WandbLogger`` or a subclass (``ssl_it.run.loggers.FlatConfigWandbLogger``),
    recognised without importing wandb."""
    return any(cls.__name__ == "WandbLogger" for cls in type(logger).__mro__)


class WandbTrajectory:
    """The W&B side of the trajectory for one run.

    Args:
        chart_preset: ``entity/name`` of a custom-chart preset made from
            ``docs/wandb/infoplane_chart.json``; ``None`` logs W&B's built-in
            line chart instead.
    """

    def __init__(self, chart_preset: str | None = None) -> None:
        self.chart_preset = chart_preset
        self._table: Any = None

    def log_evaluation(
        self, logger: Any, rows: list[dict[str, Any]], objective: str, figure: Path | None, step: int
    ) -> None:
        """Append this evaluation's long rows to the incremental table and log it, with the figure when drawn."""
        import wandb

        run = logger.experiment
        if self._table is None:
            self._table = wandb.Table(columns=list(WANDB_COLUMNS), log_mode="INCREMENTAL")
        for values in long_rows(rows, run.id, run.name or run.id, objective):
            self._table.add_data(*values)
        figures = {} if figure is None else {"infoplane/figure": wandb.Image(str(figure))}
        run.log({"infoplane/rows": self._table, **figures, "trainer/global_step": step})

    def log_final(self, logger: Any, rows: list[dict[str, Any]], objective: str, figure: Path | None = None) -> None:
        """Log the whole trajectory once, as a table and a chart (and the figure, when redrawn at the end)."""
        import wandb

        run = logger.experiment
        data = long_rows(rows, run.id, run.name or run.id, objective)
        table = wandb.Table(columns=list(WANDB_COLUMNS), data=data)
        plane = [[r["I_XT"], r["I_TY"], r["layer"], float(r["epoch"])] for r in rows if r.get("I_TY") is not None]
        plane_table = wandb.Table(columns=["I_XT", "I_TY", "layer", "epoch"], data=plane)
        if self.chart_preset:
            fields = {
                "run": "run_name",
                "layer": "layer",
                "quantity": "quantity",
                "value": "value",
                "epoch": "epoch",
                "step": "step",
                "saturated": "saturated",
            }
            chart = wandb.plot_table(self.chart_preset, table, fields, {"title": "Information plane"})
        else:
            chart = wandb.plot.line(plane_table, "I_XT", "I_TY", stroke="layer", title="Information plane")
        figures = {} if figure is None else {"infoplane/figure": wandb.Image(str(figure))}
        run.log({"infoplane/trajectory": table, "infoplane/chart": chart, **figures})
