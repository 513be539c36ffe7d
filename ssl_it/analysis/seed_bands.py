"""Trajectories of several seeds of one configuration, as mean and spread.

A study runs each configuration (an objective, say) with several seeds.
:func:`seed_bands` lines their information-plane evaluations up by training
step (runs of one configuration share the evaluation schedule) and gives,
per configuration, layer, quantity and step, the mean over seeds, their
standard deviation (ddof = 1) and the share of seeds whose point was flagged
saturated, and the mean of the points' own estimator bands (``I_XT_lo``,
``I_XT_hi``...). :func:`plot_seed_bands` draws them against the epoch with a
band of one standard deviation and the estimator band dotted;
:func:`band_summary` is the table of first, peak and last values, with
whether the change from peak to last is resolved by both. Used by ``scripts/plot_seed_bands.py``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure

from ssl_it.analysis.compare import RunRecord, differing_columns

QUANTITY_FLAGS = {"I_XT": "saturated_XT", "I_TY": "saturated_TY", "I_Z1Z2": "saturated_Z1Z2"}
PANELS = {"I_XT": "I(X;T)", "I_TY": "I(T;Y)", "I_Z1Z2": "I(Z1;Z2)"}


@dataclass
class Band:
    """One (configuration, layer, quantity) over training: values per step."""

    group: str
    layer: str
    quantity: str
    epochs: np.ndarray
    mean: np.ndarray
    sd: np.ndarray
    saturated: np.ndarray  # share of seeds flagged saturated at each step
    n_seeds: int
    halfwidth: np.ndarray | None = None  # mean over seeds of each point's estimator band (hi - lo) / 2

    def change_resolved(self, i: int, j: int) -> bool:
        """Whether the means at steps i and j differ by more than both the seeds' spread
        (``sqrt(sd_i^2 + sd_j^2)``) and the estimator's bands (``halfwidth_i + halfwidth_j``)."""
        diff = abs(self.mean[j] - self.mean[i])
        seed = math.hypot(self.sd[i], self.sd[j]) if np.isfinite(self.sd[[i, j]]).all() else 0.0
        est = float(self.halfwidth[i] + self.halfwidth[j]) if self.halfwidth is not None else 0.0
        return bool(diff > max(seed, est))


def configurations(runs: Sequence[RunRecord], group_key: str) -> tuple[dict[str, list[RunRecord]], list[str]]:
    """The runs by configuration, and a note for every group that had to be split.

    ``group_key`` is a config group (``objective``: its choice) or a dotted
    config key. Runs with the same value are seeds of one configuration only
    if their configs differ in nothing but keys named ``seed``; runs that
    differ in more are split into configurations named by what differs,
    ``vicreg [trainer.max_epochs=2]``, and the note says so.
    """
    groups: dict[str, list[RunRecord]] = defaultdict(list)
    for run in runs:
        groups[str(run.choices.get(group_key, run.config.get(group_key)))].append(run)
    out: dict[str, list[RunRecord]] = {}
    notes = []
    for group, members in groups.items():
        differing = {k: v for k, v in differing_columns(members).items() if k.rsplit(".", 1)[-1] != "seed"}
        if not differing:
            out[group] = members
            continue
        labels = [
            f"{group} [{', '.join(f'{k}={values[i]}' for k, values in differing.items())}]" for i in range(len(members))
        ]
        for label, run in zip(labels, members):
            out.setdefault(label, []).append(run)
        keys = ", ".join(f"{k} ({', '.join(dict.fromkeys(map(str, v)))})" for k, v in differing.items())
        notes.append(
            f"{group_key}={group}: the runs differ in {keys}, not only in the seed; "
            f"not merged: shown as {len(set(labels))} separate configurations"
        )
    return out, notes


def seed_bands(runs: Sequence[RunRecord], group_key: str) -> list[Band]:
    """Bands of every (configuration, layer, quantity) present in the runs' trajectories.

    Runs are grouped by :func:`configurations`: the same value of
    ``group_key`` and configs that differ only in the seed. Only steps every
    seed of a configuration evaluated are kept.
    """
    values: dict[tuple[str, str, str], dict[float, list[tuple[float, float, bool, float]]]] = defaultdict(dict)
    seeds: dict[str, int] = defaultdict(int)
    by_configuration, _ = configurations(runs, group_key)
    for group, members in by_configuration.items():
        seeds[group] = len(members)
    for group, run in ((g, r) for g, members in by_configuration.items() for r in members):
        for row in run.trajectory:
            for quantity, flag in QUANTITY_FLAGS.items():
                if row.get(quantity) is None:
                    continue
                key = (group, str(row["layer"]), quantity)
                lo, hi = row.get(f"{quantity}_lo"), row.get(f"{quantity}_hi")
                half = (float(hi) - float(lo)) / 2 if lo is not None and hi is not None else math.nan
                values[key].setdefault(float(row["step"]), []).append(
                    (float(row["epoch"]), float(row[quantity]), bool(row.get(flag)), half)
                )
    bands = []
    for (group, layer, quantity), by_step in values.items():
        steps = sorted(s for s, pts in by_step.items() if len(pts) == seeds[group])
        if not steps:
            continue
        pts = [np.array(by_step[s], dtype=float) for s in steps]  # (seeds, 4) each
        vals = np.stack([p[:, 1] for p in pts])  # (steps, seeds)
        halves = np.stack([p[:, 3] for p in pts]).mean(1)
        bands.append(
            Band(
                group,
                layer,
                quantity,
                epochs=np.array([p[0, 0] for p in pts]),
                mean=vals.mean(1),
                sd=vals.std(1, ddof=1) if vals.shape[1] > 1 else np.full(len(steps), math.nan),
                saturated=np.stack([p[:, 2] for p in pts]).mean(1),
                n_seeds=seeds[group],
                halfwidth=halves if np.isfinite(halves).all() else None,
            )
        )
    return sorted(bands, key=lambda b: (b.layer, b.quantity, b.group))


