"""Compare runs: what differs between them, how and where they ended.

A run directory holds ``config.yaml`` (resolved config, with ``run.choices``
and ``run.overrides``), ``metrics.csv`` (every logged number),
``infoplane.csv`` (one row per layer per evaluation), ``segments.jsonl``
(each start and resume, and how it ended) and ``summary.json`` (final
numbers, status, wall time and command lines). :func:`load_run` reads them back;
:func:`differing_columns` finds the config values that tell the runs apart;
:func:`comparison_table` builds one row per run with those values, the final
linear-eval and kNN accuracies, the last evaluation's I(X;T) and I(T;Y) per
layer, the run's status and its wall time; :func:`plot_runs` overlays their
information-plane trajectories, one colour per run, each legend entry naming
how its points were made (:func:`plane_provenance`: trained or measured, the
estimator, the probe set's size N), so that models measured at equal N can
be compared on one plane. A folder that ``ssl-it-measure`` wrote reads like a
run: its ``config.yaml`` holds the measured model's configuration and a
``measure`` node (the run, checkpoints or weights file measured). Used by
``scripts/compare_runs.py`` and ``scripts/plot_infoplane.py``.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure
from omegaconf import OmegaConf

from ssl_it.analysis.plotting import point_saturated
from ssl_it.run.summary import final_infoplane_metrics, read_summary, run_status
from ssl_it.run.trajectory import read_trajectory

# groups whose option a run without ``run.choices`` is known by (from its _target_)
GROUPS = ("objective", "backbone", "estimator", "data", "augmentation", "optimizer", "scheduler")
IGNORED = ("paths.", "run.", "resume")


@dataclass
class RunRecord:
    """What one run directory says about its run."""

    path: Path
    config: dict[str, Any]
    choices: dict[str, str]
    metrics: dict[str, float]
    trajectory: list[dict[str, Any]] = field(default_factory=list)
    wall_time_s: float | None = None
    status: str | None = None  # finished / preempted / failed / killed / running (run_summary.run_status)


def find_runs(paths: Sequence[Path]) -> list[Path]:
    """Run directories among ``paths``: each path that holds ``config.yaml``,
    else every directory below it that does (a sweep), in job order."""
    runs: list[Path] = []
    for path in map(Path, paths):
        if (path / "config.yaml").is_file():
            runs.append(path)
            continue
        found = [p.parent for p in path.rglob("config.yaml") if not p.parent.name.startswith(".")]  # not .hydra/
        runs += sorted(found, key=_natural_key)
    return runs


def _natural_key(path: Path) -> list[Any]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(path))]


def _flatten(node: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            out.update(_flatten(value, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: tuple(node) if isinstance(node, list) else node}


def last_logged(rows: list[dict[str, str]], key: str) -> float | None:
    """The last non-empty value of ``key`` in metrics.csv rows."""
    values = [r[key] for r in rows if r.get(key) not in (None, "")]
    return float(values[-1]) if values else None


def load_run(run_dir: Path) -> RunRecord:
    """Read a run directory back (missing files give empty fields)."""
    run_dir = Path(run_dir)
    cfg = OmegaConf.to_container(OmegaConf.load(run_dir / "config.yaml"), resolve=False)
    assert isinstance(cfg, dict)
    config = _flatten(cfg)
    choices = {str(k): str(v) for k, v in ((cfg.get("run") or {}).get("choices") or {}).items()}
    if not choices:
        targets = {g: str(config[f"{g}._target_"]) for g in GROUPS if f"{g}._target_" in config}
        choices = {g: target.rsplit(".", 1)[-1].lower() for g, target in targets.items()}
    rows: list[dict[str, str]] = []
    if (run_dir / "metrics.csv").is_file():
        with (run_dir / "metrics.csv").open(newline="") as f:
            rows = list(csv.DictReader(f))
    metrics = {}
    for key, name in (("final/linear_eval_top1", "linear_eval_top1"), ("val/knn_acc", "knn_acc")):
        value = last_logged(rows, key)
        if value is not None:
            metrics[name] = value
    for key, value in final_infoplane_metrics(run_dir).items():
        layer, quantity = key.removeprefix("final/infoplane/").rsplit("/", 1)
        metrics[f"{quantity}/{layer}"] = value
    trajectory = read_trajectory(run_dir / "infoplane.csv") if (run_dir / "infoplane.csv").is_file() else []
    wall = read_summary(run_dir).get("wall_time_s")
    return RunRecord(run_dir, config, choices, metrics, trajectory, wall, run_status(run_dir))


def differing_columns(runs: Sequence[RunRecord]) -> dict[str, list[Any]]:
    """``column -> value per run`` for the config that differs between runs:
    group choices first (``objective``: vicreg, simclr), then single values
    (``optimizer.lr``) outside the groups whose choice differs. A value
    equal, run by run, to an earlier column's with the same last key part
    (``infoplane.seed`` following ``seed``) or to a group's choice
    (``infoplane.objective_name``), or holding each run's own directory, is
    left out."""
    if len(runs) < 2:
        return {}
    columns: dict[str, list[Any]] = {}
    groups = sorted({g for r in runs for g in r.choices})
    for group in groups:
        values = [r.choices.get(group) for r in runs]
        if len(set(values)) > 1:
            columns[group] = values
    changed = tuple(f"{g}." for g in columns)
    keys = sorted({k for r in runs for k in r.config}, key=lambda k: (k.count("."), k))
    for key in keys:
        if key.startswith(IGNORED + changed) or key.startswith("hydra"):
            continue
        values = [r.config.get(key) for r in runs]
        if len({repr(v) for v in values}) == 1 or all(str(r.path) in str(v) for r, v in zip(runs, values)):
            continue  # the same everywhere, or each run's own path (checkpoint dirs)
        last = key.rsplit(".", 1)[-1]
        if any(v == values and (c.rsplit(".", 1)[-1] == last or c in groups) for c, v in columns.items()):
            continue  # repeats a group's choice (infoplane.objective_name) or a same-named key (infoplane.seed)
        columns[key] = values
    return columns


def run_labels(runs: Sequence[RunRecord], keys: Sequence[str] | None = None) -> list[str]:
    """Legend labels: the differing config values (or the values of
    ``keys``), e.g. ``simclr lr=0.01``; the directory name when none differ."""
    if keys:
        columns = {k: [r.choices.get(k) if k in r.choices else r.config.get(k) for r in runs] for k in keys}
    else:
        columns = differing_columns(runs)
    labels = []
    for i, run in enumerate(runs):
        parts = [_format(key, values[i]) for key, values in columns.items() if values[i] is not None]
        labels.append(" ".join(parts) or run.path.name)
    if len(set(labels)) < len(labels):  # still ambiguous: add the directory
        labels = [f"{label} ({run.path.name})" for label, run in zip(labels, runs)]
    return labels


def _format(key: str, value: Any) -> str:
    if key.startswith("measure."):  # what a measured folder measured: file and folder names, not paths
        names = [Path(str(v)).stem for v in (value if isinstance(value, tuple) else (value,))]
        what = key.removeprefix("measure.")
        return f"{what}={','.join(names)}" if names else ("random weights" if what == "checkpoints" else "")
    if key in GROUPS or key.endswith("_target_"):
        return str(value).rsplit(".", 1)[-1]
    return f"{key.rsplit('.', 1)[-1]}={value}"


def comparison_table(runs: Sequence[RunRecord]) -> tuple[list[str], list[list[Any]]]:
    """Header and one row per run: run, status (``finished``, ``preempted``,
    ``failed``, ``killed``, ``running``: the numbers of a run that did not
    finish are those of its last evaluation), differing config, linear-eval
    and kNN accuracy, I(X;T) and I(T;Y) per layer (last evaluation),
    I(Z1;Z2), wall time in seconds (all segments of a resumed run)."""
    config = differing_columns(runs)
    layers = list(dict.fromkeys(k.split("/", 1)[1] for r in runs for k in r.metrics if k.startswith("I_XT/")))
    measures = ["linear_eval_top1", "knn_acc"] + [f"{q}/{layer}" for layer in layers for q in ("I_XT", "I_TY")]
    if any("I_Z1Z2/views" in r.metrics for r in runs):
        measures.append("I_Z1Z2/views")
    banded = [m for m in measures if "/" in m and any(last_band(r.trajectory, m) for r in runs)]
    header = ["run", "status", *config, *measures, *[f"{m} band" for m in banded], "wall_time_s"]
    rows = []
    for i, (run, name) in enumerate(zip(runs, run_names(runs))):
        values = [v[i] for v in config.values()] + [run.metrics.get(m) for m in measures]
        bands = [last_band(run.trajectory, m) for m in banded]
        rows.append(
            [name, run.status, *values, *[f"{b[0]:.3f}-{b[1]:.3f}" if b else None for b in bands], run.wall_time_s]
        )
    return header, rows


def last_band(trajectory: list[dict[str, Any]], measure: str) -> tuple[float, float] | None:
    """``(lo, hi)`` of ``<quantity>/<layer>`` at the run's last evaluation, if it has a band. Two runs whose
    bands overlap are not told apart by this estimator."""
    quantity, layer = measure.split("/", 1)
    rows = [r for r in trajectory if r["layer"] == layer and r.get(f"{quantity}_lo") is not None]
    if not rows:
        return None
    last = max(rows, key=lambda r: r["step"])
    return float(last[f"{quantity}_lo"]), float(last[f"{quantity}_hi"])


def plane_provenance(trajectory: list[dict[str, Any]]) -> str:
    """How a trajectory's points were made: ``measured``/``trained`` (the rows' ``source``), the
    estimator(s) and the probe set's size, e.g. ``measured: pca_ksg+classifier, N=1024``."""
    if not trajectory:
        return ""
    sources = {str(r.get("source") or "train") for r in trajectory}
    made = "measured" if sources == {"measure"} else "trained" if sources == {"train"} else "trained+measured"
    estimators = "+".join(
        dict.fromkeys(e for r in trajectory if r.get("estimator") for e in str(r["estimator"]).split("+"))
    )
    sizes = sorted({int(r["n_probe"]) for r in trajectory if r.get("n_probe") is not None})
    parts = [estimators] * bool(estimators) + [f"N={'/'.join(map(str, sizes))}"] * bool(sizes)
    return f"{made}: {', '.join(parts)}" if parts else made


