"""The CUDA paths, checked in one short run on a machine with a GPU (< 5 min).

    python scripts/check_gpu.py            # on a GPU machine
    python scripts/check_gpu.py --device cpu --quick   # the same checks' logic on a CPU (no CUDA-only parts)
    python scripts/check_gpu.py --only train_folder --train-timeout 400   # one check; a stopped run prints its stacks

Prints one table row per check (PASS / FAIL / SKIP, with numbers):

1. views on the device: BatchedViews on a CUDA uint8 batch equal the CPU
   result for the same keys (max abs difference), read nothing back
   (``torch.cuda.set_sync_debug_mode("error")``), and their throughput;
2. JPEG decoding on the device: ``decode_jpeg(device="cuda")`` against the
   CPU decoder, and its throughput;
3. no host syncs in a training step (vicreg, ResNet-18) on CUDA;
4. bf16 autocast + channels-last + ``torch.compile`` (inductor) on a
   ResNet-18 training step: finite loss, weights channels-last, compile
   time and the speed-up over eager;
5. pinned, non-blocking batches from the DataModule;
6. ``train.py trainer=gpu`` end to end on 32 px images (views made on the
   device) and on a JPEG folder (decoded on the device), with the training
   images/s;
7. ``train.py trainer=ddp`` on 2 GPUs when there are 2 or more.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ssl_it.augmentation import MultiCrop, SimCLRViews
from ssl_it.augmentation.batched import BatchedViews
from ssl_it.backbones import ResNet
from ssl_it.data import SSLDataModule, SyntheticImages
from ssl_it.data.folder import decode_batch
from ssl_it.module import SSLModule
from ssl_it.objectives import VICReg

ROOT = Path(__file__).resolve().parents[1]

STATS = dict(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))
ROWS: list[tuple[str, str, str]] = []


def check(name: str) -> Callable[[Callable[..., str]], Callable[..., None]]:
    """Run the check, record PASS with its detail, FAIL with the error, SKIP when it says so."""

    def wrap(fn: Callable[..., str]) -> Callable[..., None]:
        def run(*args: object) -> None:
            start = time.perf_counter()
            try:
                detail = fn(*args)
                status = "SKIP" if detail.startswith("skip") else "PASS"
            except Exception as err:  # noqa: BLE001 - every failure is reported, the run goes on
                status, detail = "FAIL", f"{type(err).__name__}: {err}"[:300]
                traceback.print_exc()
            ROWS.append((name, status, f"{detail} ({time.perf_counter() - start:.1f} s)"))
            print(f"[{status}] {name}: {detail}", flush=True)

        return run

    return wrap


def sync(device: torch.device) -> None:
    """Wait for the device's queued work (CUDA only)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class NoSyncs:
    """``torch.cuda.set_sync_debug_mode("error")`` inside the block (CUDA only)."""

    def __init__(self, device: torch.device) -> None:
        self.on = device.type == "cuda"

    def __enter__(self) -> None:
        if self.on:
            torch.cuda.set_sync_debug_mode("error")

    def __exit__(self, *exc: object) -> None:
        if self.on:
            torch.cuda.set_sync_debug_mode("default")


def rate(fn: Callable[[], int], device: torch.device, repeats: int = 5) -> float:
    """Items per second of ``fn()`` (which returns its item count) after one warm-up call."""
    fn()
    sync(device)
    start, n = time.perf_counter(), 0
    for _ in range(repeats):
        n += fn()
    sync(device)
    return n / (time.perf_counter() - start)


@check("views on the device (224 px: simclr, multicrop)")
def views_on_device(device: torch.device, batch: int) -> str:
    """The batched views on the device match the CPU's, with no host sync; their speed."""
    out = []
    for name, aug in (("simclr", SimCLRViews(224, 3, **STATS)), ("multicrop", MultiCrop(224, 3, **STATS))):
        views = BatchedViews(aug, seed=0)
        images = torch.randint(0, 256, (batch, 3, 256, 256), dtype=torch.uint8)
        keys = torch.stack([torch.zeros(batch, dtype=torch.long), torch.arange(batch)], 1)
        plans = views.plan(keys, 256, 256)
        on_dev = [{k: v.to(device, non_blocking=True) for k, v in p.items()} for p in plans]
        images_dev = images.pin_memory().to(device, non_blocking=True) if device.type == "cuda" else images
        with NoSyncs(device):
            got = views.apply(images_dev, on_dev)
        ref = views(images[:8], keys[:8])  # the same samples' views on the CPU
        diff = max(float((g[:8].float().cpu() - r).abs().max()) for g, r in zip(got, ref))
        assert diff < 2e-2, f"{name}: device and CPU views differ by {diff:.3g}"
        speed = rate(lambda v=views, x=images_dev, p=on_dev: len(v.apply(x, p)[0]), device)
        out.append(f"{name}: {speed:,.0f} img/s, max |device - cpu| {diff:.1e}")
    return "; ".join(out) + ("; no host sync" if device.type == "cuda" else "")


