"""Compare the runs of a sweep (or any run directories): one table, one figure.

    python scripts/compare_runs.py outputs/multirun/2026-11-30/10-00-00
    python scripts/compare_runs.py RUN_A RUN_B RUN_C --out outputs/compare/ab --bits
    python scripts/compare_runs.py outputs/measure/TRAINED outputs/measure/RANDOM --out compare

Run directories, sweep directories and folders that ``ssl-it-measure`` wrote
(a measured model, or a measure sweep, merged) can be mixed.

Writes ``<out>.csv`` and ``<out>.md`` (one row per run: the config values
that differ between the runs, final linear-eval top-1 and kNN accuracy, the
last information-plane evaluation's I(X;T) and I(T;Y) per layer and
I(Z1;Z2), wall time) and ``<out>.png`` (the runs' information-plane
trajectories overlaid, one colour per run, one panel per layer; the legend
names, per run, whether its points were trained or measured, the estimator
and the probe set's size N). ``<out>``
defaults to ``<sweep dir>/compare`` for a single sweep directory.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ssl_it.analysis.compare import (
    comparison_table,
    find_runs,
    load_run,
    markdown_table,
    plot_runs,
    run_labels,
    write_csv,
)
from ssl_it.analysis.plotting import save_figure


def main() -> None:
    """Write the comparison table (CSV, Markdown) and the information-plane figure of the runs under the paths."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+", type=Path, help="a sweep directory or run directories")
    parser.add_argument("--out", type=Path, default=None, help="output path without suffix")
    parser.add_argument("--label-keys", nargs="+", default=None, help="legend from these config keys or groups")
    parser.add_argument("--layers", nargs="+", default=None, help="only these layers in the figure")
    parser.add_argument("--bits", action="store_true", help="plot in bits instead of nats")
    args = parser.parse_args()
    run_dirs = find_runs(args.paths)
    if not run_dirs:
        parser.error(f"no run directory (with config.yaml) under {[str(p) for p in args.paths]}")
    out = args.out or (args.paths[0] / "compare" if len(args.paths) == 1 else Path("outputs/compare"))
    runs = [load_run(d) for d in run_dirs]
    header, rows = comparison_table(runs)
    write_csv(out.with_suffix(".csv"), header, rows)
    table = markdown_table(header, rows)
    out.with_suffix(".md").write_text(table)
    fig = plot_runs(runs, run_labels(runs, args.label_keys), units="bits" if args.bits else "nats", layers=args.layers)
    save_figure(fig, out.with_suffix(".png"))
    print(table)
    print(f"wrote {out}.csv, {out}.md, {out}.png ({len(runs)} runs)")


if __name__ == "__main__":
    main()
