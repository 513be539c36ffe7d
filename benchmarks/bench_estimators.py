#!/usr/bin/env python
"""Accuracy and speed of ssl_it's MI estimators on known-MI tasks, side by side with benchmark-mi.

For every task (Gaussian, Student-t, cubic-transformed Gaussian, Gaussian
mixture with integer labels) and every N in {1k, 5k, 10k} and d in {1, 5, 25}
(x and y both d-dimensional; for labels x is d-dimensional), it prints and
writes the true MI, each estimate, the absolute error and the wall time.

benchmark-mi (cbg-ethz/bmi 0.1.3) needs numpy<2 and JAX, so it lives in its
own venv (default ``.venv-bmi`` at the repository root) and runs in a
subprocess started with ``--bmi-worker``; the samples travel through an
``.npz`` file. Without that venv the bmi side is skipped with a note.

Budget (so a full run stays ~15 min on a shared 2-core CPU): neural
estimators, ours and bmi's, run only at N = ``--neural-n`` (5,000) and with
``--neural-steps`` (300) training steps each; bmi's histogram only at d = 1
(its joint histogram has bins^(2d) cells).

Usage:
    python benchmarks/bench_estimators.py [--quick] [--out outputs/bench/estimators.md]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BMI_PYTHON = ROOT / ".venv-bmi" / "bin" / "python"
TASKS = ("gaussian", "student_t", "cubic", "labels")
NEURAL = ("mine", "nwj", "infonce", "js", "smile", "club")
NOT_SHANNON = ("binning", "kde", "renyi")  # report a noise/bin/kernel-dependent quantity
BMI_NEURAL = ("bmi_mine", "bmi_infonce", "bmi_nwj", "bmi_dv")


# ----- bmi side: runs inside .venv-bmi, imports nothing from ssl_it --------------------
def bmi_worker(jobs_path: str, out_path: str) -> None:
    """Run benchmark-mi estimators on each job's samples; one JSON line per result."""
    import bmi  # noqa: F401  (fails early if the venv is wrong)
    from bmi.estimators import (
        CCAMutualInformationEstimator,
        DonskerVaradhanEstimator,
        HistogramEstimator,
        InfoNCEEstimator,
        KSGEnsembleFirstEstimator,
        MINEEstimator,
        NWJEstimator,
    )

    jobs = json.loads(Path(jobs_path).read_text())
    with open(out_path, "a") as out:
        for job in jobs:
            data = np.load(job["npz"])
            x, y = data["x"], data["y"].astype(float).reshape(len(data["y"]), -1)
            steps = job["neural_steps"]
            neural = {
                "max_n_steps": steps,
                "test_every_n_steps": max(steps // 3, 1),
                "verbose": False,
                "seed": job["seed"],
            }
            makers = {
                "bmi_ksg": lambda: KSGEnsembleFirstEstimator(neighborhoods=(3,)),
                "bmi_cca": lambda: CCAMutualInformationEstimator(),
            }
            if job["dim"] == 1 and job["task"] != "labels":
                makers["bmi_histogram"] = lambda: HistogramEstimator(n_bins_x=5)
            if job["neural"]:
                makers.update(
                    {
                        "bmi_mine": partial(MINEEstimator, **neural),
                        "bmi_infonce": partial(InfoNCEEstimator, **neural),
                        "bmi_nwj": partial(NWJEstimator, **neural),
                        "bmi_dv": partial(DonskerVaradhanEstimator, **neural),
                    }
                )
            for name, make in makers.items():
                start = time.perf_counter()
                try:
                    value, note = float(make().estimate(x, y)), ""
                except Exception as err:  # report, never abort the grid
                    value, note = float("nan"), f"{type(err).__name__}: {err}"[:120]
                row = {
                    "id": job["id"],
                    "estimator": name,
                    "estimate": value,
                    "seconds": time.perf_counter() - start,
                    "note": note,
                }
                out.write(json.dumps(row) + "\n")
                out.flush()


# ----- ssl_it side -----------------------------------------------------------------------
def task_sample(task: str, n: int, dim: int, seed: int):
    """``n`` samples of ``task`` in ``dim`` dimensions with known MI, from ``ssl_it.synthetic``."""
    from ssl_it import synthetic

    if task == "gaussian":
        return synthetic.correlated_gaussian(n, dim, synthetic.rho_for_mi(1.0, dim), seed)
    if task == "student_t":
        return synthetic.student_t(n, dim, synthetic.rho_for_mi(0.5, dim), df=3.0, seed=seed)
    if task == "cubic":
        return synthetic.transformed_gaussian(n, dim, synthetic.rho_for_mi(1.0, dim), "cubic", seed)
    return synthetic.gaussian_mixture_labels(n, 10, dim, separation=1.0, seed=seed)


def our_estimators(neural_steps: int) -> dict:
    """ssl_it's estimators by name, with default settings (neural ones trained ``neural_steps`` steps)."""
    import ssl_it.estimators as est

    return {
        "ksg": est.KSGMI(),
        "gaussian": est.GaussianMI(),
        "binning": est.BinningMI(),
        "kde": est.KDEMI(),
        "renyi": est.RenyiMI(),
        "mine": est.MINE(steps=neural_steps),
        "nwj": est.NWJ(steps=neural_steps),
        "infonce": est.InfoNCEBound(steps=neural_steps),
        "js": est.JSMI(steps=neural_steps),
        "smile": est.SMILE(steps=neural_steps),
        "club": est.CLUB(steps=neural_steps),
    }


def run_bmi(jobs: list[dict], workdir: Path, python: Path, timeout: float) -> tuple[list[dict], str]:
    """Run the bmi worker once for all jobs; return its rows and a note."""
    if not python.exists():
        return [], f"benchmark-mi skipped: {python} not found"
    jobs_path, out_path = workdir / "jobs.json", workdir / "bmi_rows.jsonl"
    jobs_path.write_text(json.dumps(jobs))
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "PYTHONWARNINGS": "ignore", "TF_CPP_MIN_LOG_LEVEL": "3"}
    note = ""
    try:
        proc = subprocess.run(
            [str(python), __file__, "--bmi-worker", str(jobs_path), str(out_path)],
            env=env,
            timeout=timeout,
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            note = f"benchmark-mi worker exited {proc.returncode}: {proc.stderr.strip()[-300:]}"
    except subprocess.TimeoutExpired:
        note = f"benchmark-mi worker stopped after {timeout:.0f} s; partial results kept"
    rows = [json.loads(line) for line in out_path.read_text().splitlines()] if out_path.exists() else []
    return rows, note


def versions(python: Path) -> str:
    """The Python, torch, numpy and scipy versions, and benchmark-mi's and jax's in ``python``."""
    import scipy
    import torch

    parts = [
        f"python {platform.python_version()}",
        f"torch {torch.__version__}",
        f"numpy {np.__version__}",
        f"scipy {scipy.__version__}",
    ]
    if python.exists():
        out = subprocess.run(
            [str(python), "-c", "import importlib.metadata as m; print(m.version('benchmark-mi'), m.version('jax'))"],
            capture_output=True,
            text=True,
        )
        if out.returncode == 0:
            bmi_v, jax_v = out.stdout.split()
            parts += [f"benchmark-mi {bmi_v}", f"jax {jax_v}"]
    return ", ".join(parts)


def write_tables(rows: list[dict], out: Path, header: str) -> None:
    """Write the rows as CSV and as Markdown tables (summary, then one table per task)."""
    import csv

    out.parent.mkdir(parents=True, exist_ok=True)
    fields = ["task", "dim", "n", "true_mi", "estimator", "estimate", "abs_error", "seconds", "note"]
    with open(out.with_suffix(".csv"), "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows({k: r.get(k, "") for k in fields} for r in rows)
    names = list(dict.fromkeys(r["estimator"] for r in rows))
    lines = [
        header,
        "",
        "## Summary over the grid",
        "",
        "| estimator | cells | mean abs error (nats) | median time (s) | max time (s) |",
        "|---|---|---|---|---|",
    ]
    for name in names:
        mine = [r for r in rows if r["estimator"] == name and np.isfinite(r["estimate"])]
        if not mine:
            continue
        err = np.mean([r["abs_error"] for r in mine])
        secs = [r["seconds"] for r in mine]
        mark = " †" if name in NOT_SHANNON else ""
        lines.append(f"| {name}{mark} | {len(mine)} | {err:.3f} | {np.median(secs):.3f} | {max(secs):.2f} |")
    for task in dict.fromkeys(r["task"] for r in rows):
        cells = sorted({(r["dim"], r["n"]) for r in rows if r["task"] == task})
        truth = {(r["dim"], r["n"]): r["true_mi"] for r in rows if r["task"] == task}
        lines += [
            "",
            f"## {task}: estimate (seconds)",
            "",
            "| estimator | " + " | ".join(f"d={d}, N={n}" for d, n in cells) + " |",
            "|---|" + "---|" * len(cells),
            "| **true MI** | " + " | ".join(f"**{truth[c]:.3f}**" for c in cells) + " |",
        ]
        for name in names:
            got = {(r["dim"], r["n"]): r for r in rows if r["task"] == task and r["estimator"] == name}
            if got:
                cols = [f"{got[c]['estimate']:.3f} ({got[c]['seconds']:.2f})" if c in got else "" for c in cells]
                lines.append(f"| {name} | " + " | ".join(cols) + " |")
    lines += [
        "",
        "† binning, kde and renyi report a bin/noise/kernel-dependent quantity (docs/design.md §2), "
        "not the Shannon MI of the continuous pair; their error column is not an accuracy.",
    ]
    out.write_text("\n".join(lines) + "\n")


def main() -> None:
    """Run the estimator grid (and benchmark-mi's in its own venv) and write the tables."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small grid: N=1000, d in {1, 5}, two tasks")
    parser.add_argument("--out", type=Path, default=ROOT / "outputs" / "bench" / "estimators.md")
    parser.add_argument("--neural-n", type=int, default=5000, help="the only N at which neural estimators run")
    parser.add_argument("--neural-steps", type=int, default=300)
    parser.add_argument("--bmi-python", type=Path, default=BMI_PYTHON)
    parser.add_argument("--bmi-timeout", type=float, default=900.0)
    parser.add_argument("--no-bmi", action="store_true")
    parser.add_argument("--bmi-worker", nargs=2, metavar=("JOBS", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bmi_worker:
        bmi_worker(*args.bmi_worker)
        return

    tasks, ns, dims = (TASKS[::3], (1000,), (1, 5)) if args.quick else (TASKS, (1000, 5000, 10000), (1, 5, 25))
    neural_n = 1000 if args.quick else args.neural_n
    estimators = our_estimators(args.neural_steps)
    rows, jobs, truth = [], [], {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for task in tasks:
            for dim in dims:
                for n in ns:
                    cell = f"{task}-{dim}-{n}"
                    sample = task_sample(task, n, dim, seed=0)
                    truth[cell] = (task, dim, n, sample.mi)
                    np.savez(workdir / f"{cell}.npz", x=sample.x, y=sample.y)
                    jobs.append(
                        {
                            "id": cell,
                            "npz": str(workdir / f"{cell}.npz"),
                            "task": task,
                            "dim": dim,
                            "neural": n == neural_n,
                            "neural_steps": args.neural_steps,
                            "seed": 0,
                        }
                    )
                    for name, est in estimators.items():
                        if name in NEURAL and n != neural_n:
                            continue
                        info = est.estimate_with_info(sample.x, sample.y)
                        rows.append(
                            {
                                "id": cell,
                                "estimator": name,
                                "estimate": info.value,
                                "seconds": info.seconds,
                                "note": info.diagnostics.get("failure", ""),
                            }
                        )
                        print(
                            f"{cell:22s} {name:10s} true {sample.mi:7.3f} est {info.value:8.3f} {info.seconds:7.2f} s",
                            flush=True,
                        )
        ours_s = time.perf_counter() - started
        note = "benchmark-mi skipped (--no-bmi)"
        if not args.no_bmi:
            bmi_rows, note = run_bmi(jobs, workdir, args.bmi_python, args.bmi_timeout)
            rows += bmi_rows
            note = note or f"benchmark-mi: {len(bmi_rows)} results"
    for r in rows:
        task, dim, n, mi = truth[r["id"]]
        r.update(task=task, dim=dim, n=n, true_mi=mi, abs_error=abs(r["estimate"] - mi))
    header = (
        f"# MI estimator benchmark\n\nMachine: {os.cpu_count()}-core CPU (shared), {platform.platform()}. "
        f"Date: {time.strftime('%Y-%m-%d')}. Versions: {versions(args.bmi_python)}.\n\n"
        f"Command: `python benchmarks/bench_estimators.py{' --quick' if args.quick else ''}`; "
        f"neural estimators at N={neural_n} only, {args.neural_steps} steps (ours: batch 128, separable "
        f"critic 2x128; bmi: its defaults, batch 256). ssl_it side took {ours_s:.0f} s. {note}.\n\n"
        "Tasks: gaussian (MI 1 nat), student_t (df 3, Gaussian part 0.5 nat), cubic (x^3, y^3 of the "
        "Gaussian task), labels (10-class mixture, unit spacing along one axis; bmi gets y as a float "
        "column). bmi_ksg: KSG ensemble with k = 3; ssl_it ksg: k = 3, algorithm 1."
    )
    write_tables(rows, args.out, header)
    print(f"\nwrote {args.out} and {args.out.with_suffix('.csv')} ({note})")


if __name__ == "__main__":
    sys.exit(main())
