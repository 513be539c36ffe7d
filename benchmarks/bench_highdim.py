#!/usr/bin/env python
"""MI estimators in the information plane's regime: 64-2,048 dimensions, N = 512-8,192.

    python benchmarks/bench_highdim.py [--quick] [--out outputs/bench/highdim.md]

Tasks (``ssl_it.synthetic``, truths in nats):

* ``channel``: latent Gaussian pair of k = 1, 4, 16 dims (rho = 0.8, 0.511
  nats per dim), x embedded in 64 dims (like the callback's projection of
  X), y in D = 64-2,048 dims (like a layer T), linearly or through tanh;
  one symmetric 1,024 x 1,024 task (like two views' embeddings).
* ``mixture``: 10 classes, means in a 4-dim subspace of D = 64-2,048 dims,
  against the label (truth by 1e6-draw Monte Carlo, standard error < 0.001).
* ``deterministic``: X uniform on 64 points of R^64, T = tanh(W X + b) in D
  dims: I(X;T) = log 64; and a 1-D version (atoms in low dimension).

Every estimator (configs/estimator/*.yaml, plus variants) runs at N = 512,
2,048, 8,192 over 3 sample seeds: mean, bias, spread (sd over seeds),
seconds, how many seeds sit within 2 % of the estimator's ceiling. Cells an
estimator cannot afford (O(N^2 d) beyond 1e10 operations; neural critics at
N = 8,192; sklearn's logistic regression beyond N = 2,048 or d = 256) are
listed as "not run" with the reason. Then the relative change of each
estimate when T is multiplied by 0.01 or 100, rotated, or mapped by a random
invertible matrix (N = 512, D = 256), and each estimator's seconds at
N = 512 for d = 128 and d = 2,048. One torch thread throughout (the
callback's setting). Raw rows go to ``<out>.jsonl`` as they are computed
(``--resume`` skips rows already there), tables to ``<out>``.

``--sections layers`` runs ``benchmarks/bench_layers.py`` instead: the default
estimators with their bands on layers shaped like real ones (signal
directions in full-rank noise, noise ladders, non-linear labels, many and
imbalanced classes, heavy tails, more atoms than N).
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from task_rows import accuracy_row
from typing_extensions import override

from ssl_it import synthetic
from ssl_it.estimators import MIEstimator
from ssl_it.estimators.base import Pair

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs" / "estimator"
NEURAL = ("mine", "nwj", "infonce", "js", "smile", "club")
QUADRATIC = ("kde", "kde[absolute]", "renyi", "ksg", "ksg[euclidean]", "ksg[gao2017]")
QUADRATIC_BUDGET = 5e9  # N^2 d multiply-adds
SEEDS = (0, 1, 2)


def instantiate(cfg: Any) -> Any:
    """Recursive ``_target_`` instantiation (the part of Hydra's that the configs use)."""
    if isinstance(cfg, dict):
        cfg = {k: instantiate(v) for k, v in cfg.items()}
        if "_target_" in cfg:
            module, name = cfg.pop("_target_").rsplit(".", 1)
            return getattr(importlib.import_module(module), name)(**cfg)
    return cfg


def calibrated_estimators() -> dict[str, MIEstimator]:
    """The estimator of each quantity named by calibrated.yaml's defaults list (``/estimator@I_XT: pca_ksg``)."""
    chosen = {}
    for entry in yaml.safe_load((CONFIGS / "calibrated.yaml").read_text())["defaults"]:
        if isinstance(entry, dict):
            ((package, name),) = entry.items()
            chosen[package.split("@")[1]] = from_config(name)()
    return chosen


def from_config(name: str, **overrides: Any) -> Callable[[], MIEstimator]:
    """A factory for the estimator of ``configs/estimator/<name>.yaml``, with dotted-key overrides."""

    def make() -> MIEstimator:
        cfg = yaml.safe_load((CONFIGS / f"{name}.yaml").read_text())
        for key, value in overrides.items():
            node = cfg
            *path, last = key.split(".")
            for part in path:
                node = node[part]
            node[last] = value
        return instantiate(cfg)

    return make


class SklearnLogistic(MIEstimator):
    """Reference probe: sklearn's multinomial logistic regression, same cross-fitting (5 stratified folds),
    C chosen by LogisticRegressionCV (4 inner folds, log-loss) on the training folds, training-fold z-scores."""

    name, bound = "sklearn_logreg", "lower"

    @override
    def settings(self) -> dict[str, Any]:
        return {"n_folds": 5, "Cs": 8, "inner_cv": 4}

    def _estimate(self, pair: Pair) -> tuple[float, dict[str, Any]]:
        import warnings

        from sklearn.linear_model import LogisticRegressionCV
        from sklearn.model_selection import StratifiedKFold
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        from ssl_it.estimators import label_entropy

        x, y = pair.x.cpu().numpy(), pair.y.cpu().numpy()
        nll = 0.0
        for train, test in StratifiedKFold(5, shuffle=True, random_state=self.seed).split(x, y):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                clf = make_pipeline(
                    StandardScaler(), LogisticRegressionCV(Cs=8, cv=4, scoring="neg_log_loss", max_iter=300)
                )
                clf.fit(x[train], y[train])
            logp = clf.predict_log_proba(x[test])
            cols = np.searchsorted(clf.classes_, y[test])
            nll -= float(np.maximum(logp[np.arange(len(test)), cols], math.log(1e-12)).sum())
        return label_entropy(pair.y) - nll / len(y), {}


ESTIMATORS: dict[str, Callable[[], MIEstimator]] = {
    "classifier": from_config("classifier"),
    "classifier[max_dim=128]": from_config("classifier", max_dim=128),
    "sklearn_logreg": SklearnLogistic,
    "pca_ksg": from_config("pca_ksg"),
    "pca_ksg[dim=8]": from_config("pca_ksg", dim=8),
    "pca_ksg[k=1]": from_config("pca_ksg", **{"estimator.k": 1}),
    "ksg": from_config("ksg"),
    "ksg[euclidean]": from_config("ksg", metric="euclidean"),
    "ksg[gao2017]": from_config("ksg", variant="gao2017"),
    "gaussian": from_config("gaussian"),
    "gaussian[max_dim=null]": from_config("gaussian", max_dim=None),
    "kde": from_config("kde"),
    "kde[absolute]": from_config("kde", scale="absolute"),
    "binning": from_config("binning"),
    "binning[layer_std]": from_config("binning", strategy="layer_std"),
    "renyi": from_config("renyi"),
    **{name: from_config(name) for name in NEURAL},
}
LABELS_ONLY = ("classifier", "classifier[max_dim=128]", "sklearn_logreg")


@dataclass
class Task:
    """A known-MI sample generator: its name, family, label or pair kind, width and latent size."""

    name: str
    family: str  # channel | mixture | deterministic
    labels: bool
    dim: int  # width of T
    latent: int  # latent dims (channel), subspace dims (mixture), 0 otherwise
    make: Callable[[int, int], synthetic.KnownMISample]


def tasks(quick: bool) -> list[Task]:
    """The accuracy grid's tasks (fewer with ``quick``)."""
    out = []
    grid = (
        [(4, "linear", 256), (4, "tanh", 1024)]
        if quick
        else [(k, emb, d) for k in (1, 4, 16) for emb in ("linear", "tanh") for d in (256, 1024)]
        + [(4, emb, d) for emb in ("linear", "tanh") for d in (64, 2048)]
    )
    for k, emb, d in grid:
        out.append(
            Task(
                f"channel k={k} {emb} 64x{d}",
                "channel",
                False,
                d,
                k,
                lambda n, s, k=k, emb=emb, d=d: synthetic.gaussian_channel(n, k, 64, 0.8, emb, s, d),
            )
        )
    if not quick:
        out.append(
            Task(
                "channel k=4 tanh 1024x1024",
                "channel",
                False,
                1024,
                4,
                lambda n, s: synthetic.gaussian_channel(n, 4, 1024, 0.8, "tanh", s),
            )
        )
    mix = [(0.75, 256), (1.5, 1024)] if quick else [(sep, d) for sep in (0.75, 1.5) for d in (64, 256, 1024, 2048)]
    for sep, d in mix:
        out.append(
            Task(
                f"mixture sep={sep} D={d}",
                "mixture",
                True,
                d,
                4,
                lambda n, s, sep=sep, d=d: synthetic.subspace_mixture(n, d, 10, 4, sep, seed=s),
            )
        )
    det = [(64, 64, 1024)] if quick else [(64, 64, 256), (64, 64, 2048), (64, 1, 1)]
    for m, dx, d in det:
        out.append(
            Task(
                f"deterministic M={m} {dx}x{d}",
                "deterministic",
                False,
                d,
                0,
                lambda n, s, m=m, dx=dx, d=d: synthetic.deterministic_encoder(n, m, dx, d, seed=s),
            )
        )
    return out


def skip_reason(name: str, task: Task, n: int, x_dim: int, seed: int) -> str | None:
    """Why ``name`` is not run on this cell (``None``: it is run)."""
    if task.labels is False and name in LABELS_ONLY:
        return "labels only"
    if name in NEURAL and n > 2048:
        return "neural: not run at N = 8,192 (budget)"
    if name == "sklearn_logreg" and (n > 2048 or task.dim > 256 or seed > 0):
        return "sklearn: seed 0 only, N <= 2,048, d <= 256 (up to minutes per call)"
    if name in QUADRATIC and n * n * (task.dim + (0 if task.labels else x_dim)) > QUADRATIC_BUDGET:
        return f"O(N^2 d) = {n * n * (task.dim + (0 if task.labels else x_dim)):.1e} > {QUADRATIC_BUDGET:.0e}"
    return None


def run(name: str, x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """One estimate of ``name`` on ``(x, y)``: value, ceiling, seconds and a note (an error becomes a NaN row)."""
    est = ESTIMATORS[name]()
    start = time.perf_counter()
    try:
        info = est.estimate_with_info(x, y)
        return {
            "value": info.value,
            "ceiling": info.ceiling,
            "seconds": time.perf_counter() - start,
            "note": str(info.diagnostics.get("failure", "")),
        }
    except Exception as err:  # report, never abort the grid
        return {
            "value": math.nan,
            "ceiling": None,
            "seconds": time.perf_counter() - start,
            "note": f"{type(err).__name__}: {err}"[:160],
        }


def transforms(d: int, seed: int) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    """Invertible maps of ``d``-dimensional rows (scalings, rotation, well-conditioned linear), seeded."""
    rng = np.random.default_rng(seed)
    rot = np.linalg.qr(rng.standard_normal((d, d)))[0]
    q1, q2 = np.linalg.qr(rng.standard_normal((d, d)))[0], np.linalg.qr(rng.standard_normal((d, d)))[0]
    lin = q1 @ np.diag(np.exp(rng.uniform(-1, 1, d))) @ q2  # condition number <= e^2
    return {
        "x0.01": lambda t: t * 0.01,
        "x100": lambda t: t * 100.0,
        "rotation": lambda t: t @ rot,
        "linear": lambda t: t @ lin,
    }


def evaluation_cost(log: Log, repeats: int = 5) -> None:
    """Seconds of one default information-plane evaluation's estimates, calibrated.yaml against KDE.

    The default run taps a 128-d backbone and a 1,024-d projector on N = 512: I(X;T) for both (x a
    64-d projection), I(T;Y) for both, I(Z1;Z2) between two 1,024-d views. Median of ``repeats``.
    """
    pair_b = synthetic.gaussian_channel(512, 4, 64, 0.8, "tanh", 0, 128)
    pair_p = synthetic.gaussian_channel(512, 4, 64, 0.8, "tanh", 1, 1024)
    views = synthetic.gaussian_channel(512, 4, 1024, 0.8, "tanh", 2)
    lab_b = synthetic.subspace_mixture(512, 128, 10, 4, 1.5, seed=0)
    lab_p = synthetic.subspace_mixture(512, 1024, 10, 4, 1.5, seed=1)
    calibrated = calibrated_estimators()
    plans = {
        "calibrated": calibrated,
        "kde (scale: absolute, the old default)": dict.fromkeys(
            ("I_XT", "I_TY", "I_Z1Z2"),
            instantiate({**yaml.safe_load((CONFIGS / "kde.yaml").read_text()), "scale": "absolute"}),
        ),
    }
    calls = [
        ("I_XT", pair_b.x, pair_b.y),
        ("I_XT", pair_p.x, pair_p.y),
        ("I_TY", lab_b.x, lab_b.y),
        ("I_TY", lab_p.x, lab_p.y),
        ("I_Z1Z2", views.x, views.y),
    ]
    for plan, ests in plans.items():
        key = f"cost|{plan}"
        if key in log.done:
            continue
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            for quantity, x, y in calls:
                ests[quantity].estimate(x, y)
            times.append(time.perf_counter() - start)
        log.add({"key": key, "section": "cost", "estimator": plan, "seconds": float(np.median(times))})
    print("evaluation cost: done", flush=True)


class Log:
    """Append-only JSON lines, flushed per row; ``done`` holds the keys already there (for --resume)."""

    def __init__(self, path: Path, resume: bool) -> None:
        self.path = path
        self.rows = [json.loads(line) for line in path.read_text().splitlines()] if resume and path.exists() else []
        self.done = {r["key"] for r in self.rows}
        if not resume:
            path.write_text("")

    def add(self, row: dict[str, Any]) -> None:
        """Append ``row`` to the log file and keep it."""
        self.rows.append(row)
        with self.path.open("a") as f:
            f.write(json.dumps(row) + "\n")


def accuracy_grid(log: Log, names: list[str], quick: bool, only: list[str]) -> None:
    """Log every estimator's value on every task, probe size and seed not yet logged."""
    ns = (512, 2048) if quick else (512, 2048, 8192)
    seeds = (0,) if quick else SEEDS
    for task in tasks(quick):
        if only and not any(part in task.name for part in only):
            continue
        for n in ns:
            for seed in seeds:
                sample = None
                for name in names:
                    key = f"acc|{task.name}|{n}|{seed}|{name}"
                    if key in log.done:
                        continue
                    sample = sample or task.make(n, seed)
                    row = {
                        **accuracy_row(key, task, n, seed, name, sample.mi),
                        "latent": task.latent,
                        "truth_se": sample.mi_se,
                    }
                    reason = skip_reason(name, task, n, sample.x.shape[1], seed)
                    row.update({"skipped": reason} if reason else run(name, sample.x, sample.y))
                    log.add(row)
            print(f"{task.name}  N={n}: done", flush=True)


def invariance(log: Log, names: list[str], n: int = 512, d: int = 256) -> None:
    """Log each estimator's change under the invertible maps of :func:`transforms`."""
    cases = [
        Task(
            f"channel k=4 tanh 64x{d}",
            "channel",
            False,
            d,
            4,
            lambda n, s: synthetic.gaussian_channel(n, 4, 64, 0.8, "tanh", s, d),
        ),
        Task(
            f"mixture sep=1.5 D={d}",
            "mixture",
            True,
            d,
            4,
            lambda n, s: synthetic.subspace_mixture(n, d, 10, 4, 1.5, seed=s),
        ),
    ]
    maps = transforms(d, 99)
    for task in cases:
        sample = task.make(n, 0)
        for name in names:
            if task.labels is False and name in LABELS_ONLY:
                continue
            for label, fn in {"identity": lambda t: t, **maps}.items():
                key = f"inv|{task.name}|{name}|{label}"
                if key in log.done:
                    continue
                x, y = (fn(sample.x), sample.y) if task.labels else (sample.x, fn(sample.y))
                log.add(
                    {
                        "key": key,
                        "section": "invariance",
                        "task": task.name,
                        "labels": task.labels,
                        "estimator": name,
                        "transform": label,
                        **run(name, x, y),
                    }
                )
        print(f"invariance {task.name}: done", flush=True)


def timing(log: Log, names: list[str], n: int = 512) -> None:
    """Log each estimator's seconds per call at ``n`` samples, 128 and 2,048 wide."""
    for d in (128, 2048):
        pair = synthetic.gaussian_channel(n, 4, 64, 0.8, "tanh", 0, d)
        labels = synthetic.subspace_mixture(n, d, 10, 4, 1.5, seed=0)
        for name in names:
            for kind, (x, y) in {"pair": (pair.x, pair.y), "labels": (labels.x, labels.y)}.items():
                key = f"time|{d}|{kind}|{name}"
                if key in log.done or (kind == "pair" and name in LABELS_ONLY):
                    continue
                if name == "sklearn_logreg" and d > 256:
                    continue
                run(name, x[:64], y[:64])  # warm-up (imports, allocator)
                log.add({"key": key, "section": "timing", "dim": d, "kind": kind, "estimator": name, **run(name, x, y)})
        print(f"timing d={d}: done", flush=True)


# ----- tables ---------------------------------------------------------------------------
def _cells(rows: list[dict[str, Any]]) -> dict[tuple[str, int, str], dict[str, Any]]:
    """(task, N, estimator) -> mean, sd, bias, seconds, at-ceiling count, skip reason, notes."""
    groups: dict[tuple[str, int, str], list[dict[str, Any]]] = {}
    for r in rows:
        if r["section"] == "accuracy":
            groups.setdefault((r["task"], r["n"], r["estimator"]), []).append(r)
    cells = {}
    for key, rs in groups.items():
        ran = [r for r in rs if not r.get("skipped")]
        if not ran:
            cells[key] = {"skipped": rs[0]["skipped"], "truth": rs[0]["truth"]}
            continue
        rs = ran
        vals = np.array([r["value"] for r in rs], dtype=float)
        ceil = [r["ceiling"] for r in rs]
        sat = sum(1 for v, c in zip(vals, ceil) if c is not None and math.isfinite(v) and v >= c - 0.02 * abs(c))
        mean = float(np.mean(vals))
        cells[key] = {
            "mean": mean,
            "sd": float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0,
            "truth": rs[0]["truth"],
            "bias": mean - rs[0]["truth"],
            "seconds": float(np.mean([r["seconds"] for r in rs])),
            "sat": sat,
            "runs": len(vals),
            "notes": sorted({r["note"] for r in rs if r.get("note")}),
        }
    return cells


def _fmt_cell(c: dict[str, Any] | None) -> str:
    if c is None:
        return ""
    if "skipped" in c:
        return f"not run: {c['skipped']}"
    if not math.isfinite(c["mean"]):
        return f"NaN ({'; '.join(c['notes'])[:60]})"
    rel = 100 * c["bias"] / c["truth"] if c["truth"] else float("nan")
    sat = f", {c['sat']}/{c['runs']} at ceiling" if c["sat"] else ""
    return f"{c['mean']:.3f} ± {c['sd']:.3f} ({rel:+.0f} %; {c['seconds']:.2f} s{sat})"


def accuracy_tables(rows: list[dict[str, Any]], names: list[str]) -> list[str]:
    """One Markdown table per task: mean ± sd per estimator and probe size."""
    cells = _cells(rows)
    task_names = list(dict.fromkeys(r["task"] for r in rows if r["section"] == "accuracy"))
    ns = sorted({r["n"] for r in rows if r["section"] == "accuracy"})
    out = []
    for task in task_names:
        truth = next(c["truth"] for (t, _, _), c in cells.items() if t == task)
        se = next((r["truth_se"] for r in rows if r.get("task") == task and r["section"] == "accuracy"), 0.0)
        out += [
            f"### {task} (truth {truth:.3f} nats{f' ± {se:.4f} MC' if se else ''})",
            "",
            "| estimator | " + " | ".join(f"N = {n:,}" for n in ns) + " |",
            "|---|" + "---|" * len(ns),
        ]
        for name in names:
            if any((task, n, name) in cells for n in ns):
                out.append(f"| {name} | " + " | ".join(_fmt_cell(cells.get((task, n, name))) for n in ns) + " |")
        out.append("")
    return out


def _rel(v: float, ref: float) -> float:
    return abs(v - ref) / max(abs(ref), 0.05)


def invariance_table(
    rows: list[dict[str, Any]], names: list[str]
) -> tuple[list[str], dict[tuple[str, str, str], float]]:
    """Markdown table and {(estimator, "pair" | "labels", "scale" | "rotation" | "linear"): worst change}."""
    inv = {(r["task"], r["estimator"], r["transform"]): r["value"] for r in rows if r["section"] == "invariance"}
    kinds = {r["task"]: "labels" if r["labels"] else "pair" for r in rows if r["section"] == "invariance"}
    task_names = list(kinds)
    labels = ("x0.01", "x100", "rotation", "linear")
    out = [
        "| estimator | " + " | ".join(f"{t}: {lab}" for t in task_names for lab in labels) + " |",
        "|---|" + "---|" * (len(task_names) * len(labels)),
    ]
    worst: dict[tuple[str, str, str], float] = {}
    for name in names:
        vals = []
        for t in task_names:
            ref = inv.get((t, name, "identity"))
            for lab in labels:
                v = inv.get((t, name, lab))
                if ref is None or v is None:
                    vals.append("")
                    continue
                change = _rel(v, ref) if math.isfinite(v) and math.isfinite(ref) else math.nan
                key = (name, kinds[t], "scale" if lab.startswith("x") else lab)
                worst[key] = max(worst.get(key, 0.0), change) if math.isfinite(change) else math.nan
                vals.append(f"{100 * change:.1f} %")
        if any(vals):
            out.append(f"| {name} | " + " | ".join(vals) + " |")
    return out, worst


def timing_table(rows: list[dict[str, Any]], names: list[str]) -> tuple[list[str], dict[tuple[str, str, int], float]]:
    """The seconds-per-call table and its cells."""
    t = {(r["estimator"], r["kind"], r["dim"]): r["seconds"] for r in rows if r["section"] == "timing"}
    out = [
        "| estimator | pair, d = 128 | pair, d = 2,048 | labels, d = 128 | labels, d = 2,048 |",
        "|---|---|---|---|---|",
    ]
    for name in names:
        vals = [t.get((name, kind, d)) for kind in ("pair", "labels") for d in (128, 2048)]
        if any(v is not None for v in vals):
            out.append(f"| {name} | " + " | ".join("" if v is None else f"{v:.3f}" for v in vals) + " |")
    return out, t


def cost_lines(rows: list[dict[str, Any]]) -> list[str]:
    """The evaluation-cost table (with the ratio of the two plans)."""
    cost = {r["estimator"]: r["seconds"] for r in rows if r["section"] == "cost"}
    out = ["| estimators | seconds |", "|---|---|"] + [f"| {k} | {v:.3f} |" for k, v in cost.items()]
    if len(cost) == 2:
        a, b = cost.values()
        out.append(f"| ratio | {a / b:.2f} |")
    return out


def summary_table(
    rows: list[dict[str, Any]],
    names: list[str],
    worst: dict[tuple[str, str, str], float],
    times: dict[tuple[str, str, int], float],
) -> list[str]:
    """One row per estimator: worst bias per regime, invariance and time."""
    cells = _cells(rows)
    meta = {r["task"]: r for r in rows if r["section"] == "accuracy"}

    def worst_bias(pred: Callable[[dict[str, Any], int], bool], name: str) -> str:
        sel = [c for (t, n, e), c in cells.items() if e == name and pred(meta[t], n)]
        ran = [c for c in sel if "skipped" not in c]
        if not ran:
            return "" if all(c.get("skipped") == "labels only" for c in sel) else "not run"
        rels = [abs(c["bias"]) / c["truth"] for c in ran]
        if not all(math.isfinite(r) for r in rels):
            return "NaN"
        labels = meta[next(t for (t, n, e) in cells if e == name and pred(meta[t], n))]["labels"]
        above = sum(1 for c in ran if c["bias"] > c["sd"])
        return (
            f"{100 * max(rels):.0f} %"
            + (f", {above} above truth + sd" if labels and above else "")
            + (f" ({len(ran)} of {len(sel)} cells)" if len(ran) < len(sel) else "")
        )

    def chan(m: dict[str, Any], n: int) -> bool:
        return m["family"] == "channel" and m["latent"] <= 4 and m["dim"] <= 1024 and n >= 2048

    def mix(m: dict[str, Any], n: int) -> bool:
        return m["family"] == "mixture" and m["dim"] <= 256 and n >= 2048

    def det(m: dict[str, Any], n: int) -> bool:
        return m["family"] == "deterministic" and n >= 2048

    def pct(key: tuple[str, str, str]) -> str:
        return f"{100 * worst[key]:.1f}" if key in worst else "–"

    out = [
        "| estimator | channels k ≤ 4, d ≤ 1,024, N ≥ 2,048 | mixtures d ≤ 256, N ≥ 2,048 | deterministic "
        "(log 64), N ≥ 2,048 | change (%) pair: rescale / rotation / linear | labels: rescale / rotation / linear "
        "| s, N = 512, pair d = 128 / 2,048 | labels d = 128 / 2,048 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in names:
        inv = [" / ".join(pct((name, kind, g)) for g in ("scale", "rotation", "linear")) for kind in ("pair", "labels")]
        secs = [
            " / ".join(f"{times[(name, kind, d)]:.3f}" if (name, kind, d) in times else "–" for d in (128, 2048))
            for kind in ("pair", "labels")
        ]
        out.append(
            f"| {name} | {worst_bias(chan, name)} | {worst_bias(mix, name)} | {worst_bias(det, name)} | "
            f"{inv[0]} | {inv[1]} | {secs[0]} | {secs[1]} |"
        )
    return out


def report(log: Log, out: Path, names: list[str], quick: bool, wall: float) -> None:
    """Write the Markdown report of the logged rows to ``out``."""
    inv_lines, worst = invariance_table(log.rows, names)
    time_lines, times = timing_table(log.rows, names)
    text = [
        "# MI estimators in the information plane's regime",
        "",
        f"`python benchmarks/bench_highdim.py{' --quick' if quick else ''}` "
        f"on {platform.processor() or platform.machine()}, "
        f"torch {torch.__version__}, 1 thread; {sum(r.get('seconds', 0.0) for r in log.rows) / 3600:.1f} h "
        f"inside the estimators (this invocation: {wall / 60:.0f} min). Cells: mean ± sd over seeds "
        "(relative bias; mean seconds per call; seeds within 2 % of the estimator's ceiling).",
        "",
        "## Summary",
        "",
        *summary_table(log.rows, names, worst, times),
        "",
        "Accuracy columns: the worst |mean - truth| / truth over the cells named (means over 3 seeds); for "
        "labels, how many cells have a mean above the truth by more than their spread; cells not run are "
        "counted. Change: the worst |value(transformed T) - value(T)| / max(|value(T)|, 0.05) at N = 512, "
        "D = 256 (channel k = 4 tanh; mixture sep = 1.5), T multiplied by 0.01 and 100, rotated, or mapped "
        "by a random invertible matrix (condition number <= e^2).",
        "",
        "## Invariance (relative change of the estimate)",
        "",
        *inv_lines,
        "",
        "## One default evaluation's estimates (N = 512: I(X;T) and I(T;Y) for a 128-d and a 1,024-d layer, "
        "I(Z1;Z2) for two 1,024-d views), median of 5",
        "",
        *cost_lines(log.rows),
        "",
        "## Seconds per call at N = 512 (pair: channel k = 4 tanh 64 x d; labels: mixture, d dims)",
        "",
        *time_lines,
        "",
        "## Accuracy, task by task",
        "",
        *accuracy_tables(log.rows, names),
    ]
    out.write_text("\n".join(text) + "\n")
    print(f"wrote {out} and {log.path}")


def main() -> None:
    """Run the chosen sections (resumable) and write the report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 tasks per family, N = 512 and 2,048, 1 seed")
    parser.add_argument("--out", default=str(ROOT / "outputs" / "bench" / "highdim.md"))
    parser.add_argument("--estimators", default="", help="comma-separated subset of: " + ", ".join(ESTIMATORS))
    parser.add_argument("--sections", default="cost,timing,invariance,accuracy")
    parser.add_argument("--resume", action="store_true", help="keep the rows already in <out>.jsonl")
    parser.add_argument(
        "--tasks",
        default="",
        help="comma-separated substrings: run only the accuracy tasks "
        "whose name contains one (to split the grid over processes)",
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    names = [n for n in args.estimators.split(",") if n] or list(ESTIMATORS)
    unknown = set(names) - set(ESTIMATORS)
    if unknown:
        raise ValueError(f"--estimators: unknown {sorted(unknown)}; choose from {list(ESTIMATORS)}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    log = Log(out.with_suffix(".jsonl"), args.resume)
    start = time.perf_counter()
    sections = args.sections.split(",")
    if "layers" in sections:
        import bench_layers  # benchmarks/ is on the path when this file runs as a script

        bench_layers.run(out.with_name("layers.md"), args.quick, args.resume)
        sections.remove("layers")
        if not sections:
            return
    if "cost" in sections:
        evaluation_cost(log)
    if "timing" in sections:
        timing(log, names)
    if "invariance" in sections:
        invariance(log, names)
    if "accuracy" in sections:
        accuracy_grid(log, names, args.quick, [t for t in args.tasks.split(",") if t])
    report(log, out, list(ESTIMATORS) if args.resume else names, args.quick, time.perf_counter() - start)


if __name__ == "__main__":
    main()
