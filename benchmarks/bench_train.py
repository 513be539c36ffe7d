"""What the framework costs: ssl_it's module + Trainer against a bare PyTorch loop.

    python benchmarks/bench_train.py [--repeats 5] [--threads 1] [--out outputs/bench/train.md]

Both loops train the same components (backbone, objective with its heads,
AdamW, warm-up + cosine schedule, the objective's post-step update) on the
same batches of the same views (one ``SSLDataModule`` training loader, one
worker), in one process. The ssl_it side is ``SSLModule`` under a Lightning
``Trainer`` built from ``configs/trainer/cpu.yaml`` with the default loggers'
CSV file and the default progress bar and LR monitor; the callbacks that
measure (online probe, kNN, diagnostics, information plane, linear
evaluation) are off, as are checkpoints and the ``performance`` callback (so
both loops keep the same memory layout). Images/s counts training images
(not views) over the steps after a warm-up, the median of ``--repeats``
alternating runs, per second of wall time and per CPU-second of the training
process (``time.process_time``: all its threads, not the loader worker's
process). On a shared machine the CPU-time rate is the one to trust: wall
time moves with the other users' load, CPU time only with the work done. Cases: the default convnet
on 28 px MNIST digits
(batch 128) and a CIFAR-stem ResNet-18 on 32 px RGB images (batch 32).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from itertools import islice
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from pytorch_lightning.callbacks import LearningRateMonitor, RichProgressBar
from typing_extensions import override

from ssl_it.build import build_objective
from ssl_it.data import SSLDataModule
from ssl_it.module import SSLModule
from ssl_it.optim import decay_and_no_decay_groups
from ssl_it.run.loggers import ResumableCSVLogger
from ssl_it.train import CONFIG_DIR

CASES = {
    "convnet, 28 px digits": [
        "data=mnist5k",
        "backbone=convnet",
        "augmentation=simclr_mnist",
        "datamodule.batch_size=128",
    ],
    "resnet18, 32 px": [
        "data=synthetic",
        "data.n_samples=2048",
        "data.input_shape=[3,32,32]",
        "backbone=resnet18",
        "augmentation=simclr",
        "datamodule.batch_size=32",
    ],
}


def compose_cfg(overrides: list[str]) -> Any:
    """The training config with ``overrides``, on the CPU with one loader worker."""
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose("train", overrides=[*overrides, "datamodule.num_workers=1", "trainer=cpu"])


class Components:
    """Fresh, identically seeded model pieces and one shared data module."""

    def __init__(self, cfg: Any) -> None:
        self.cfg = cfg
        self.source = instantiate(cfg.data)
        aug = instantiate(cfg.augmentation)(
            image_size=self.source.image_size, channels=self.source.channels, mean=self.source.mean, std=self.source.std
        )
        self.datamodule: SSLDataModule = instantiate(cfg.datamodule)(source=self.source, augmentation=aug, seed=0)
        self.datamodule.setup()

    def module(self) -> SSLModule:
        """A fresh SSLModule of this case's config, seeded."""
        torch.manual_seed(0)
        backbone = instantiate(self.cfg.backbone)(input_shape=self.source.input_shape)
        objective = build_objective(self.cfg.objective, backbone.out_dim, self.source.num_classes)
        return SSLModule(
            backbone, objective, optimizer=instantiate(self.cfg.optimizer), scheduler=instantiate(self.cfg.scheduler)
        )


Rates = tuple[float, float]  # images per wall second, images per CPU second


def bare_loop(parts: Components, steps: int, warmup: int) -> Rates:
    """Images/s of a plain PyTorch loop over the same loader and pieces."""
    module = parts.module()
    backbone, objective = module.backbone, module.objective
    optimizer = module.optimizer_factory(decay_and_no_decay_groups(module))
    scheduler = module.scheduler_factory(optimizer, total_steps=steps)  # type: ignore[misc]
    backbone.train(), objective.train()
    start, cpu_start, images = 0.0, 0.0, 0
    for step, (views, labels) in enumerate(islice(parts.datamodule.train_dataloader(), steps)):
        if step == warmup:
            start, cpu_start = time.perf_counter(), time.process_time()
        objective.set_progress(step, steps)
        feats = module.features_of_views(views)
        loss = objective(feats, views, labels)["loss"]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        objective.after_optimizer_step(backbone)
        images += labels.shape[0] if step >= warmup else 0
    return images / (time.perf_counter() - start), images / (time.process_time() - cpu_start)


