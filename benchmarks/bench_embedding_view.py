"""Cost of the embedding view (t-SNE pictures per information-plane evaluation) on the default run.

Runs the default configuration (or the given overrides) twice, each in a
fresh process, without and with ``callbacks.embedding_view``, and prints both
wall times, their ratio, and the seconds spent inside the callback (timed
around ``EmbeddingView._draw``: t-SNE of every tapped layer, the figure, the
W&B image) as a share of the run without it. On a shared machine the ratio
of two single runs moves by +-10 %; the in-callback share does not.

    python benchmarks/bench_embedding_view.py                            # default run
    python benchmarks/bench_embedding_view.py callbacks.embedding_view.max_points=512
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from fresh_process import child_arguments, report, run_in_child, time_method
from hydra import compose, initialize_config_dir

from ssl_it.callbacks.embedding_view import EmbeddingView
from ssl_it.train import CONFIG_DIR, train

SPENT: list[float] = []


def one_run(which: str, overrides: list[str], out: Path) -> None:
    """Child process: one run, then its wall time, accuracy and in-callback seconds as a JSON line."""
    time_method(EmbeddingView, "_draw", SPENT)
    extra = ["callbacks.embedding_view=null"] if which == "off" else []
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(
            "train",
            overrides=[
                *overrides,
                *extra,
                "trainer.enable_progress_bar=false",
                "callbacks.progress_bar=null",
                f"paths.output_dir={out}",
                f"paths.outputs_root={out.parent}",
            ],
        )
    start = time.perf_counter()
    acc = train(cfg)
    report({"wall": time.perf_counter() - start, "acc": acc, "spent": SPENT})


def main() -> None:
    """Compare a run without and with the embedding view (or, as a child process, be one of them)."""
    child = child_arguments()
    if child is not None:
        which, out, child_overrides = child
        one_run(which, child_overrides, out)
        return
    overrides = sys.argv[1:]
    with tempfile.TemporaryDirectory() as tmp:
        off = run_in_child(__file__, "off", overrides, Path(tmp) / "off")
        on = run_in_child(__file__, "on", overrides, Path(tmp) / "on")
    spent = on["spent"]
    print(f"overrides: {' '.join(overrides) or '(default run)'}")
    print("| run | wall time (s) | linear-eval top-1 |\n|---|---|---|")
    print(f"| without embedding view | {off['wall']:.1f} | {off['acc']:.3f} |")
    print(f"| with embedding view ({len(spent)} pictures) | {on['wall']:.1f} | {on['acc']:.3f} |")
    print(f"wall-clock ratio with/without: {on['wall'] / off['wall']:.3f}")
    if spent:
        print(
            f"inside the callback: {sum(spent):.2f} s over {len(spent)} pictures "
            f"(first {spent[0]:.3f} s, median {statistics.median(spent):.3f} s) = "
            f"{100 * sum(spent) / off['wall']:.2f} % of the run without it"
        )


if __name__ == "__main__":
    main()
