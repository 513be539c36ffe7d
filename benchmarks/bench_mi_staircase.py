#!/usr/bin/env python
"""The MI staircase for neural bounds (Poole et al. 2019, arXiv:1905.06922, Fig. 2).

A 20-D correlated Gaussian whose true MI is stepped through 2, 4, 6, 8, 10
nats; each neural estimator (MINE, NWJ, InfoNCE, JS, SMILE, CLUB) follows
it with a warm-started separable critic and batch 64. The figure shows
each estimator's per-step training-batch bound (light), its held-out value
at the end of every level (dots), the truth (black) and InfoNCE's
log(64) ceiling (dashed).

Usage:
    python benchmarks/bench_mi_staircase.py [--steps 1000] [--out outputs/bench/staircase.png]
"""

from __future__ import annotations

import argparse
import csv
import math
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
LEVELS = (2.0, 4.0, 6.0, 8.0, 10.0)


def smooth(values: list[float], alpha: float = 0.05) -> np.ndarray:
    """Exponential moving average of a training curve (NaN-safe)."""
    out, acc = np.empty(len(values)), None
    for i, v in enumerate(values):
        if math.isfinite(v):
            acc = v if acc is None else (1 - alpha) * acc + alpha * v
        out[i] = np.nan if acc is None else acc
    return out


def run(steps: int, n: int, dim: int, batch: int, seed: int) -> tuple[dict, list[dict]]:
    """Train each neural estimator through the MI staircase; returns the curves and summary rows."""
    import ssl_it.estimators as est
    from ssl_it import synthetic

    common = {
        "steps": steps,
        "batch_size": batch,
        "hidden": 256,
        "layers": 2,
        "embed_dim": 32,
        "lr": 5e-4,
        "eval_every": max(steps // 4, 1),
        "patience": 1000,
        "test_fraction": 0.2,
        "seed": seed,
    }
    makers = {
        "MINE": est.MINE,
        "NWJ": est.NWJ,
        "InfoNCE": est.InfoNCEBound,
        "JS": est.JSMI,
        "SMILE": est.SMILE,
        "CLUB": est.CLUB,
    }
    curves, rows = {}, []
    for label, cls in makers.items():
        estimator, curve, start = cls(**common), [], time.perf_counter()
        for level, mi in enumerate(LEVELS):
            sample = synthetic.correlated_gaussian(n, dim, synthetic.rho_for_mi(mi, dim), seed=seed + level)
            info = estimator.estimate_with_info(sample.x, sample.y)
            curve += info.diagnostics.get("train_curve", [])
            rows.append(
                {
                    "estimator": label,
                    "true_mi": mi,
                    "heldout": info.value,
                    "bound": info.bound,
                    "ceiling": info.ceiling,
                    "failure": info.diagnostics.get("failure", ""),
                }
            )
            print(f"{label:8s} true {mi:5.1f}  held-out {info.value:8.3f}  ({info.bound})", flush=True)
        curves[label] = curve
        print(f"{label:8s} {time.perf_counter() - start:.1f} s", flush=True)
    return curves, rows


def plot(curves: dict, rows: list[dict], steps: int, batch: int, out: Path) -> None:
    """Save one panel per estimator: its estimate along the steps against the true staircase."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(13, 7), sharex=True, sharey=True)
    truth_x = np.arange(steps * len(LEVELS))
    truth = np.repeat(LEVELS, steps)
    for ax, (label, curve) in zip(axes.flat, curves.items()):
        ax.plot(np.arange(len(curve)), curve, color="tab:blue", alpha=0.15, lw=0.5)
        ax.plot(np.arange(len(curve)), smooth(curve), color="tab:blue", lw=1.2, label="train batch (EMA)")
        ax.plot(truth_x, truth, color="black", lw=1.5, label="true MI")
        ax.axhline(math.log(batch), color="tab:red", ls="--", lw=1, label=f"log({batch}) (InfoNCE ceiling)")
        held = [r["heldout"] for r in rows if r["estimator"] == label]
        ax.scatter(
            [steps * (i + 1) - 1 for i in range(len(held))], held, color="tab:orange", zorder=3, label="held-out value"
        )
        ax.set_title(label)
        ax.set_ylim(-1, 14)
    for ax in axes[-1]:
        ax.set_xlabel("training step (warm start across levels)")
    for ax in axes[:, 0]:
        ax.set_ylabel("MI (nats)")
    axes.flat[0].legend(loc="upper left", fontsize=7)
    fig.suptitle(f"MI staircase: 20-D Gaussian, batch {batch}, {steps} steps per level")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)


def main() -> None:
    """Run the staircase and save the figure."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=1000, help="training steps per MI level")
    parser.add_argument("--n", type=int, default=20000, help="samples per level (20%% held out)")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ROOT / "outputs" / "bench" / "staircase.png")
    args = parser.parse_args()
    curves, rows = run(args.steps, args.n, 20, args.batch, args.seed)
    plot(curves, rows, args.steps, args.batch, args.out)
    with open(args.out.with_suffix(".csv"), "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {args.out} and {args.out.with_suffix('.csv')}")


if __name__ == "__main__":
    main()
