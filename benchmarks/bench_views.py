"""Throughput of the two view paths per CPU core, and the cores one GPU needs.

    python benchmarks/bench_views.py [--repeats 3] [--out outputs/bench/views.md]

Everything runs on ONE thread (one core). For each view size (32, 96, 224
px) and pipeline (simclr: 2 views; multicrop: 2 global + 6 local views) it
times, on a small folder of JPEGs it writes first (32x32, 96x96 and
320x256 px sources, quality 90, textured content):

- per-sample path: what a loader worker does per image when views are made
  on the CPU: read the file, decode it (torchvision.io), run the per-sample
  view pipeline on the original image, collate;
- on-device path, loader: what a worker does when views are made on the
  accelerator: read, decode, resize to the base size (uint8), collate;
- on-device path, views: the batched view pipeline (BatchedViews) on a
  uint8 batch, here on the CPU; on a GPU this part runs on the GPU and costs
  no CPU core.

It also re-measures the per-view cost of the hand-written per-sample ops
against the same recipe composed from torchvision.transforms.v2.

Cores per GPU = GPU images/s / (images/s per core of the CPU part). GPU rates
from the issue: ResNet-18 at 32 px 10-20k img/s, ResNet-50 at 224 px 2-3k img/s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import default_collate
from torchvision.transforms import v2


from ssl_it.augmentation import MultiCrop, SimCLR  # noqa: E402
from ssl_it.augmentation.batched import BatchedViews  # noqa: E402
from ssl_it.data.folder import ImageFolder  # noqa: E402
from ssl_it.data.views import KeyedImages, MultiViewDataset, collate_keyed  # noqa: E402

SOURCES = {32: (32, 32), 96: (96, 96), 224: (256, 320)}  # view size -> JPEG (height, width)
GPU_RATES = {32: ("ResNet-18", 10_000, 20_000), 224: ("ResNet-50", 2_000, 3_000)}
STATS = dict(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))
N_IMAGES = 64


def write_jpegs(root: Path, height: int, width: int) -> None:
    """``N_IMAGES`` textured RGB JPEGs in two class folders."""
    rng = np.random.default_rng(0)
    for i in range(N_IMAGES):
        coarse = rng.random((max(2, height // 16), max(2, width // 16), 3))
        smooth = np.asarray(Image.fromarray((coarse * 255).astype(np.uint8)).resize((width, height), Image.BICUBIC))
        image = np.clip(smooth + rng.normal(0, 18, (height, width, 3)), 0, 255).astype(np.uint8)
        folder = root / f"c{i % 2}"
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(folder / f"{i}.jpg", quality=90)


def per_second(fn: Callable[[], int], min_seconds: float = 0.5) -> float:
    """Items/s of ``fn`` (which returns how many items it did), run for at least ``min_seconds``."""
    done, start = 0, time.perf_counter()
    while True:
        done += fn()
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return done / elapsed


def interleaved(fns: dict[str, Callable[[], int]], repeats: int) -> dict[str, float]:
    """Median items/s of each function, the functions taking turns in every
    repeat (so a busy phase of a shared machine hits all of them)."""
    for fn in fns.values():
        fn()  # warm-up
    rates: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            rates[name].append(per_second(fn))
    return {name: statistics.median(r) for name, r in rates.items()}


def pipelines(size: int) -> dict[str, object]:
    common = dict(image_size=size, channels=3, **STATS)
    return {"simclr": SimCLR(**common), "multicrop": MultiCrop(**common)}


def v2_simclr(size: int) -> v2.Compose:
    """SimCLR's recipe from torchvision.transforms.v2 (float tensor in, as the hand-written ops)."""
    kernel = max(3, int(0.1 * size) // 2 * 2 + 1)
    return v2.Compose([
        v2.RandomResizedCrop(size, scale=(0.08, 1.0), antialias=True), v2.RandomHorizontalFlip(),
        v2.RandomApply([v2.ColorJitter(0.8, 0.8, 0.8, 0.2)], p=0.8), v2.RandomGrayscale(0.2),
        v2.RandomApply([v2.GaussianBlur(kernel, (0.1, 2.0))], p=0.5), v2.Normalize(STATS["mean"], STATS["std"]),
    ])


def measure(size: int, folder: Path, repeats: int) -> list[dict[str, object]]:
    source = ImageFolder(str(folder), str(folder), image_size=size)
    keyed, encoded = KeyedImages(source.load_images("train")), KeyedImages(source.load_encoded("train"))
    batch_n = 64 if size <= 96 else 32
    batch = collate_keyed([keyed[(0, i)] for i in range(batch_n)])

    def loop(dataset: object, collate: Callable[[list], object], n: int = 16) -> Callable[[], int]:
        def go() -> int:
            collate([dataset[(0, i % N_IMAGES)] for i in range(n)])  # type: ignore[index]
            return n
        return go

    def batched(views: BatchedViews) -> Callable[[], int]:
        def go() -> int:
            views(batch["images"], batch["keys"])  # type: ignore[arg-type]
            return batch_n
        return go

    pipes = pipelines(size)
    fns: dict[str, Callable[[], int]] = {
        "loader": loop(keyed, collate_keyed), "loader_gpu_decode": loop(encoded, collate_keyed),
    }
    for name, aug in pipes.items():
        fns[f"per_sample/{name}"] = loop(MultiViewDataset(source.load("train"), aug, seed=0), default_collate)
        fns[f"batched/{name}"] = batched(BatchedViews(aug, seed=0))  # type: ignore[arg-type]
    rates = interleaved(fns, repeats)
    return [{"size": size, "pipeline": name, "n_views": aug.n_views, "base": source.base_size,  # type: ignore[attr-defined]
             "per_sample": rates[f"per_sample/{name}"], "loader": rates["loader"],
             "loader_gpu_decode": rates["loader_gpu_decode"], "batched_views": rates[f"batched/{name}"]}
            for name, aug in pipes.items()]


def hand_vs_v2(size: int, repeats: int) -> tuple[float, float]:
    """Views/s of the hand-written per-sample SimCLR view and of the v2 recipe, on float images."""
    image = torch.rand(3, *SOURCES[size])
    hand, tv = SimCLR(image_size=size, channels=3, **STATS).transforms[0], v2_simclr(size)

    def run(t: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[], int]:
        def go() -> int:
            for _ in range(8):
                t(image)
            return 8
        return go
    rates = interleaved({"hand": run(hand), "v2": run(tv)}, repeats)
    return rates["hand"], rates["v2"]


def cores(rate: float, per_core: float) -> str:
    return f"{rate / per_core:.1f}"


def report(rows: list[dict[str, object]], comparisons: dict[int, tuple[float, float]]) -> str:
    lines = [
        "Images/s on one CPU core (views/s = images/s x views per image). Per-sample path: read + decode + "
        "per-sample views + collate. On-device path, loader: read + decode + resize to the base size (uint8) "
        "+ collate; with GPU decoding (JPEG folders on a GPU): read + collate. The batched views are timed here "
        "on the CPU but run on the GPU in training.",
        "",
        "| view px | pipeline | views/img | base px | per-sample img/s (views/s) | on-device loader img/s "
        "(x per-sample) | loader, GPU decoding img/s | batched views on this CPU img/s (views/s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        n, ps, ld, bv = r["n_views"], r["per_sample"], r["loader"], r["batched_views"]
        lines.append(f"| {r['size']} | {r['pipeline']} | {n} | {r['base']} | {ps:.0f} ({ps * n:.0f}) | "
                     f"{ld:.0f} ({ld / ps:.1f}x) | {r['loader_gpu_decode']:.0f} | {bv:.0f} ({bv * n:.0f}) |")
    lines += ["", "CPU cores one GPU needs (GPU img/s / img/s per core of the CPU part):", "",
              "| view px | pipeline | GPU (img/s) | per-sample path | on-device path (loader decodes) | "
              "on-device path, GPU decoding |",
              "|---|---|---|---|---|---|"]
    for r in rows:
        if r["size"] not in GPU_RATES:
            continue
        net, lo, hi = GPU_RATES[r["size"]]  # type: ignore[index]
        ps, ld = r["per_sample"], r["loader"]
        gd = r["loader_gpu_decode"]
        lines.append(f"| {r['size']} | {r['pipeline']} | {net} {lo:,}-{hi:,} | {cores(lo, ps)}-{cores(hi, ps)} | "
                     f"{cores(lo, ld)}-{cores(hi, ld)} | {cores(lo, gd)}-{cores(hi, gd)} |")
    lines += ["", "Per-sample SimCLR view on a float image, hand-written ops vs torchvision.transforms.v2 (views/s, one core):",
              "", "| view px | hand-written | v2 | ratio |", "|---|---|---|---|"]
    for size, (hand, tv) in comparisons.items():
        lines.append(f"| {size} | {hand:.0f} | {tv:.0f} | {hand / tv:.1f}x |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="+", default=[32, 96, 224])
    parser.add_argument("--out", type=Path, default=Path("outputs/bench/views.md"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows, comparisons = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            folder = Path(tmp) / str(size)
            write_jpegs(folder, *SOURCES[size])
            rows += measure(size, folder, args.repeats)
            if size in (32, 224):
                comparisons[size] = hand_vs_v2(size, args.repeats)
            print(f"measured {size} px", flush=True)
    text = report(rows, comparisons)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
