"""Loader images per CPU core with the views made in the workers, against the
per-sample path they replaced, and the cores one GPU needs.

    python benchmarks/bench_views.py [--repeats 5] [--baseline 5631bbd] [--out outputs/bench/views.md]

Everything runs on ONE thread (as in a loader worker). For each view size
(32, 96, 224 px) and pipeline (simclr: 2 views; multicrop: 2 global + 6
local views) it times, per image, on a folder of JPEGs it writes first
(32x32, 96x96 and 320x256 px sources, quality 90, textured content):

- before: the per-sample path of ``--baseline`` (the last commit that had
  one; its view modules are read from git and loaded beside the current
  ones): read the file, decode it, run the per-sample pipeline on the
  original image, collate;
- now, views in the workers (a CPU run): read, decode, resize to the base
  size (uint8), collate, then the batched views of the batch
  (:class:`~ssl_it.data.views.ViewCollate`), batches of 64 (32 at 224 px);
- now, views on the device (a GPU run): the loader's part alone (read,
  decode, resize, collate), and with JPEG decoding on the GPU (read,
  collate);
- the batched views alone, at ``--baseline`` and now, on this CPU.

The functions take turns in every repeat (a busy phase of a shared machine
hits all of them); each rate is the median over the repeats.
"""

from __future__ import annotations

import argparse
import importlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np
import torch
from PIL import Image
from torch.utils.data import default_collate

ROOT = Path(__file__).resolve().parents[1]

from ssl_it.augmentation import MultiCrop, SimCLRViews  # noqa: E402
from ssl_it.augmentation.batched import BatchedViews  # noqa: E402
from ssl_it.data.folder import ImageFolder  # noqa: E402
from ssl_it.data.views import KeyedImages, ViewCollate, collate_keyed  # noqa: E402

SOURCES = {32: (32, 32), 96: (96, 96), 224: (256, 320)}  # view size -> JPEG (height, width)
GPU_RATES = {32: ("ResNet-18", 10_000, 20_000), 224: ("ResNet-50", 2_000, 3_000)}
STATS = dict(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))
N_IMAGES = 64
BASELINE = "5631bbd"  # the last commit with the per-sample view path
BASELINE_FILES = ("ssl_it/augmentation", "ssl_it/data/views.py")


def load_baseline(ref: str, into: Path) -> tuple[ModuleType, ModuleType]:
    """The view modules of commit ``ref`` as the package ``baseline_ssl_it``
    (``ssl_it.augmentation`` and ``ssl_it.data.views``, imports renamed; the
    rest of ``ssl_it`` they use is today's)."""

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(ROOT), *args], check=True, capture_output=True, text=True).stdout

    try:
        paths = git("ls-tree", "-r", "--name-only", ref, "--", *BASELINE_FILES).split()
    except subprocess.CalledProcessError as error:
        raise SystemExit(f"bench_views: --baseline {ref}: {error.stderr.strip()}") from None
    for path in paths:
        text = git("show", f"{ref}:{path}")
        for module in ("ssl_it.augmentation", "ssl_it.data.views"):
            text = text.replace(module, "baseline_" + module)
        target = into / "baseline_ssl_it" / Path(path).relative_to("ssl_it")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    for package in ("", "data"):
        (into / "baseline_ssl_it" / package / "__init__.py").touch()
    sys.path.insert(0, str(into))
    return importlib.import_module("baseline_ssl_it.augmentation"), importlib.import_module(
        "baseline_ssl_it.data.views"
    )


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
    """Median items/s of each function, the functions taking turns in every repeat."""
    for fn in fns.values():
        fn()  # warm-up
    rates: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            rates[name].append(per_second(fn))
    return {name: statistics.median(r) for name, r in rates.items()}


def loop(dataset: object, collate: Callable[[list], object], n: int) -> Callable[[], int]:
    """What a worker does for one batch of ``n`` samples: fetch each, collate."""

    def go() -> int:
        collate([dataset[(0, i % N_IMAGES)] for i in range(n)])  # type: ignore[index]
        return n

    return go


