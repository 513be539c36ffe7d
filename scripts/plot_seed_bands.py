"""Seed bands of a study: information-plane quantities over training, mean ± sd over seeds.

    python train.py -m objective=vicreg,simclr,byol,supervised seed=0,1,2 logger=none \
        hydra.sweep.dir=outputs/study
    python scripts/plot_seed_bands.py outputs/study --group objective --out outputs/study/bands

Runs with the same value of ``--group`` (a config group such as
``objective``, or a dotted key) are taken as seeds of one configuration
when their configs differ only in the seed; runs that differ in more (say
``trainer.max_epochs``) are shown as separate configurations, named by what
differs, and a note on stderr and in ``<out>.md`` says so.
Writes ``<out>.png`` (one row per layer, one column per quantity, against
the epoch) and ``<out>.md`` (first, peak and last value of each quantity,
mean ± sd over seeds, and the share of saturated points; then the final
linear-evaluation accuracy of each configuration).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from ssl_it.analysis.compare import find_runs, load_run, markdown_table
from ssl_it.analysis.plotting import save_figure
from ssl_it.analysis.seed_bands import band_summary, configurations, plot_seed_bands, seed_bands


def main() -> None:
    """Group the runs by configuration and write the across-seed bands (table and figure)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+", type=Path, help="a sweep directory or run directories")
    parser.add_argument("--group", default="objective", help="config group or key whose value names a configuration")
    parser.add_argument("--out", type=Path, default=None, help="output path without suffix")
    args = parser.parse_args()
    runs = [load_run(d) for d in find_runs(args.paths)]
    if not runs:
        parser.error(f"no run directory (with config.yaml) under {[str(p) for p in args.paths]}")
    out = args.out or (args.paths[0] / "bands")
    groups, notes = configurations(runs, args.group)
    for note in notes:
        print(f"plot_seed_bands: {note}", file=sys.stderr)
    bands = seed_bands(runs, args.group)
    header, rows = band_summary(bands)
    accuracy = {
        g: [r.metrics["linear_eval_top1"] for r in members if "linear_eval_top1" in r.metrics]
        for g, members in groups.items()
    }
    acc_rows = [
        [g, len(v), f"{np.mean(v):.3f} ± {np.std(v, ddof=1) if len(v) > 1 else float('nan'):.3f}"]
        for g, v in accuracy.items()
        if v
    ]
    acc_table = markdown_table(["configuration", "seeds", "linear-eval top-1"], acc_rows)
    text = markdown_table(header, rows) + "\n" + acc_table
    text += "".join(f"\nNote: {note}\n" for note in notes)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".md").write_text(text)
    save_figure(plot_seed_bands(bands), out.with_suffix(".png"))
    print(text)
    print(f"wrote {out}.md, {out}.png ({len(runs)} runs)")


if __name__ == "__main__":
    main()
