"""One measurement of a benchmark in a fresh Python process, its result read back.

A benchmark that compares two runs (with and without a callback) runs each
in a new process, so neither inherits the other's threads, workers or
caches. The script calls itself: the parent calls :func:`run_in_child`,
which starts ``python <script> --one <which> <out dir> <overrides...>``; the
child finds its arguments with :func:`child_arguments` and prints its result
with :func:`report` as one ``BENCH {json}`` line; :func:`time_method` adds
up the seconds a callback spends in one of its methods.

Imported as ``from fresh_process import ...``: a script's own folder is on
``sys.path`` when Python runs it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

PREFIX = "BENCH "


def child_arguments() -> tuple[str, Path, list[str]] | None:
    """``(which, out dir, overrides)`` in a child process, ``None`` in the parent."""
    if sys.argv[1:2] != ["--one"]:
        return None
    return sys.argv[2], Path(sys.argv[3]), sys.argv[4:]


def report(result: dict[str, Any]) -> None:
    """The child's result, as the line :func:`run_in_child` reads."""
    print(PREFIX + json.dumps(result), flush=True)


def run_in_child(script: str, which: str, overrides: list[str], out: Path) -> dict[str, Any]:
    """Run ``script`` for ``which`` in a fresh process and return what it reported.

    Exits with the child's stderr if it failed."""
    proc = subprocess.run(
        [sys.executable, script, "--one", which, str(out), *overrides], capture_output=True, text=True, check=False
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith(PREFIX)]
    if proc.returncode != 0 or not lines:
        sys.exit(f"the '{which}' run failed:\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(lines[-1][len(PREFIX) :])
    return result


def time_method(cls: type, name: str, spent: list[float]) -> None:
    """Wrap method ``name`` of ``cls`` so that each call appends its wall time to ``spent``."""
    method: Callable[..., Any] = getattr(cls, name)

    def timed(self: Any, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return method(self, *args, **kwargs)
        finally:
            spent.append(time.perf_counter() - start)

    setattr(cls, name, timed)


def timed_run(overrides: list[str], out: Path) -> tuple[float, float]:
    """Train the default config with ``overrides`` into ``out`` (no progress bar); returns
    (wall seconds, linear-eval accuracy)."""
    from hydra import compose, initialize_config_dir

    from ssl_it.train import CONFIG_DIR, train

    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(
            "train",
            overrides=[
                *overrides,
                "trainer.enable_progress_bar=false",
                "callbacks.progress_bar=null",
                f"paths.output_dir={out}",
                f"paths.outputs_root={out.parent}",
            ],
        )
    start = time.perf_counter()
    acc = train(cfg)
    return time.perf_counter() - start, acc


def run_if_child(cls: type, method: str, without: Callable[[list[str]], list[str]]) -> bool:
    """In a child process (:func:`child_arguments`): time ``cls.method``, train once (the ``off`` run with
    the overrides ``without`` returns), :func:`report` its wall time, accuracy and timed seconds, and return
    True. In the parent: return False."""
    child = child_arguments()
    if child is None:
        return False
    which, out, overrides = child
    spent: list[float] = []
    time_method(cls, method, spent)
    wall, acc = timed_run(without(overrides) if which == "off" else overrides, out)
    report({"wall": wall, "acc": acc, "spent": spent})
    return True