def measure(
    size: int, folder: Path, repeats: int, old_aug: ModuleType, old_views: ModuleType
) -> list[dict[str, object]]:
    """Images per second of each path for one view size and pipeline."""
    source = ImageFolder(str(folder), str(folder), image_size=size)
    keyed, encoded = KeyedImages(source.load_images("train")), KeyedImages(source.load_encoded("train"))
    batch_n = 64 if size <= 96 else 32
    batch = collate_keyed([keyed[(0, i)] for i in range(batch_n)])
    images, keys = batch["images"], batch["keys"]

    def views_only(views: Callable[[torch.Tensor, torch.Tensor], object]) -> Callable[[], int]:
        def go() -> int:
            views(images, keys)  # type: ignore[arg-type]
            return batch_n

        return go

    common = dict(image_size=size, channels=3, **STATS)
    names = ("simclr", "multicrop")
    fns: dict[str, Callable[[], int]] = {
        "loader": loop(keyed, collate_keyed, 16),
        "loader_gpu_decode": loop(encoded, collate_keyed, 16),
    }
    n_views = {}
    for name, cls in zip(names, (SimCLRViews, MultiCrop)):
        old_cls = getattr(old_aug, cls.__name__.removesuffix("Views"))  # the baseline names them SimCLR, MultiCrop
        now = BatchedViews(cls(**common), seed=0)
        n_views[name] = now.n_views
        fns[f"before/{name}"] = loop(
            old_views.MultiViewDataset(source.load("train"), old_cls(**common), seed=0), default_collate, 16
        )
        fns[f"now/{name}"] = loop(keyed, ViewCollate(now), batch_n)
        fns[f"views_before/{name}"] = views_only(old_aug.BatchedViews(old_cls(**common), seed=0))
        fns[f"views_now/{name}"] = views_only(now)
    rates = interleaved(fns, repeats)
    return [
        {
            "size": size,
            "pipeline": name,
            "n_views": n_views[name],
            "base": source.base_size,
            "before": rates[f"before/{name}"],
            "now": rates[f"now/{name}"],
            "loader": rates["loader"],
            "loader_gpu_decode": rates["loader_gpu_decode"],
            "views_before": rates[f"views_before/{name}"],
            "views_now": rates[f"views_now/{name}"],
        }
        for name in names
    ]


def num(rate: float) -> str:
    """A rate with 3 significant figures below 100, else a whole number."""
    return f"{rate:.0f}" if rate >= 100 else f"{rate:.3g}"


def cores(lo: float, hi: float, per_core: float) -> str:
    """How many cores the range ``lo``-``hi`` needs at ``per_core`` per core."""
    return f"{lo / per_core:.1f}-{hi / per_core:.1f}"


def report(rows: list[dict[str, object]], baseline: str, load: str) -> str:
    """The Markdown report: images per core of each path, with the baseline and the load."""
    lines = [
        f"Images/s on one CPU core (median of the repeats; load average before/after: {load}). Before: the "
        f"per-sample path of {baseline} (read + decode + per-sample views of the original image + collate). "
        "Now, views in the workers: read + decode + resize to the base size (uint8) + collate + batched views. "
        "Views on the device: the loader's part only (with GPU decoding: read + collate). Batched views alone: "
        f"on this CPU, {baseline} against now.",
        "",
        "| view px | pipeline | views/img | base px | before: per-sample img/s | now: views in the workers img/s "
        "| now / before | views on the device: loader img/s | loader, GPU decoding img/s "
        f"| batched views alone, {baseline} img/s | batched views alone, now img/s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        b, n = r["before"], r["now"]
        lines.append(
            f"| {r['size']} | {r['pipeline']} | {r['n_views']} | {r['base']} | {num(b)} | {num(n)} | "  # type: ignore[arg-type]
            f"{n / b:.2f}x | {num(r['loader'])} | {num(r['loader_gpu_decode'])} | "  # type: ignore[operator, arg-type]
            f"{num(r['views_before'])} | {num(r['views_now'])} |"
        )  # type: ignore[arg-type]
    lines += [
        "",
        "CPU cores one GPU needs (GPU img/s / img/s per core of what runs on the CPU):",
        "",
        "| view px | pipeline | GPU (img/s) | before: per-sample | now: views in the workers | "
        "views on the device | views and decoding on the device |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r["size"] not in GPU_RATES:
            continue
        net, lo, hi = GPU_RATES[r["size"]]  # type: ignore[index]
        lines.append(
            f"| {r['size']} | {r['pipeline']} | {net} {lo:,}-{hi:,} | {cores(lo, hi, r['before'])} | "  # type: ignore[arg-type]
            f"{cores(lo, hi, r['now'])} | {cores(lo, hi, r['loader'])} | "  # type: ignore[arg-type]
            f"{cores(lo, hi, r['loader_gpu_decode'])} |"
        )  # type: ignore[arg-type]
    return "\n".join(lines)


def main() -> None:
    """Write the JPEG folders, time every path and print the report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs="+", default=[32, 96, 224])
    parser.add_argument("--baseline", default=BASELINE, help="git commit of the per-sample path compared against")
    parser.add_argument("--out", type=Path, default=Path("outputs/bench/views.md"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        old_aug, old_views = load_baseline(args.baseline, Path(tmp) / "baseline")
        for size in args.sizes:
            folder = Path(tmp) / str(size)
            write_jpegs(folder, *SOURCES[size])
            rows += measure(size, folder, args.repeats, old_aug, old_views)
            print(f"measured {size} px", flush=True)
    text = report(rows, args.baseline, f"{load_before:.1f}/{os.getloadavg()[0]:.1f}")
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
