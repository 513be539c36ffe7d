"""Cost of the divergence guard and the per-batch reseeding, against a training step.

    python benchmarks/bench_divergence_guard.py [backbone=resnet18] [datamodule.batch_size=256]

Builds the configured backbone and objective (default: convnet + VICReg,
batch 128 of 1x28x28 inputs), then times, in the same process, one
optimiser step (forward, backward, AdamW) and, separately, what
``DivergenceGuard`` and ``StepSeed`` add to it (loss, gradients and weights
finite; reseeding torch/NumPy/Python), and prints the overhead in percent;
then the guard's finiteness test (one float32 sum per tensor) against
``torch.isfinite(t).all()`` on the same weights.
Timing the extras on their own is steadier on a shared machine than the
difference of two noisy step times.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable

import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from ssl_it.build import build_objective
from ssl_it.callbacks.divergence import _all_finite
from ssl_it.callbacks.step_seed import StepSeed
from ssl_it.train import CONFIG_DIR


class _Trainer:
    current_epoch = 0


def main() -> None:
    """Time one optimiser step and, separately, the guard checks and reseeding; print the overhead in percent."""
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose("train", overrides=sys.argv[1:])
    batch = int(cfg.datamodule.batch_size)
    backbone = instantiate(cfg.backbone)(input_shape=(1, 28, 28))
    objective = build_objective(cfg.objective, backbone.out_dim, 10)
    params = [p for m in (backbone, objective) for p in m.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-4)
    views = [torch.rand(batch, 1, 28, 28) for _ in range(2)]
    seeder = StepSeed(seed=0)

    def step() -> torch.Tensor:
        loss = objective([backbone(v) for v in views], views)["loss"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss

    loss = step()

    def checks(i: int) -> None:
        seeder.on_train_batch_start(_Trainer(), None, None, i)
        assert math.isfinite(float(loss.detach()))
        assert _all_finite([p.grad for p in params if p.grad is not None])
        assert _all_finite(params)

    plain = best_of(step, rounds=4, calls=5)
    extra = best_of(lambda: checks(3), rounds=4, calls=20)
    print(
        f"{len(params)} parameter tensors, {sum(p.numel() for p in params):,} weights, batch {batch}, "
        f"{torch.get_num_threads()} threads"
    )
    print("| per optimiser step | ms |")
    print("|---|---|")
    print(f"| training step (forward, backward, AdamW) | {1e3 * plain:.1f} |")
    print(f"| guard checks + reseeding | {1e3 * extra:.2f} |")
    print(f"overhead = {100 * extra / plain:.2f} % of a step")
    by_sum = best_of(lambda: _all_finite(params), rounds=4, calls=20)
    by_isfinite = best_of(lambda: all(bool(torch.isfinite(p).all()) for p in params), rounds=4, calls=20)
    print(
        f"weights finite, one float32 sum per tensor: {1e3 * by_sum:.2f} ms; torch.isfinite(t).all() per "
        f"tensor: {1e3 * by_isfinite:.2f} ms; ratio {by_isfinite / by_sum:.1f}"
    )


def best_of(fn: Callable[[], object], rounds: int, calls: int) -> float:
    """Seconds per call, the best of ``rounds`` averages (the shared machine's load drifts)."""
    fn()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        times.append((time.perf_counter() - start) / calls)
    return min(times)


if __name__ == "__main__":
    main()
