"""Information-plane figures: I(X;T) on x, I(T;Y) on y, one line per layer,
points coloured by epoch, each with its band as thin error bars, ceilings
(log N of the probe set, H(Y)) dashed, saturated points (within the tolerance
of their ceiling) drawn hollow, and points that contradict the
data-processing inequality beyond their bands crossed in red."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

MARKERS = "os^Dv<>phP*X"
STYLES = ["-", "--", ":", "-."]


def point_saturated(row: dict[str, Any]) -> bool:
    """A plane point is saturated when either coordinate is."""
    return bool(row.get("saturated_XT")) or bool(row.get("saturated_TY"))


def plot_information_plane(
    runs: Sequence[tuple[str, list[dict[str, Any]]]],
    title: str = "Information plane",
    units: str = "nats",
    saturation_tolerance: float = 0.02,
) -> Figure:
    """One figure for one or several runs.

    Args:
        runs: ``(label, trajectory rows)`` pairs; rows as in ``infoplane.csv``.
        title: figure title.
        units: ``"nats"`` or ``"bits"`` (values are divided by ln 2).
        saturation_tolerance: named in the legend of the hollow markers.
    """
    scale = 1.0 / 0.6931471805599453 if units == "bits" else 1.0
    # A bare Figure (no pyplot state, no GUI backend) with a fixed layout: half
    # the cost of a pyplot + tight_layout redraw (docs/results/framework-overhead.md).
    fig = Figure(figsize=(6.4, 4.8), dpi=100)
    ax = fig.add_subplot()
    fig.subplots_adjust(left=0.1, right=0.97, bottom=0.1, top=0.93)
    max_epoch = max((r["epoch"] or 0 for _, rows in runs for r in rows), default=1) or 1
    colour = ScalarMappable(norm=Normalize(vmin=0, vmax=max_epoch), cmap=colormaps["viridis"])
    drawn = hollow = banded = dpi = False
    for run_i, (label, rows) in enumerate(runs):
        layers = list(dict.fromkeys(r["layer"] for r in rows if r.get("I_XT") is not None))
        for li, layer in enumerate(layers):
            pts = sorted(
                (r for r in rows if r["layer"] == layer and r.get("I_TY") is not None), key=lambda r: r["step"]
            )
            if not pts:
                continue
            name = f"{label}: {layer}" if label else layer
            ax.plot(
                [r["I_XT"] * scale for r in pts],
                [r["I_TY"] * scale for r in pts],
                STYLES[run_i % len(STYLES)],
                color="0.6",
                lw=0.8,
                zorder=1,
            )
            marker = MARKERS[li % len(MARKERS)]
            ax.plot([], [], ls="", marker=marker, mfc="0.5", mec="k", mew=0.3, label=name)
            banded = _draw_bands(ax, pts, scale) or banded
            for saturated in (False, True):
                group = [r for r in pts if point_saturated(r) == saturated]
                if group:
                    _scatter(ax, group, scale, marker, colour, saturated)
                    drawn, hollow = True, hollow or saturated
            violated = [r for r in pts if r.get("dpi_XT") or r.get("dpi_TY")]
            if violated:
                ax.scatter(
                    [r["I_XT"] * scale for r in violated],
                    [r["I_TY"] * scale for r in violated],
                    marker="x",
                    s=40,
                    c="tab:red",
                    linewidths=1.2,
                    zorder=3,
                    gid="dpi_violation",
                )
                dpi = True
    _draw_ceilings(ax, [r for _, rows in runs for r in rows], scale)
    if hollow:
        ax.plot(
            [],
            [],
            ls="",
            marker="o",
            mfc="none",
            mec="0.3",
            mew=1.0,
            label=f"hollow: saturated (within {100 * saturation_tolerance:g} % of a ceiling)",
        )
    if banded:
        ax.plot([], [], color="0.55", lw=0.7, label="bars: band (sampling + invariance spread)")
    if dpi:
        ax.plot([], [], ls="", marker="x", color="tab:red", label="x: above its upstream layer beyond the bands")
    ax.set_xlabel(f"I(X;T) [{units}]")
    ax.set_ylabel(f"I(T;Y) [{units}]")
    ax.set_title(title)
    if drawn:
        fig.colorbar(colour, ax=ax, label="epoch")
        ax.legend(fontsize=7, loc="best")
    return fig


def _scatter(
    ax: Any, rows: list[dict[str, Any]], scale: float, marker: str, colour: ScalarMappable, hollow: bool
) -> None:
    """Filled points (black rim) or hollow ones (rim in the epoch colour, no face)."""
    xs = [r["I_XT"] * scale for r in rows]
    ys = [r["I_TY"] * scale for r in rows]
    rgba = colour.to_rgba(np.array([r["epoch"] or 0 for r in rows]))
    if hollow:
        ax.scatter(
            xs, ys, marker=marker, s=26, facecolors="none", edgecolors=rgba, linewidths=1.1, zorder=2, gid="saturated"
        )
    else:
        ax.scatter(xs, ys, marker=marker, s=22, c=rgba, edgecolors="k", linewidths=0.3, zorder=2, gid="measured")


def _draw_bands(ax: Any, rows: list[dict[str, Any]], scale: float) -> bool:
    """Thin error bars from each row's ``I_XT_lo/hi`` and ``I_TY_lo/hi``; False when no row has a band."""
    banded = [r for r in rows if r.get("I_XT_lo") is not None and r.get("I_TY_lo") is not None]
    if not banded:
        return False
    x = np.array([r["I_XT"] for r in banded]) * scale
    y = np.array([r["I_TY"] for r in banded]) * scale
    xerr = np.clip(
        np.array([[x0 - r["I_XT_lo"] * scale, r["I_XT_hi"] * scale - x0] for r, x0 in zip(banded, x)]).T, 0, None
    )
    yerr = np.clip(
        np.array([[y0 - r["I_TY_lo"] * scale, r["I_TY_hi"] * scale - y0] for r, y0 in zip(banded, y)]).T, 0, None
    )
    ax.errorbar(
        x, y, xerr=xerr, yerr=yerr, fmt="none", ecolor="0.55", elinewidth=0.6, alpha=0.7, zorder=1.5, gid="bands"
    )
    return True


def _draw_ceilings(ax: Any, rows: list[dict[str, Any]], scale: float) -> None:
    log_n = next((r.get("H_X") or r["log_n"] for r in rows if r.get("log_n") is not None), None)
    h_y = next((r["H_Y"] for r in rows if r.get("H_Y") is not None), None)
    if log_n is not None:
        ax.axvline(log_n * scale, color="tab:red", ls="--", lw=0.8, label="log N (probe)")
    if h_y is not None:
        ax.axhline(h_y * scale, color="tab:blue", ls="--", lw=0.8, label="H(Y)")


def save_figure(fig: Figure, path: Path) -> None:
    """Save ``fig`` to ``path``, creating the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
