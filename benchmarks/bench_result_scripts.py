"""Wall time of the result scripts, against the same scripts with Lightning imported first.

    python benchmarks/bench_result_scripts.py outputs/multirun/DATE/TIME [--repeats 3] \
        [--out outputs/bench/result_scripts.md]

Each script runs in a fresh interpreter (what a user pays: start-up,
imports, reading the runs, drawing, writing), on the given sweep folder:
``compare_runs.py`` on the sweep, ``plot_infoplane.py`` on its first two runs,
``plot_seed_bands.py --group objective`` on the sweep. The baseline runs the
same script after ``import ssl_it.callbacks`` (which imports torch and
Lightning): what every result script paid while ``ssl_it.analysis.compare`` read the
trajectory through ``ssl_it.callbacks``. Median of ``--repeats`` runs each;
outputs go to a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(script: str, args: list[str], preload: bool) -> float:
    """Seconds for ``scripts/<script> <args>`` in a fresh process (after importing the callbacks when ``preload``)."""
    code = ("import ssl_it.callbacks\n" if preload else "") + (
        f"import runpy, sys\nsys.argv = {[script, *args]!r}\n"
        f"runpy.run_path({str(ROOT / 'scripts' / script)!r}, run_name='__main__')\n"
    )
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}
    )
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{script} failed:\n{proc.stderr[-2000:]}")
    return seconds


def main() -> None:
    """Time the result scripts on a sweep folder, with and without the training stack loaded."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("sweep", type=Path, help="a sweep folder (run folders below it)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None, help="also write the table here (markdown)")
    args = parser.parse_args()
    runs = sorted(p.parent for p in args.sweep.rglob("config.yaml") if not p.parent.name.startswith("."))
    with tempfile.TemporaryDirectory() as tmp:
        cases = {
            "compare_runs.py": [str(args.sweep), "--out", f"{tmp}/compare"],
            "plot_infoplane.py": [*map(str, runs[:2]), "--out", f"{tmp}/plane.png"],
            "plot_seed_bands.py": [str(args.sweep), "--group", "objective", "--out", f"{tmp}/bands"],
        }
        lines = [
            f"{len(runs)} runs in {args.sweep}; median of {args.repeats} fresh interpreters, seconds",
            "",
            "| script | now | with Lightning imported (before) | before / now |",
            "|---|---|---|---|",
        ]
        for script, script_args in cases.items():
            now = statistics.median(timed(script, script_args, False) for _ in range(args.repeats))
            before = statistics.median(timed(script, script_args, True) for _ in range(args.repeats))
            lines.append(f"| {script} | {now:.2f} | {before:.2f} | {before / now:.1f}x |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)


if __name__ == "__main__":
    main()
