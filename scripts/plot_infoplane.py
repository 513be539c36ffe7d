"""Overlay the information-plane trajectories of several runs in one figure.

    python scripts/plot_infoplane.py outputs/multirun/2026-11-28/12-00-00/* --out plane.png
    python scripts/plot_infoplane.py RUN_A RUN_B --label-keys objective optimizer.lr --bits

    python scripts/plot_infoplane.py outputs/measure/A outputs/measure/B --out trained_vs_random.png

Each argument is a run directory holding ``infoplane.csv`` (and
``config.yaml``), a folder that ``ssl-it-measure`` wrote (or a measure
sweep's folder, merged), or a trajectory file. Several runs are drawn one
colour per run, one panel per layer, labelled by the config values that
differ between them (or by ``--label-keys``: config keys such as
``optimizer.lr`` or group names such as ``objective``), each entry naming
whether its points were trained or measured, the estimator and the probe
set's size N. A single run is drawn as the callback draws it: all layers in
one panel, points coloured by epoch.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ssl_it.analysis.compare import RunRecord, load_run, plane_provenance, plot_runs, run_labels
from ssl_it.analysis.plotting import plot_information_plane, save_figure
from ssl_it.run.trajectory import read_trajectory


def load(path: Path) -> RunRecord:
    """A run directory (with or without config.yaml) or a bare trajectory file."""
    run_dir, csv_path = (path, path / "infoplane.csv") if path.is_dir() else (path.parent, path)
    if not csv_path.is_file():
        raise FileNotFoundError(f"no infoplane.csv at {csv_path}")
    if (run_dir / "config.yaml").is_file():
        run = load_run(run_dir)
        run.trajectory = read_trajectory(csv_path)
        return run
    return RunRecord(run_dir, {}, {}, {}, read_trajectory(csv_path))


def main() -> None:
    """Draw the information planes of the runs into one figure."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=Path("outputs/infoplane_compare.png"))
    parser.add_argument("--label-keys", nargs="+", default=None, help="legend from these config keys or groups")
    parser.add_argument("--layers", nargs="+", default=None, help="only these layers")
    parser.add_argument("--bits", action="store_true", help="plot in bits instead of nats")
    args = parser.parse_args()
    try:
        runs = [load(p) for p in args.runs]
    except FileNotFoundError as err:
        parser.error(str(err))
    if args.layers:
        for run in runs:
            run.trajectory = [r for r in run.trajectory if r["layer"] in args.layers]
    units = "bits" if args.bits else "nats"
    labels = run_labels(runs, args.label_keys)
    if len(runs) == 1:
        fig = plot_information_plane(
            [(labels[0], runs[0].trajectory)],
            units=units,
            title=f"Information plane ({plane_provenance(runs[0].trajectory)})",
        )
    else:
        fig = plot_runs(runs, labels, units=units, layers=args.layers)
    save_figure(fig, args.out)
    print(f"wrote {args.out} ({len(runs)} runs: {'; '.join(labels)})")


if __name__ == "__main__":
    main()