def write_jpegs(folder: Path, n: int, size: tuple[int, int], subsampling: int = 2) -> list[Path]:
    """Write ``n`` random JPEGs of ``size`` into two class folders under ``folder``
    (``subsampling``: PIL's chroma subsampling, 0 = 4:4:4, 2 = 4:2:0 as most photos)."""
    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        d = folder / f"c{i % 2}"
        d.mkdir(parents=True, exist_ok=True)
        img = np.clip(rng.normal(128, 40, (*size, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(img).save(d / f"{i}.jpg", quality=90, subsampling=subsampling)
        paths.append(d / f"{i}.jpg")
    return paths


@check("JPEG decoding on the device (decode_jpeg, 64 x 320x256)")
def jpeg_on_device(device: torch.device, tmp: Path) -> str:
    """Device JPEG decoding matches the CPU's to 3 levels on average on full-colour (4:4:4) JPEGs; its speed.

    On 4:2:0 JPEGs the decoders also differ in how they upsample the colour planes (libjpeg-turbo's
    smooth upsampling on the CPU), a choice of filter rather than an error: that difference is reported,
    on noise images (the worst case: every pixel's colour differs from its neighbours')."""
    from torchvision.io import read_file

    diffs = {}
    for name, subsampling in (("4:4:4", 0), ("4:2:0", 2)):
        files = [read_file(str(p)) for p in write_jpegs(tmp / name.replace(":", ""), 64, (256, 320), subsampling)]
        got = decode_batch(files, 3, 224, device)
        ref = decode_batch(files, 3, 224, torch.device("cpu"))
        assert got.shape == (64, 3, 224, 224), f"{name}: shape {tuple(got.shape)}"
        diffs[name] = float((got.cpu().int() - ref.int()).abs().float().mean())
    assert diffs["4:4:4"] < 3.0, f"4:4:4: mean |gpu - cpu| = {diffs['4:4:4']:.2f} levels"
    speed = rate(lambda: len(decode_batch(files, 3, 224, device)), device)
    return (
        f"{speed:,.0f} img/s (decode + resize, 4:2:0), mean |device - cpu| {diffs['4:4:4']:.2f} of 255 (4:4:4), "
        f"{diffs['4:2:0']:.2f} (4:2:0, colour upsampling differs)"
    )


def resnet_module(device: torch.device) -> SSLModule:
    """A seeded VICReg + ResNet-18 SSLModule on ``device``, logging switched off (no Trainer)."""
    torch.manual_seed(0)
    backbone = ResNet(input_shape=(3, 32, 32), arch="resnet18", cifar_stem=True)
    module = SSLModule(backbone, VICReg(backbone.out_dim, [512], 512), optimizer=lambda g: torch.optim.SGD(g, lr=0.01))
    module.log_dict = lambda *a, **k: None  # type: ignore[method-assign]  # outside a Trainer
    return module.to(device)


@check("no host syncs in a training step (vicreg, resnet18)")
def step_without_syncs(device: torch.device, batch: int) -> str:
    """A training step runs without a host sync."""
    module = resnet_module(device)
    views = [torch.randn(batch, 3, 32, 32, device=device) for _ in range(2)]
    labels = torch.zeros(batch, dtype=torch.long, device=device)
    module.training_step((views, labels), 0)["loss"].backward()
    if device.type != "cuda":
        return "skip: needs CUDA (the CPU test suite counts host reads instead)"
    with NoSyncs(device):
        out = module.training_step((views, labels), 1)
        out["loss"].backward()
    return "forward + loss + backward ran under set_sync_debug_mode('error')"


@check("bf16 autocast + channels-last + torch.compile (resnet18, 32 px)")
def bf16_channels_last_compile(device: torch.device, batch: int, quick: bool) -> str:
    """bf16 autocast, channels-last and ``torch.compile`` train; their step times."""
    views = [torch.randn(batch, 3, 32, 32, device=device) for _ in range(2)]
    labels = torch.zeros(batch, dtype=torch.long, device=device)

    def steps(module: SSLModule, n: int) -> float:
        opt = torch.optim.SGD(module.parameters(), lr=0.01)
        sync(device)
        start = time.perf_counter()
        for i in range(n):
            with torch.autocast(device.type, dtype=torch.bfloat16):
                loss = module.training_step((views, labels), i)["loss"]
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        sync(device)
        assert torch.isfinite(loss), "non-finite bf16 loss"
        return n * batch / (time.perf_counter() - start)

    eager = resnet_module(device).to(memory_format=torch.channels_last)  # type: ignore[call-arg]
    assert eager.backbone.layer1[0].conv1.weight.is_contiguous(memory_format=torch.channels_last)
    steps(eager, 2)
    eager_rate = steps(eager, 3 if quick else 20)
    if quick:
        return f"eager bf16 channels-last {eager_rate:,.0f} img/s; compile skipped (--quick)"
    compiled = resnet_module(device).to(memory_format=torch.channels_last)  # type: ignore[call-arg]
    compiled.backbone.compile()
    start = time.perf_counter()
    steps(compiled, 2)
    compile_s = time.perf_counter() - start
    return (
        f"eager {eager_rate:,.0f} img/s, compiled {steps(compiled, 20):,.0f} img/s "
        f"(compile {compile_s:.0f} s), weights channels-last"
    )


@check("pinned, non-blocking batches from the DataModule")
def pinned_batches(device: torch.device) -> str:
    """The DataModule's batches arrive in pinned memory with CUDA."""
    src = SyntheticImages(n_samples=256, input_shape=(3, 32, 32), num_classes=4)
    dm = SSLDataModule(src, SimCLRViews(32, 3, src.mean, src.std), batch_size=64, num_workers=1, views_on_device=False)
    dm.setup()
    views, _ = next(iter(dm.train_dataloader()))
    if device.type != "cuda":
        return f"skip: pin_memory={dm.pin_memory} (needs CUDA)"
    assert dm.pin_memory and views[0].is_pinned(), "batch not pinned"
    return "pin_memory on by default with CUDA; batches arrive pinned (Lightning copies them with non_blocking=True)"


TRAIN_TIMEOUT: list[int] = [240]
"""Seconds a ``train.py`` run may take (``--train-timeout``)."""


def run_train(args: list[str], timeout: int | None = None) -> tuple[str, float]:
    """Run ``train.py <args>``; returns its output and wall seconds (a failure raises).

    A run that outlasts ``timeout`` gets SIGABRT first: with ``PYTHONFAULTHANDLER`` set, Python then
    prints every thread's stack, so the output says where the run stood, not only that it stopped."""
    timeout = TRAIN_TIMEOUT[0] if timeout is None else timeout
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "WANDB_MODE": "offline", "PYTHONPATH": path, "PYTHONFAULTHANDLER": "1"}
    start = time.perf_counter()
    with subprocess.Popen(
        [sys.executable, str(ROOT / "train.py"), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=ROOT,
    ) as proc:
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGABRT)
            try:
                out, _ = proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, _ = proc.communicate()
            cut = out.find("Fatal Python error")
            before, stacks = (out, "") if cut < 0 else (out[:cut], out[cut : cut + 6000])
            print(f"--- train.py stopped after {timeout} s; the last of its output:\n{before[-4000:]}", flush=True)
            print(f"--- where its threads stood:\n{stacks}", flush=True)
            raise
    assert proc.returncode == 0, out[-1500:]
    return out, time.perf_counter() - start


@check("train.py trainer=gpu, 32 px, views on the device")
def train_gpu(device: torch.device, tmp: Path, quick: bool) -> str:
    """A short ``trainer=gpu`` run makes its views on the device."""
    if device.type != "cuda":
        return "skip: needs CUDA"
    steps = 20 if quick else 100
    out, wall = run_train(
        [
            "trainer=gpu",
            "data=synthetic",
            "data.n_samples=20000",
            "data.input_shape=[3,32,32]",
            "backbone=resnet18",
            "augmentation=simclr",
            "datamodule.batch_size=256",
            "trainer.max_epochs=1",
            f"+trainer.limit_train_batches={steps}",
            "logger=csv",
            f"hydra.run.dir={tmp / 'gpu32'}",
        ]
    )
    assert "views made on cuda" in out, "views were not made on the device"
    acc = re.search(r"accuracy = ([0-9.]+)", out)
    final = acc.group(1) if acc else "?"
    return f"{steps} steps of 256 in a {wall:.0f} s run (incl. start-up and evaluation); final acc {final}"


@check("train.py trainer=gpu on a JPEG folder, decoded on the device")
def train_folder(device: torch.device, tmp: Path) -> str:
    """A ``trainer=gpu`` run on a JPEG folder decodes the JPEGs on the device."""
    if device.type != "cuda":
        return "skip: needs CUDA"
    write_jpegs(tmp / "folder" / "train", 512, (36, 40))
    write_jpegs(tmp / "folder" / "val", 128, (36, 40))
    out, wall = run_train(
        [
            "trainer=gpu",
            "data=imagefolder",
            f"data.train_dir={tmp / 'folder' / 'train'}",
            f"data.val_dir={tmp / 'folder' / 'val'}",
            "backbone=resnet18",
            "augmentation=simclr",
            "datamodule.batch_size=64",
            "trainer.max_epochs=1",
            "logger=csv",
            f"hydra.run.dir={tmp / 'gpu_folder'}",
        ]
    )
    assert "JPEGs decoded there" in out, "JPEGs were not decoded on the device"
    return f"completed in {wall:.0f} s"


@check("train.py trainer=ddp on 2 GPUs")
def train_ddp(device: torch.device, tmp: Path) -> str:
    """A ``trainer=ddp`` run on 2 GPUs completes."""
    if device.type != "cuda" or torch.cuda.device_count() < 2:
        return "skip: needs 2 GPUs"
    out, wall = run_train(
        [
            "trainer=ddp",
            "trainer.devices=2",
            "data=synthetic",
            "data.n_samples=4096",
            "data.input_shape=[3,32,32]",
            "backbone=resnet18",
            "augmentation=simclr",
            "trainer.max_epochs=1",
            f"hydra.run.dir={tmp / 'ddp'}",
        ],
        timeout=300,
    )
    assert "final val linear-probe accuracy" in out
    return f"completed in {wall:.0f} s (SyncBatchNorm on, default callbacks)"


CHECKS = ("views", "jpeg", "syncs", "compile", "pinned", "train_gpu", "train_folder", "train_ddp")
"""The checks, in the order they run (``--only`` picks some)."""


def main() -> None:
    """Run every check and print the table of results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--quick", action="store_true", help="smaller batches, no compile")
    parser.add_argument("--only", nargs="+", choices=CHECKS, default=list(CHECKS), help="run only these checks")
    parser.add_argument("--train-timeout", type=int, default=240, help="seconds each train.py run may take")
    args = parser.parse_args()
    TRAIN_TIMEOUT[0] = args.train_timeout
    device = torch.device(args.device)
    batch = 16 if args.quick else 256
    if device.type == "cuda":
        print(
            f"device: {torch.cuda.get_device_name(device)}, {torch.cuda.device_count()} GPU(s), "
            f"torch {torch.__version__}"
        )
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        runs = {
            "views": lambda: views_on_device(device, batch),
            "jpeg": lambda: jpeg_on_device(device, tmp),
            "syncs": lambda: step_without_syncs(device, batch),
            "compile": lambda: bf16_channels_last_compile(device, batch, args.quick),
            "pinned": lambda: pinned_batches(device),
            "train_gpu": lambda: train_gpu(device, tmp, args.quick),
            "train_folder": lambda: train_folder(device, tmp),
            "train_ddp": lambda: train_ddp(device, tmp),
        }
        for key in CHECKS:
            if key in args.only:
                runs[key]()
    print("\n| check | status | detail |\n|---|---|---|")
    for name, status, detail in ROWS:
        print(f"| {name} | {status} | {detail} |")
    sys.exit(1 if any(status == "FAIL" for _, status, _ in ROWS) else 0)


if __name__ == "__main__":
    main()
