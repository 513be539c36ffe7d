"""Overlay the information-plane trajectories of several runs in one figure.

    python scripts/plot_infoplane.py outputs/multirun/2026-11-28/12-00-00/* --out plane.png
    python scripts/plot_infoplane.py RUN_A RUN_B --label-keys objective._target_ estimator._target_ --bits

Each argument is a run directory holding ``infoplane.csv`` (and
``config.yaml``, from which the legend label is built), or a trajectory file.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from omegaconf import OmegaConf

from ssl_it.callbacks.plotting import plot_information_plane, save_figure
from ssl_it.callbacks.trajectory import read_trajectory

DEFAULT_LABEL_KEYS = ["objective._target_", "estimator._target_", "seed"]


def run_label(run_dir: Path, keys: list[str]) -> str:
    """A legend label from the run's resolved config (last dotted part of targets)."""
    cfg_path = run_dir / "config.yaml"
    if not cfg_path.is_file():
        return run_dir.name
    cfg = OmegaConf.load(cfg_path)
    parts = []
    for key in keys:
        value = OmegaConf.select(cfg, key, default=None)
        if value is not None:
            parts.append(str(value).rsplit(".", 1)[-1] if key.endswith("_target_") else f"{key.split('.')[-1]}={value}")
    return " ".join(parts) or run_dir.name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=Path("outputs/infoplane_compare.png"))
    parser.add_argument("--label-keys", nargs="*", default=DEFAULT_LABEL_KEYS)
    parser.add_argument("--layers", nargs="*", default=None, help="only these layers")
    parser.add_argument("--bits", action="store_true", help="plot in bits instead of nats")
    args = parser.parse_args()
    runs = []
    for run in args.runs:
        path = run / "infoplane.csv" if run.is_dir() else run
        if not path.is_file():
            parser.error(f"no infoplane.csv at {path}")
        rows = read_trajectory(path)
        if args.layers:
            rows = [r for r in rows if r["layer"] in args.layers]
        runs.append((run_label(path.parent, args.label_keys), rows))
    fig = plot_information_plane(runs, title="Information plane", units="bits" if args.bits else "nats")
    save_figure(fig, args.out)
    print(f"wrote {args.out} ({len(runs)} runs)")


if __name__ == "__main__":
    main()