def run_names(runs: Sequence[RunRecord]) -> list[str]:
    """Directory names (``0``, ``1``, ...), or paths below the runs' common
    folder when names repeat (runs of several sweeps)."""
    names = [r.path.name for r in runs]
    if len(set(names)) == len(names):
        return names
    common = Path(os.path.commonpath([r.path.resolve() for r in runs]))
    return [str(r.path.resolve().relative_to(common)) for r in runs]


def write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    """Write ``header`` and ``rows`` to ``path`` as CSV (``None`` as an empty cell)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows([["" if v is None else v for v in row] for row in rows])


def markdown_table(header: list[str], rows: list[list[Any]]) -> str:
    """``header`` and ``rows`` as a Markdown table (floats to 4 significant digits, ``None`` as ``-``)."""

    def cell(v: Any) -> str:
        if v is None:
            return "-"
        return f"{v:.4g}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def plot_runs(
    runs: Sequence[RunRecord], labels: Sequence[str], units: str = "nats", layers: Sequence[str] | None = None
) -> Figure:
    """One panel per layer; each run's trajectory in its own colour, from a
    square first point to a large last point; saturated points hollow, as in
    every figure of ssl_it (:func:`ssl_it.analysis.plotting.point_saturated`);
    probe-set ceilings dashed."""
    scale = 1 / 0.6931471805599453 if units == "bits" else 1.0
    planes = [[r for r in run.trajectory if r.get("I_XT") is not None and r.get("I_TY") is not None] for run in runs]
    names = layers or list(dict.fromkeys(r["layer"] for rows in planes for r in rows))
    fig = Figure(figsize=(4.2 * max(1, len(names)) + 2.4, 4.0), dpi=100, layout="constrained")
    axes = fig.subplots(1, max(1, len(names)), squeeze=False)[0]
    colours = [f"C{i % 10}" for i in range(len(runs))]
    labels = [f"{label}\n({plane_provenance(rows)})" if rows else label for label, rows in zip(labels, planes)]
    for ax, layer in zip(axes, names):
        for rows, label, colour in zip(planes, labels, colours):
            pts = sorted((r for r in rows if r["layer"] == layer), key=lambda r: r["step"])
            if pts:
                _trajectory(ax, pts, scale, label, colour)
        _ceilings(ax, [r for rows in planes for r in rows if r["layer"] == layer], scale)
        ax.set_title(layer)
        ax.set_xlabel(f"I(X;T) [{units}]")
    axes[0].set_ylabel(f"I(T;Y) [{units}]")
    handles, texts = axes[0].get_legend_handles_labels()
    fig.legend(
        handles,
        texts,
        loc="outside right center",
        fontsize=7,
        title_fontsize=7,
        title="run\n(square: first, large: last evaluation,\nwith its band; hollow: saturated;\n"
        "dashed: log N of the probe set;\ndotted: H(Y))",
    )
    return fig


def _trajectory(ax: Any, pts: list[dict[str, Any]], scale: float, label: str, colour: str) -> None:
    """One run's points on one layer's panel, oldest first."""
    xs, ys = [r["I_XT"] * scale for r in pts], [r["I_TY"] * scale for r in pts]
    hollow = [point_saturated(r) for r in pts]
    ax.plot(xs, ys, "-", color=colour, lw=1.2, label=label)
    for saturated in (False, True):
        at = [i for i, h in enumerate(hollow) if h == saturated]
        if at:
            ax.plot(
                [xs[i] for i in at],
                [ys[i] for i in at],
                "o",
                ls="",
                ms=3,
                color=colour,
                mfc="none" if saturated else colour,
                gid="saturated" if saturated else "measured",
            )
    ax.plot(xs[0], ys[0], "s", ms=6, mec=colour, mfc="none" if hollow[0] else colour, gid="first")
    ax.plot(
        xs[-1],
        ys[-1],
        "o",
        ms=8,
        mec=colour if hollow[-1] else "k",
        mew=1.2 if hollow[-1] else 0.5,
        mfc="none" if hollow[-1] else colour,
        gid="last",
    )
    end = pts[-1]
    if end.get("I_XT_lo") is not None and end.get("I_TY_lo") is not None:
        ax.errorbar(
            xs[-1],
            ys[-1],
            fmt="none",
            ecolor=colour,
            elinewidth=0.8,
            xerr=[[max(0.0, xs[-1] - end["I_XT_lo"] * scale)], [max(0.0, end["I_XT_hi"] * scale - xs[-1])]],
            yerr=[[max(0.0, ys[-1] - end["I_TY_lo"] * scale)], [max(0.0, end["I_TY_hi"] * scale - ys[-1])]],
        )


def _ceilings(ax: Any, rows: list[dict[str, Any]], scale: float) -> None:
    log_n = next((r["log_n"] for r in rows if r.get("log_n") is not None), None)
    h_y = next((r["H_Y"] for r in rows if r.get("H_Y") is not None), None)
    if log_n is not None:
        ax.axvline(log_n * scale, color="0.5", ls="--", lw=0.8)
    if h_y is not None:
        ax.axhline(h_y * scale, color="0.5", ls=":", lw=0.8)
