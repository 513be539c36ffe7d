#!/usr/bin/env python
"""The information plane's default estimators, with their bands, on layers that look like real ones.

    python benchmarks/bench_layers.py [--quick] [--out outputs/bench/layers.md]
    python benchmarks/bench_layers.py --sizes 512 2048 8192 --families ladder heavy atoms --defaults-only \
        --no-invariance --out outputs/bench/layers_n.md   # levels and bands against N
    python benchmarks/bench_highdim.py --sections layers   # the same, as a section of the estimator bench

Task families (``ssl_it.synthetic``; truths in nats, closed form or Monte Carlo):

* ``ladder``: a spiked channel, 4 signal directions in 64 x d with unit noise
  in every coordinate (d = 256, 1,024), per-direction SNR of T from 8 down
  to 0.15 (six rungs); a rung is *detectable* when its SNR exceeds the BBP
  threshold ``sqrt(d / N)``. Also one rung with heavy tails (each
  coordinate of T through ``sinh(2 t)``, strictly monotone: MI unchanged).
* ``wide``: the spiked channel with 16 signal directions (64 x 256, SNR
  1, 3 and 8), and 16-d Student-t and cubed-Gaussian pairs in noise: the
  shape of the default run's layers, whose reduced pairs keep the cap of
  16 axes a side at every evaluation.
* ``offmodel``: non-Gaussian 4-d pairs (Student-t with 3 degrees of
  freedom at 2.24 and 0.74 nats; a Gaussian pair at 2 nats with every
  coordinate cubed) placed in a 64 x 256 layer with unit noise in every
  other direction (``in_noise``): where a Gaussian model of the signal,
  which the twin bias correction uses, is wrong.
* ``atoms``: X uniform on 64 or 4,096 points (fewer or more than N),
  T = tanh(W X + b): ``I(X;T) = log M``; beyond N no estimator can see
  more than ~log N.
* ``views``: two views of M = 64, 512 or 4,096 atoms (16 directions of a
  256-wide layer), each with its own noise of sd 0.1, 0.3 or 1 in every
  coordinate (``clustered_views``; Monte Carlo truth, at most log M): the
  shape of I(Z1;Z2) on a probe set, a mixture of clusters.
* ``labels``: XOR of two latent signs (d = 128), four radial shells
  (d = 256), 10 classes whose means span 9 directions (d = 128), 10
  Zipf-imbalanced classes (d = 256), 100 classes with 5 (N = 512) or 20
  (N = 2,048) samples each (d = 512).

Estimators: the defaults of ``configs/estimator/calibrated.yaml``
(``pca_ksg`` for I(X;T), ``classifier`` for I(T;Y)), each with the
callback's band (``ssl_it.estimators.BandMaker``), against ``pca_ksg`` extrapolated
from N/2 (``bias_correction: extrapolate``, with two or four half-samples), ``pca_ksg_twin``
(``pca_ksg`` with its bias on Gaussian twins added) and the previous
defaults (16 fixed whitened axes; each unit z-scored instead of its scale
shrunk towards the layer's common one; the linear probe with layer
standardisation), and ``pca_ksg`` with KSG's k = 1 or 2 instead of 3. For
the ladder, the closed-form MI that ``pca_ksg``'s kept axes carry
(``spiked_channel_kept_mi``), the share of it the estimator reads off the
spectrum itself (``PCAReducedMI.kept_share``), and what T's axes would
carry if X chose them: where the level error comes from. Per cell over
3 seeds: mean, level error, band coverage (truth in [lo, hi]; with the
bias allowance, in [lo, hi + bias]); for the label lower bounds, how often
the band lies wholly above the truth. Then the rank correlation along each
ladder, and the change of each default when T is rotated or rescaled per
unit (N = 512, d = 256 / 1,024 / 2,048). One torch thread.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf
from scipy.stats import spearmanr
from task_rows import accuracy_row

from ssl_it import synthetic
from ssl_it.callbacks.infoplane.rows import BAND_TRANSFORMS
from ssl_it.estimators import KSGMI, BandMaker, ClassifierMI, MIEstimator, PCAReducedMI
from ssl_it.synthetic.classic import rho_for_mi, student_t, transformed_gaussian
from ssl_it.synthetic.layers import (
    clustered_views,
    in_noise,
    nonlinear_labels,
    spiked_channel,
    spiked_channel_kept_mi,
)

ROOT = Path(__file__).resolve().parents[1]
SNRS = (8.0, 3.0, 1.5, 0.8, 0.4, 0.15)
LADDER = {"latent_dim": 4, "dim_x": 64}


def _ksg() -> KSGMI:
    return KSGMI(k=3, metric="euclidean")


def _configured(name: str, **overrides: Any) -> MIEstimator:
    """The estimator ``configs/estimator/<name>.yaml`` builds (the callback's default), with ``overrides``."""
    node = OmegaConf.merge(OmegaConf.load(ROOT / "configs" / "estimator" / f"{name}.yaml"), overrides)
    return instantiate(node)


ESTIMATORS: dict[str, Callable[[], MIEstimator]] = {
    "pca_ksg": lambda: _configured("pca_ksg"),
    "pca_ksg_twin": lambda: _configured("pca_ksg_twin"),
    "pca_ksg[previous: 16 fixed axes]": lambda: PCAReducedMI(_ksg(), select="fixed", standardize="none"),
    "pca_ksg[standardize=rank]": lambda: _configured("pca_ksg", standardize="rank"),
    "pca_ksg[previous: standardize=unit]": lambda: _configured("pca_ksg", standardize="unit"),
    "pca_ksg[extrapolate]": lambda: _configured("pca_ksg", bias_correction="extrapolate"),
    "pca_ksg[extrapolate, halves=4]": lambda: _configured("pca_ksg", bias_correction="extrapolate", halves=4),
    "pca_ksg[k=1]": lambda: _configured("pca_ksg", estimator={"k": 1}),
    "pca_ksg[k=2]": lambda: _configured("pca_ksg", estimator={"k": 2}),
    "classifier": lambda: _configured("classifier"),
    "classifier[inner_folds=2]": lambda: _configured("classifier", inner_folds=2),
    "classifier[previous: linear]": lambda: ClassifierMI(standardize="layer"),
}
PAIR = (
    "pca_ksg",
    "pca_ksg_twin",
    "pca_ksg[previous: 16 fixed axes]",
    "pca_ksg[standardize=rank]",
    "pca_ksg[previous: standardize=unit]",
    "pca_ksg[extrapolate]",
    "pca_ksg[extrapolate, halves=4]",
    "pca_ksg[k=1]",
    "pca_ksg[k=2]",
)
LABEL = ("classifier", "classifier[previous: linear]", "classifier[inner_folds=2]")


@dataclass
class Task:
    """A known-MI layer stand-in: its name, family, label or pair kind, width and SNR."""

    name: str
    family: str  # ladder | atoms | labels
    labels: bool
    dim: int
    snr: float  # per-direction SNR of T (ladder), 0 otherwise
    make: Callable[[int, int], synthetic.KnownMISample]


def _heavy(sample: synthetic.KnownMISample) -> synthetic.KnownMISample:
    return synthetic.KnownMISample(sample.x, np.sinh(2.0 * sample.y), sample.mi, sample.name + " sinh")


def tasks(quick: bool) -> list[Task]:
    """The accuracy tasks (fewer with ``quick``)."""
    out = []
    for d in (256,) if quick else (256, 1024):
        for snr in SNRS:
            out.append(
                Task(
                    f"ladder d={d} snr={snr:g}",
                    "ladder",
                    False,
                    d,
                    snr,
                    lambda n, s, d=d, snr=snr: spiked_channel(n, dim_t=d, snr_t=snr, seed=s, **LADDER),
                )
            )
    out.append(
        Task(
            "ladder d=256 snr=3 heavy tails",
            "heavy",
            False,
            256,
            3.0,
            lambda n, s: _heavy(spiked_channel(n, 4, 64, 256, 3.0, seed=s)),
        )
    )
    for snr in (1.0, 3.0, 8.0):
        out.append(
            Task(
                f"16 directions d=256 snr={snr:g}",
                "wide",
                False,
                256,
                snr,
                lambda n, s, snr=snr: spiked_channel(n, 16, 64, 256, snr, seed=s),
            )
        )
    for name, make in (
        ("16-d student-t df=3 (4.70) in noise 64x256", lambda n, s: student_t(n, 16, rho_for_mi(4.0, 16), 3.0, seed=s)),
        (
            "16-d cubed gaussian (4.00) in noise 64x256",
            lambda n, s: transformed_gaussian(n, 16, rho_for_mi(4.0, 16), seed=s),
        ),
    ):
        out.append(Task(name, "wide", False, 256, 0.0, lambda n, s, make=make: in_noise(make(n, s), 64, 256, seed=s)))
    for name, make in (
        ("student-t df=3 (2.24) in noise 64x256", lambda n, s: student_t(n, 4, rho_for_mi(2.0, 4), 3.0, seed=s)),
        ("student-t df=3 (0.74) in noise 64x256", lambda n, s: student_t(n, 4, rho_for_mi(0.5, 4), 3.0, seed=s)),
        ("cubed gaussian (2.00) in noise 64x256", lambda n, s: transformed_gaussian(n, 4, rho_for_mi(2.0, 4), seed=s)),
    ):
        out.append(
            Task(name, "offmodel", False, 256, 0.0, lambda n, s, make=make: in_noise(make(n, s), 64, 256, seed=s))
        )
    for atoms in (64, 4096):
        out.append(
            Task(
                f"atoms M={atoms} 64x256",
                "atoms",
                False,
                256,
                0.0,
                lambda n, s, atoms=atoms: synthetic.deterministic_encoder(n, atoms, 64, 256, seed=s),
            )
        )
    for atoms, noises in ((64, (0.1,)), (512, (0.1, 0.3, 1.0)), (4096, (0.1, 0.3, 1.0))):
        for noise in noises:
            out.append(
                Task(
                    f"views M={atoms} k=16 d=256 noise={noise:g}",
                    "views",
                    False,
                    256,
                    0.0,
                    lambda n, s, atoms=atoms, noise=noise: clustered_views(n, atoms, 16, 256, noise, seed=s),
                )
            )
    out += [
        Task("xor d=128", "labels", True, 128, 0.0, lambda n, s: nonlinear_labels(n, 128, "xor", 4.0, seed=s)),
        Task(
            "radial 4 shells d=256",
            "labels",
            True,
            256,
            0.0,
            lambda n, s: nonlinear_labels(n, 256, "radial", 6.0, latent_dim=3, n_classes=4, seed=s),
        ),
        Task(
            "10 classes, means span 9 dims, d=128",
            "labels",
            True,
            128,
            0.0,
            lambda n, s: synthetic.subspace_mixture(n, 128, 10, 9, 1.0, seed=s),
        ),
        Task(
            "10 classes Zipf-imbalanced d=256",
            "labels",
            True,
            256,
            0.0,
            lambda n, s: synthetic.subspace_mixture(n, 256, 10, 4, 1.5, seed=s, imbalance=1.0),
        ),
        Task(
            "100 classes d=512",
            "labels",
            True,
            512,
            0.0,
            lambda n, s: synthetic.subspace_mixture(n, 512, 100, 16, 1.5, seed=s),
        ),
    ]
    return out


def band_row(
    name: str, x: np.ndarray, y: np.ndarray, ceiling: float, transforms: tuple[str, ...] | None = None
) -> dict[str, Any]:
    """The band of estimator ``name`` on ``(x, y)`` as a log row, with its seconds. ``transforms``: the maps of
    its invariance spread; by default the callback's for the quantity (``I_TY`` for labels, else ``I_XT``)."""
    est = ESTIMATORS[name]()
    labels = np.asarray(y).ndim == 1 and np.issubdtype(np.asarray(y).dtype, np.integer)
    if transforms is None:
        transforms = BAND_TRANSFORMS["I_TY" if labels else "I_XT"]
    start = time.perf_counter()
    band = BandMaker().band(est, x, y, ceiling, transforms=transforms)
    return {
        "value": band.value,
        "lo": band.lo,
        "hi": band.hi,
        "hi_bias": band.hi_with_bias,
        "level_hi": band.level_hi,
        "ceiling": ceiling,
        "sd": band.sampling_sd,
        "spread": band.invariance_spread,
        "invariance": band.invariance,
        "seconds": time.perf_counter() - start,
    }


def accuracy(
    log: list[dict[str, Any]],
    path: Path,
    quick: bool,
    sizes: tuple[int, ...] = (512, 2048),
    families: tuple[str, ...] | None = None,
    seeds: int = 3,
    defaults_only: bool = False,
    only: tuple[str, ...] | None = None,
    transforms: tuple[str, ...] | None = None,
) -> None:
    """Log every band not yet logged: task x probe size x seed x estimator (``only``: these estimators;
    ``transforms``: the pairs' invariance maps, instead of the callback's)."""
    done = {r["key"] for r in log}
    for task in tasks(quick):
        if families is not None and task.family not in families:
            continue
        for n in (512,) if quick else sizes:
            for seed in (0,) if quick else range(seeds):
                sample = None
                names = LABEL if task.labels else PAIR
                for name in names[:1] if defaults_only else names:
                    if only is not None and name not in only:
                        continue
                    key = f"acc|{task.name}|{n}|{seed}|{name}"
                    if key in done:
                        continue
                    sample = sample or task.make(n, seed)
                    ceiling = (
                        math.log(n)
                        if not task.labels
                        else float(
                            -(np.bincount(sample.y) / n * np.log(np.maximum(np.bincount(sample.y) / n, 1e-300))).sum()
                        )
                    )
                    row = {
                        **accuracy_row(key, task, n, seed, name, sample.mi),
                        "snr": task.snr,
                        **band_row(name, sample.x, sample.y, ceiling, None if task.labels else transforms),
                    }
                    _add(log, path, row)
            print(f"{task.name} N={n}: done", flush=True)


def reduction(
    log: list[dict[str, Any]], path: Path, quick: bool, sizes: tuple[int, ...] = (512, 2048), seeds: int = 3
) -> None:
    """Log what ``pca_ksg``'s kept axes carry of each ladder rung's MI (closed form, ``spiked_channel_kept_mi``)."""
    done = {r["key"] for r in log}
    for task in tasks(quick):
        if task.family != "ladder":
            continue
        for n in (512,) if quick else sizes:
            for seed in (0,) if quick else range(seeds):
                key = f"red|{task.name}|{n}|{seed}"
                if key in done:
                    continue
                sample, est = task.make(n, seed), ESTIMATORS["pca_ksg"]()
                wx, wt = (
                    est.projection(torch.from_numpy(v), side).numpy() for side, v in enumerate((sample.x, sample.y))
                )
                channel = {"dim_t": task.dim, "snr_t": task.snr, "seed": seed, **LADDER}
                row = {"key": key, "section": "reduction", "task": task.name, "n": n, "seed": seed}
                _add(
                    log,
                    path,
                    {
                        **row,
                        "dim": task.dim,
                        "snr": task.snr,
                        "truth": sample.mi,
                        "kept": spiked_channel_kept_mi(wx, wt, **channel),
                        "share": min(est.kept_share(sample.x, 0), est.kept_share(sample.y, 1)),
                        "guided": spiked_channel_kept_mi(wx, _x_guided_axes(est, sample.x, sample.y), **channel),
                    },
                )


def _x_guided_axes(est: PCAReducedMI, x: np.ndarray, t: np.ndarray, folds: int = 8) -> np.ndarray:
    """T's directions that covary with X's kept axes, ``t^T x'`` on 7 of 8 folds of the rows: the axes a
    reduction could take if it let X choose them (it would have to score them on the held-out fold).

    Not an estimator: the closed form of what these axes carry says whether X's help could rescue the
    rungs near the threshold, where T's own principal axes are poor estimates of its signal directions."""
    xr = est.reduce(torch.from_numpy(x), 0).numpy()
    fit = np.arange(len(t)) % folds != 0
    tc = t[fit] - t[fit].mean(0)
    return tc.T @ xr[fit]


def _network_layer(n: int, width: int) -> synthetic.KnownMISample:
    """X: ``n`` of scikit-learn's 8 x 8 digits (64-d); T: a randomly initialised ConvNet's 128 pooled
    features (the default backbone), or a 512-wide random projector on them (linear, batch norm, ReLU,
    linear). A network's layer, with units of unequal scales; its MI is not known (``nan``)."""
    from sklearn.datasets import load_digits

    from ssl_it.backbones import ConvNet

    torch.manual_seed(0)
    digits = load_digits()
    x = torch.tensor(digits.images[:n], dtype=torch.float32)[:, None] / 16
    net = ConvNet(input_shape=(1, 28, 28), channels=(32, 64, 128)).eval()
    projector = torch.nn.Sequential(
        torch.nn.Linear(128, 512), torch.nn.BatchNorm1d(512), torch.nn.ReLU(), torch.nn.Linear(512, 512)
    )
    with torch.no_grad():
        t = net(torch.nn.functional.interpolate(x, size=28, mode="bilinear"))
        if width != 128:
            t = projector(t)
    return synthetic.KnownMISample(digits.data[:n].astype(np.float64), t.double().numpy(), math.nan, "convnet")


def _invariance_cases(d: int, n: int) -> list[tuple[str, str, Any]]:
    if d in (128, 512):
        layer = _network_layer(n, d)
        task = "convnet features (random init), digits" if d == 128 else "random projector on them"
        names = ("pca_ksg", "pca_ksg[extrapolate]", "pca_ksg[previous: standardize=unit]")
        return [(name, task, layer) for name in names]
    return [
        ("pca_ksg", "spiked snr 8", spiked_channel(n, 4, 64, d, 8.0, seed=0)),
        ("pca_ksg", "spiked snr 3", spiked_channel(n, 4, 64, d, 3.0, seed=0)),
        ("pca_ksg[extrapolate]", "spiked snr 8", spiked_channel(n, 4, 64, d, 8.0, seed=0)),
        ("pca_ksg[extrapolate]", "spiked snr 3", spiked_channel(n, 4, 64, d, 3.0, seed=0)),
        ("pca_ksg_twin", "spiked snr 8", spiked_channel(n, 4, 64, d, 8.0, seed=0)),
        ("pca_ksg_twin", "spiked snr 3", spiked_channel(n, 4, 64, d, 3.0, seed=0)),
        ("pca_ksg[previous: standardize=unit]", "spiked snr 8", spiked_channel(n, 4, 64, d, 8.0, seed=0)),
        ("pca_ksg[previous: standardize=unit]", "spiked snr 3", spiked_channel(n, 4, 64, d, 3.0, seed=0)),
        ("classifier", "10-class mixture", synthetic.subspace_mixture(n, d, 10, 4, 1.5, seed=0)),
    ]


def invariance(log: list[dict[str, Any]], path: Path, quick: bool, n: int = 512, maps_per_kind: int = 3) -> None:
    """Log the relative change of each default's value under random rotations and per-unit rescalings of T.

    ``pca_ksg`` on the spiked channel at SNR 8 and 3 (detectable at every d here) and on a random-init
    ConvNet's layers (d = 128, 512), ``classifier`` on the 10-class mixture; ``maps_per_kind`` seeded maps
    of each kind, the median and the largest change kept."""
    done = {r["key"] for r in log}
    for d in (256,) if quick else (128, 256, 512, 1024, 2048):
        rng = np.random.default_rng(99)
        maps = {
            "rotation": [np.linalg.qr(rng.standard_normal((d, d)))[0] for _ in range(maps_per_kind)],
            "unit_scale": [np.exp(rng.uniform(math.log(0.1), math.log(10.0), d)) for _ in range(maps_per_kind)],
        }
        for name, task, sample in _invariance_cases(d, n):
            key = f"inv|{d}|{name}|{task}"
            if key in done:
                continue
            est = ESTIMATORS[name]()
            labels = name == "classifier"
            layer = sample.x if labels else sample.y

            def value(t: np.ndarray, est: MIEstimator = est, sample: Any = sample, labels: bool = labels) -> float:
                return est.estimate(t, sample.y) if labels else est.estimate(sample.x, t)

            base = value(layer)
            row = {"key": key, "section": "invariance", "dim": d, "estimator": name, "task": task, "value": base}
            for kind, ms in maps.items():
                changes = [
                    abs(value(layer @ m if m.ndim == 2 else layer * m) - base) / max(abs(base), 0.05) for m in ms
                ]
                row[kind], row[f"{kind}_max"] = float(np.median(changes)), max(changes)
            _add(log, path, row)
        print(f"invariance d={d}: done", flush=True)


def _add(log: list[dict[str, Any]], path: Path, row: dict[str, Any]) -> None:
    log.append(row)
    with path.open("a") as f:
        f.write(json.dumps(row) + "\n")


def report(log: list[dict[str, Any]]) -> list[str]:
    """The Markdown tables of the log: bands against the truth, ladders, invariance."""
    cells: dict[tuple[str, int, str], list[dict[str, Any]]] = {}
    for r in log:
        if r["section"] == "accuracy":
            cells.setdefault((r["task"], r["n"], r["estimator"]), []).append(r)
    out = [
        "| task | N | estimator | truth | mean ± sd | level error | band width | truth in band | "
        "in band + bias | in [lo, level_hi] (level_hi at the ceiling) | band above truth |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (task, n, name), rs in cells.items():
        v = np.array([r["value"] for r in rs])
        truth = float(np.mean([r["truth"] for r in rs]))  # Monte Carlo truths differ by seed: each row its own
        inside = sum(r["lo"] <= r["truth"] <= r["hi"] for r in rs)
        inside_b = sum(r["lo"] <= r["truth"] <= r["hi_bias"] for r in rs)
        above = sum(r["lo"] > r["truth"] for r in rs)
        reach = [r for r in rs if "level_hi" in r]  # rows logged before the column have none
        inside_l = sum(r["lo"] <= r["truth"] <= r["level_hi"] for r in reach)
        at_ceiling = sum(r["level_hi"] >= r["ceiling"] - 1e-9 for r in reach)  # a bound that says nothing
        level = f"{inside_l}/{len(reach)} ({at_ceiling})" if reach else "–"
        detect = ""
        if rs[0]["family"] in ("ladder", "heavy", "wide") and rs[0]["snr"] > 0:
            detect = " (detectable)" if rs[0]["snr"] > math.sqrt(rs[0]["dim"] / n) else " (below threshold)"
        sd = v.std(ddof=1) if len(v) > 1 else 0
        out.append(
            f"| {task}{detect} | {n:,} | {name} | {truth:.3f} | {v.mean():.3f} ± {sd:.3f} | "
            f"{100 * (v.mean() - truth) / truth:+.0f} % | {np.mean([r['hi'] - r['lo'] for r in rs]):.3f} | "
            f"{inside}/{len(rs)} | {inside_b}/{len(rs)} | {level} | {above}/{len(rs)} |"
        )
    out += reduction_table(log, cells)
    out += [
        "",
        "Ladders: Spearman correlation of the mean value with the truth over the rungs, and consecutive "
        "rungs read in the right order.",
        "",
        "| ladder | N | estimator | Spearman | ordered pairs |",
        "|---|---|---|---|---|",
    ]
    for d in sorted({r["dim"] for r in log if r.get("family") == "ladder"}):
        for n in sorted({r["n"] for r in log if r["section"] == "accuracy"}):
            for name in PAIR:
                means = [
                    np.mean([r["value"] for r in cells.get((f"ladder d={d} snr={s:g}", n, name), [])] or [np.nan])
                    for s in SNRS
                ]
                if any(np.isnan(means)):
                    continue
                ordered = sum(a > b for a, b in zip(means, means[1:]))
                out.append(
                    f"| d = {d} | {n:,} | {name} | {spearmanr(means, SNRS)[0]:.2f} | {ordered}/{len(SNRS) - 1} |"
                )
    out += [
        "",
        "Invariance at N = 512: |value(mapped T) - value(T)| / max(|value(T)|, 0.05), median (largest) over "
        "the random maps (rotations; per-unit factors log-uniform in [0.1, 10]).",
        "",
        "| d | estimator | task | value | rotation | per-unit rescaling |",
        "|---|---|---|---|---|---|",
    ]
    for r in log:
        if r["section"] == "invariance":
            rot, scale = (
                f"{100 * r[k]:.1f} % ({100 * r.get(f'{k}_max', r[k]):.1f} %)" for k in ("rotation", "unit_scale")
            )
            out.append(
                f"| {r['dim']:,} | {r['estimator']} | {r.get('task', '')} | {r['value']:.3f} | {rot} | {scale} |"
            )
    return out


def reduction_table(log: list[dict[str, Any]], cells: dict[tuple[str, int, str], list[dict[str, Any]]]) -> list[str]:
    """Where each ladder rung's level error comes from: what pca_ksg's kept axes carry (closed form), and what
    the estimators read (mean over seeds; errors against the truth)."""
    kept: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for r in log:
        if r["section"] == "reduction":
            kept.setdefault((r["task"], r["n"]), []).append(r)
    if not kept:
        return []
    names = [name for name in ("pca_ksg", "pca_ksg_twin") if any(k[2] == name for k in cells)]
    out = [
        "",
        "Where the level error comes from: what `pca_ksg`'s kept axes carry of the rung's MI (closed form, "
        "`spiked_channel_kept_mi`; no estimator on these axes can read more), the share the estimator itself "
        "reads off the spectrum (`kept_share`, the row's `kept_share_XT`), what T's axes would carry if X chose "
        "them (their covariance with X's kept axes on 7/8 of the rows), and what the estimators read.",
        "",
        "| rung | N | truth | kept axes carry | `kept_share` (its own reading) | X-guided axes would carry | "
        + " | ".join(names)
        + " |",
        "|---|---|---|---|---|---|" + "---|" * len(names),
    ]
    for (task, n), rs in kept.items():
        truth = rs[0]["truth"]
        detect = "detectable" if rs[0]["snr"] > math.sqrt(rs[0]["dim"] / n) else "below threshold"
        reads = [
            f"{100 * (np.mean([r['value'] for r in cells[(task, n, name)]]) / truth - 1):+.0f} %"
            if (task, n, name) in cells
            else ""
            for name in names
        ]
        carry, guided, share = (np.mean([r.get(k, np.nan) for r in rs]) for k in ("kept", "guided", "share"))
        out.append(
            f"| {task} ({detect}) | {n:,} | {truth:.3f} | {carry:.3f} ({100 * (carry / truth - 1):+.0f} %) | "
            f"{share:.2f} (closed form: {carry / truth:.2f}) | "
            f"{guided:.3f} ({100 * (guided / truth - 1):+.0f} %) | " + " | ".join(reads) + " |"
        )
    return out


def n_table(log: list[dict[str, Any]]) -> list[str]:
    """Pivot of the continuous-pair rungs against N: level error (mean over seeds), ``*`` where the rung is
    below the detectability threshold sqrt(d/N), and band coverage with the bias allowance (in band + bias)."""
    cells: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for r in log:
        if r["section"] == "accuracy" and not r["labels"] and r["estimator"] == PAIR[0]:
            cells.setdefault((r["task"], r["n"]), []).append(r)
    sizes = sorted({n for _, n in cells})
    head = " | ".join(f"error N={n:,}" for n in sizes) + " | " + " | ".join(f"covered N={n:,}" for n in sizes)
    out = [f"| rung | truth | {head} |", "|---|---|" + "---|" * (2 * len(sizes))]
    for task in dict.fromkeys(t for t, _ in cells):
        errs, covs, truth = [], [], None
        for n in sizes:
            rs = cells.get((task, n), [])
            if not rs:
                errs.append("")
                covs.append("")
                continue
            truth = rs[0]["truth"]
            below = rs[0]["family"] in ("ladder", "heavy", "wide") and 0 < rs[0]["snr"] <= math.sqrt(rs[0]["dim"] / n)
            err = 100 * (np.mean([r["value"] for r in rs]) - truth) / truth
            errs.append(f"{err:+.0f} %{' *' if below else ''}")
            covs.append(f"{sum(r['lo'] <= truth <= r['hi_bias'] for r in rs)}/{len(rs)}")
        out.append(f"| {task} | {truth:.3f} | " + " | ".join(errs) + " | " + " | ".join(covs) + " |")
    return out


def run(
    out: Path,
    quick: bool,
    resume: bool,
    sizes: tuple[int, ...] = (512, 2048),
    families: tuple[str, ...] | None = None,
    seeds: int = 3,
    defaults_only: bool = False,
    invariances: bool = True,
    only: tuple[str, ...] | None = None,
    transforms: tuple[str, ...] | None = None,
) -> None:
    """Run the sections into ``<out>.jsonl`` (resumable) and write the tables to ``out``."""
    torch.set_num_threads(1)
    out.parent.mkdir(parents=True, exist_ok=True)
    path = out.with_suffix(".jsonl")
    log = [json.loads(line) for line in path.read_text().splitlines()] if resume and path.exists() else []
    if not resume:
        path.write_text("")
    start = time.perf_counter()
    if invariances:
        invariance(log, path, quick)
    accuracy(log, path, quick, sizes, families, seeds, defaults_only, only, transforms)
    if families is None or "ladder" in families:
        reduction(log, path, quick, sizes, seeds)
    text = [
        "# The default estimators and their bands on layer-shaped tasks",
        "",
        f"`python benchmarks/bench_layers.py{' --quick' if quick else ''}` (N = {', '.join(map(str, sizes))}), "
        f"one thread, "
        f"{(time.perf_counter() - start) / 60:.0f} min in this invocation.",
        "",
        *report(log),
    ]
    out.write_text("\n".join(text) + "\n")
    print("\n".join(text))


def main() -> None:
    """Parse the command line and run (or only merge the tables of earlier logs)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="d = 256 only, N = 512, 1 seed")
    parser.add_argument("--out", default=str(ROOT / "outputs" / "bench" / "layers.md"))
    parser.add_argument("--resume", action="store_true", help="keep the rows already in <out>.jsonl")
    parser.add_argument(
        "--merge",
        nargs="+",
        default=None,
        help="only print the tables of these .jsonl logs, merged (no estimate is run)",
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 2048], help="probe sizes N")
    parser.add_argument(
        "--families",
        nargs="+",
        default=None,
        help="task families to run (ladder heavy wide offmodel atoms views labels; default: all)",
    )
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--defaults-only", action="store_true", help="only pca_ksg and classifier, not the others")
    parser.add_argument("--no-invariance", action="store_true", help="skip the rotation / rescaling table")
    parser.add_argument("--estimators", nargs="+", default=None, help="only these estimators (names as in the tables)")
    parser.add_argument(
        "--band-transforms",
        nargs="*",
        default=None,
        help="the pairs' invariance maps (default: the callback's for I(X;T), rotation unit_scale copula)",
    )
    args = parser.parse_args()
    if args.merge:
        log = [json.loads(line) for p in args.merge for line in Path(p).read_text().splitlines()]
        print("\n".join([*n_table(log), "", *report(log)]))
        return
    run(
        Path(args.out),
        args.quick,
        args.resume,
        tuple(args.sizes),
        None if args.families is None else tuple(args.families),
        args.seeds,
        args.defaults_only,
        not args.no_invariance,
        None if args.estimators is None else tuple(args.estimators),
        None if args.band_transforms is None else tuple(args.band_transforms),
    )


if __name__ == "__main__":
    main()
