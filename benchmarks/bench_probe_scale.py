"""Memory and time of the measuring callbacks' own code at probe sets of 512-8,192.

    python benchmarks/bench_probe_scale.py                     # N = 512, 2048, 8192
    python benchmarks/bench_probe_scale.py --sizes 8192 --estimator kde

Each N runs in a fresh subprocess: one information-plane evaluation (the probe
forward pass, a 25,088-wide convolutional tap projected to ``max_dim`` =
2,048, the 2,048-wide backbone output and the projector, views included)
followed by the embedding diagnostics on the same step, through the shared
probe pass. The default estimator is binning, whose memory is linear in N,
so the memory the evaluation adds is the callbacks' own; ``--estimator kde``
(or any other) adds the estimator's. It prints, per N, the peak RSS, what the
evaluation added to the peak after the imports, the size of the widest
representation (N x 25,088 float32) for scale, and the seconds.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from types import SimpleNamespace

import torch
from torch import nn

from ssl_it.callbacks.standalone import standalone_trainer
from ssl_it.data import InMemoryProbeData
from ssl_it.objectives.base import Objective

WIDE = 32 * 28 * 28  # the flattened convolutional tap


class _Model(nn.Module):
    """``backbone`` and ``objective.projector``, as the probe pass expects them."""

    def __init__(self, backbone: nn.Module, projector: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone
        self.objective = Objective()
        self.objective.projector = projector

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def log_dict(self, metrics: dict[str, float], **kwargs: object) -> None:
        pass


def _trainer(x: torch.Tensor, labels: torch.Tensor, views: list[torch.Tensor]) -> SimpleNamespace:
    """What the measuring callbacks read from a trainer, on one process."""
    return standalone_trainer(InMemoryProbeData(x, labels, views), step=1)


def _model() -> nn.Module:
    backbone = nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(512, 2048)
    )
    return _Model(backbone, nn.Sequential(nn.Linear(2048, 512), nn.ReLU(), nn.Linear(512, 512)))


def one(n: int, estimator: str) -> dict[str, float]:
    """Run one evaluation of both callbacks at probe size ``n`` (in this process)."""
    from ssl_it.callbacks import EmbeddingDiagnostics, InformationPlane
    from ssl_it.estimators import KDEMI, KSGMI, BinningMI, GaussianMI

    torch.set_num_threads(1)
    base_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # after the imports
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(n, 1, 28, 28, generator=gen)
    views = [x + 0.05 * torch.randn(x.shape, generator=gen) for _ in range(2)]
    trainer = _trainer(x, torch.randint(0, 10, (n,), generator=gen), views)
    model = _model()
    est = {"binning": BinningMI, "kde": KDEMI, "ksg": KSGMI, "gaussian": GaussianMI}[estimator]()
    with tempfile.TemporaryDirectory() as tmp:
        plane = InformationPlane(est, tmp, layers=["backbone.0", "backbone", "projector"])
        diag = EmbeddingDiagnostics()
        for cb in (plane, diag):
            cb.setup(trainer, model, "fit")
        start = time.perf_counter()
        diag.on_validation_epoch_end(trainer, model)
        plane._evaluate(trainer, model)
        seconds = time.perf_counter() - start
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "n": n,
        "peak_rss_mb": rss_mb,
        "added_mb": rss_mb - base_mb,
        "seconds": seconds,
        "widest_mb": n * WIDE * 4 / 2**20,
        "rows": len(plane.rows),
        "estimated_dim": plane.rows[0]["estimated_dim"],
    }


def main() -> None:
    """Measure peak memory and time of one evaluation per probe size, each in its own process."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="*", default=[512, 2048, 8192])
    parser.add_argument("--estimator", default="binning", choices=["binning", "kde", "ksg", "gaussian"])
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(one(args.child, args.estimator)))
        return
    print(f"| N | peak RSS (MiB) | added by the evaluation (MiB) | N x {WIDE:,} float32 (MiB) | seconds | estimator |")
    print("|---|---|---|---|---|---|")
    for n in args.sizes:
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(n), "--estimator", args.estimator],
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"| {n:,} | {r['peak_rss_mb']:.0f} | {r['added_mb']:.0f} | {r['widest_mb']:.0f} | {r['seconds']:.1f} "
            f"| {args.estimator} |"
        )


if __name__ == "__main__":
    main()
