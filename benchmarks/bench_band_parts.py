"""Where one information-plane evaluation's estimates spend their time, part by part (CPU seconds, one thread).

The default run's shapes on layer-like synthetic data: N = 512 probe samples,
X a 64-d projection, a 128-wide backbone and a 1,024-wide projector carrying
12 latent directions plus noise, 10 classes, and a second view of the
projector. For each band (``configs/estimator/calibrated.yaml``, the
callback's ``BandMaker``) it times the estimate, the Gaussian bias check,
the sampling spread (half-samples), and each MI-preserving map of the
invariance spread (a random rotation, a per-unit rescaling, the Gaussian
copula; those ``infoplane.band_transforms`` gives each quantity) with its
re-estimate, each as the median of ``--repeats`` runs after one warm-up
(the rotations are drawn once and cached, as in the callback). CPU time of
this process, so other jobs on a shared machine inflate it less than wall
time. The last line spreads the maps and their re-estimates over the
evaluations that carry them (``infoplane.invariance_every``, from
``configs/infoplane/default.yaml``): the cost of an average evaluation of
the default run (8 evaluations, of which 3 re-estimate: the first, every
4th and the last). It spreads
the half-samples likewise (``infoplane.sampling_every``).

    python benchmarks/bench_band_parts.py [--repeats 3] [--invariance-every 4] [--sampling-every 4] [--evaluations 8]
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from ssl_it.callbacks.infoplane.rows import transforms_per_quantity
from ssl_it.estimators import BandMaker
from ssl_it.estimators.bands import _estimate_or_nan
from ssl_it.train import CONFIG_DIR


def layers(n: int = 512, seed: int = 0) -> dict[str, torch.Tensor]:
    """A seeded stand-in for one evaluation's tensors: input, backbone, projector, second view and labels."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 10, (n,), generator=g)
    lat = torch.randn(n, 12, generator=g, dtype=torch.float64)
    lat = lat + 2 * torch.nn.functional.one_hot(y, 10).double().repeat(1, 2)[:, :12]
    x = lat @ torch.randn(12, 64, generator=g, dtype=torch.float64)
    x = x + torch.randn(n, 64, generator=g, dtype=torch.float64)
    bb = torch.relu(
        lat @ torch.randn(12, 128, generator=g, dtype=torch.float64)
        + 0.5 * torch.randn(n, 128, generator=g, dtype=torch.float64)
    )
    pj = torch.relu(bb @ torch.randn(128, 1024, generator=g, dtype=torch.float64)) + 0.3 * torch.randn(
        n, 1024, generator=g, dtype=torch.float64
    )
    z2 = pj + 0.5 * torch.randn(n, 1024, generator=g, dtype=torch.float64)
    return {"x": x.float(), "backbone": bb.float(), "projector": pj.float(), "z2": z2.float(), "y": y}


def parts(
    maker: BandMaker, est: Any, a: torch.Tensor, b: torch.Tensor, transforms: tuple[str, ...]
) -> dict[str, float]:
    """Process-CPU seconds of each part of one band (estimate, bias check, sampling sd, ...)."""
    clock = time.process_time
    xt, yt = a.double(), b.double() if b.is_floating_point() else b
    out = {}
    start = clock()
    estimate = est.estimate_with_info(xt, yt)
    out["estimate"] = clock() - start
    if hasattr(est, "gaussian_bias"):
        start = clock()
        est.gaussian_bias(xt, yt)
        out["bias check"] = clock() - start
    start = clock()
    maker._sampling_sd(est, estimate, xt, yt)
    out["sampling spread"] = clock() - start
    for k, name in enumerate(t for t in transforms if t not in est.invariances):
        start = clock()
        xs = maker._transform(name, xt, 2 * k)
        ys = maker._transform(name, yt, 2 * k + 1) if yt.is_floating_point() else yt
        out[f"{name} map"] = clock() - start
        start = clock()
        _estimate_or_nan(est, xs, ys)
        out[f"{name} re-estimate"] = clock() - start
    return out


def main() -> None:
    """Print the cost of each band part for the default estimators, median over ``--repeats``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--invariance-every",
        type=int,
        default=None,
        help="default: infoplane.invariance_every of configs/infoplane/default.yaml",
    )
    parser.add_argument(
        "--sampling-every",
        type=int,
        default=None,
        help="default: infoplane.sampling_every of configs/infoplane/default.yaml",
    )
    parser.add_argument("--evaluations", type=int, default=8, help="evaluations in the run (the default run: 8)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose("train", overrides=[])
        est = instantiate(cfg.estimator)
        per_quantity = transforms_per_quantity(cfg.infoplane.band_transforms)
    every = args.invariance_every or int(cfg.infoplane.get("invariance_every", 1))
    sampling_every = args.sampling_every or int(cfg.infoplane.get("sampling_every", 1))
    t = layers()
    jobs = [
        ("backbone I_XT", est["I_XT"], t["x"], t["backbone"]),
        ("backbone I_TY", est["I_TY"], t["backbone"], t["y"]),
        ("projector I_XT", est["I_XT"], t["x"], t["projector"]),
        ("projector I_TY", est["I_TY"], t["projector"], t["y"]),
        ("views I_Z1Z2", est["I_Z1Z2"], t["projector"], t["z2"]),
    ]
    maker = BandMaker()
    transform_parts = [f"{name} {part}" for name in maker.transforms for part in ("map", "re-estimate")]
    names = ["estimate", "bias check", "sampling spread", *transform_parts]
    print("| band | " + " | ".join(names) + " | total |")
    print("|---" * (len(names) + 2) + "|")
    totals = dict.fromkeys(names, 0.0)
    for label, e, a, b in jobs:
        chosen = per_quantity[label.split()[1]]
        parts(maker, e, a, b, chosen)  # warm-up: draws and caches the rotations
        runs = [parts(maker, e, a, b, chosen) for _ in range(args.repeats)]
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        for k, v in med.items():
            totals[k] += v
        print(
            f"| {label} | "
            + " | ".join(f"{med[k]:.3f}" if k in med else "" for k in names)
            + f" | {sum(med.values()):.3f} |"
        )
    print("| all | " + " | ".join(f"{totals[k]:.3f}" for k in names) + f" | {sum(totals.values()):.3f} |")

    def share(period: int) -> tuple[int, float]:
        due = sum(1 for i in range(args.evaluations) if i % period == 0 or i == args.evaluations - 1)
        return due, due / args.evaluations

    measured, invariance_share = share(every)
    resampled, sampling_share = share(sampling_every)
    transform_seconds = sum(totals[k] for k in transform_parts)
    saved = (1 - invariance_share) * transform_seconds + (1 - sampling_share) * totals["sampling spread"]
    print(
        f"\nper evaluation with the invariance spread re-estimated at {measured} of {args.evaluations} evaluations "
        f"(invariance_every={every}) and the half-samples run at {resampled} (sampling_every={sampling_every}): "
        f"{sum(totals.values()) - saved:.3f} CPU-s (every evaluation: {sum(totals.values()):.3f})"
    )


if __name__ == "__main__":
    main()