class StepClock(pl.Callback):
    """Wall time from the start of batch ``warmup`` to the end of the last one."""

    def __init__(self, warmup: int) -> None:
        self.warmup, self.images = warmup, 0
        self.start = self.end = self.cpu_start = self.cpu_end = 0.0

    @override
    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, idx: int) -> None:
        if idx == self.warmup and not self.start:
            self.start, self.cpu_start = time.perf_counter(), time.process_time()

    @override
    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, idx: int
    ) -> None:
        if idx >= self.warmup:
            self.images += batch[1].shape[0]
            self.end, self.cpu_end = time.perf_counter(), time.process_time()


def ssl_it_loop(parts: Components, steps: int, warmup: int, run_dir: Path) -> Rates:
    """Images/s of SSLModule under the configured Trainer (measuring callbacks off)."""
    clock = StepClock(warmup)
    trainer = instantiate(parts.cfg.trainer)(
        max_steps=steps,
        max_epochs=None,
        limit_val_batches=0,
        enable_checkpointing=False,
        default_root_dir=str(run_dir),
        callbacks=[clock, RichProgressBar(leave=False), LearningRateMonitor(logging_interval="epoch")],
        logger=ResumableCSVLogger(str(run_dir)),
    )
    trainer.fit(parts.module(), datamodule=parts.datamodule)
    return clock.images / (clock.end - clock.start), clock.images / (clock.cpu_end - clock.cpu_start)


def bench(name: str, overrides: list[str], steps: int, warmup: int, repeats: int) -> dict[str, Any]:
    """Time ``steps`` training steps of one case after ``warmup``, ``repeats`` times; returns its rates."""
    parts = Components(compose_cfg(overrides))
    bare: list[Rates] = []
    framework: list[Rates] = []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(repeats):  # alternate, so slow phases of a shared machine hit both
            bare.append(bare_loop(parts, steps, warmup))
            framework.append(ssl_it_loop(parts, steps, warmup, Path(tmp) / str(r)))
            print(
                f"{name}: repeat {r}: bare {bare[-1][0]:.1f} img/s ({bare[-1][1]:.1f} per CPU s), "
                f"ssl_it {framework[-1][0]:.1f} img/s ({framework[-1][1]:.1f} per CPU s)",
                flush=True,
            )
    row: dict[str, Any] = {"case": name, "steps": steps - warmup, "repeats": repeats}
    for k, clock in enumerate(("wall", "cpu")):
        b, f = statistics.median(x[k] for x in bare), statistics.median(x[k] for x in framework)
        row[clock] = (b, f, f / b)
    return row


def main(argv: list[str] | None = None) -> None:
    """Print the framework-overhead table for every case."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="intra-op threads of the training process")
    parser.add_argument(
        "--steps",
        type=int,
        nargs=2,
        default=[25, 8],
        help="timed steps: convnet, resnet18 (within one epoch: 31 and 48 batches)",
    )
    parser.add_argument("--cases", nargs="+", default=list(CASES))
    parser.add_argument("--out", type=Path, default=Path("outputs/bench/train.md"))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    pl.seed_everything(0, verbose=False)
    warmup = 3
    if any(n + warmup > limit for n, limit in zip(args.steps, (31, 48))):
        parser.error("--steps: the timed steps and 3 warm-up steps must fit in one epoch (31 and 48 batches)")
    rows = [bench(c, CASES[c], dict(zip(CASES, args.steps))[c] + warmup, warmup, args.repeats) for c in args.cases]
    lines = [
        "| case | bare loop img/CPU-s | ssl_it img/CPU-s | ratio (CPU time) | bare loop img/s | ssl_it img/s | "
        "ratio (wall) | timed steps x repeats |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        (bw, fw, rw), (bc, fc, rc) = r["wall"], r["cpu"]
        lines.append(
            f"| {r['case']} | {bc:.1f} | {fc:.1f} | {rc:.3f} | {bw:.1f} | {fw:.1f} | {rw:.3f} | "
            f"{r['steps']} x {r['repeats']} |"
        )
    print("\n".join(lines))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