def band_summary(bands: Sequence[Band]) -> tuple[list[str], list[list[str]]]:
    """Rows ``group, layer, quantity, first, peak (epoch), last, last - peak,
    resolved, band, saturated share``; values ``mean ± sd`` over seeds, nats. ``resolved``: whether
    last - peak exceeds both the seed spread and the estimator's bands (:meth:`Band.change_resolved`);
    ``band``: the mean half-width of the last point's estimator band."""
    header = [
        "configuration",
        "layer",
        "quantity",
        "first",
        "peak (epoch)",
        "last",
        "last - peak",
        "resolved",
        "band ±",
        "share saturated",
    ]
    rows = []
    for b in bands:
        peak = int(np.argmax(b.mean))
        rows.append(
            [
                b.group,
                b.layer,
                PANELS[b.quantity],
                _pm(b.mean[0], b.sd[0]),
                f"{_pm(b.mean[peak], b.sd[peak])} ({b.epochs[peak]:.2f})",
                _pm(b.mean[-1], b.sd[-1]),
                f"{b.mean[-1] - b.mean[peak]:+.3f}",
                ("yes" if b.change_resolved(peak, len(b.mean) - 1) else "no") if peak != len(b.mean) - 1 else "-",
                "-" if b.halfwidth is None else f"{b.halfwidth[-1]:.3f}",
                f"{b.saturated.mean():.0%}",
            ]
        )
    return header, rows


def _pm(mean: float, sd: float) -> str:
    return f"{mean:.3f}" if math.isnan(sd) else f"{mean:.3f} ± {sd:.3f}"


def plot_seed_bands(bands: Sequence[Band], columns: int = 3) -> Figure:
    """One panel per measured (layer, quantity), ``columns`` to a row: mean
    over seeds against the epoch, a band of one standard deviation; hollow
    markers where any seed's point was saturated."""
    layers = list(dict.fromkeys(b.layer for b in bands))
    panels = [(layer, q) for layer in layers for q in PANELS if any((b.layer, b.quantity) == (layer, q) for b in bands)]
    groups = list(dict.fromkeys(b.group for b in bands))
    rows = -(-len(panels) // columns)
    fig = Figure(figsize=(4.0 * columns + 1.8, 2.9 * rows), dpi=100, layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    for ax, (layer, quantity) in zip(axes, panels):
        for k, group in enumerate(groups):
            band = next((b for b in bands if (b.layer, b.quantity, b.group) == (layer, quantity, group)), None)
            if band is None:
                continue
            colour = f"C{k % 10}"
            ax.plot(band.epochs, band.mean, "-", color=colour, lw=1.3, label=f"{group} ({band.n_seeds} seeds)")
            ax.fill_between(band.epochs, band.mean - band.sd, band.mean + band.sd, color=colour, alpha=0.2, lw=0)
            if band.halfwidth is not None:
                for sign in (-1, 1):
                    ax.plot(band.epochs, band.mean + sign * band.halfwidth, ":", color=colour, lw=0.8)
            hollow = band.saturated > 0
            ax.plot(band.epochs[~hollow], band.mean[~hollow], "o", color=colour, ms=3)
            ax.plot(band.epochs[hollow], band.mean[hollow], "o", mfc="none", mec=colour, ms=5)
        ax.set_xscale("symlog", linthresh=0.1)
        ax.set_title(f"{layer}: {PANELS[quantity]}", fontsize=9)
        ax.set_xlabel("epoch")
        ax.set_ylabel("nats")
    for ax in axes[len(panels) :]:
        fig.delaxes(ax)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(
        handles,
        labels,
        loc="outside right center",
        fontsize=8,
        title="mean ± 1 sd over seeds (shaded)\ndotted: mean estimator band\n(hollow: a seed saturated)",
        title_fontsize=7,
    )
    return fig
