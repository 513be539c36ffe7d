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
from pathlib import Path

from fresh_process import run_if_child, run_in_child

from ssl_it.callbacks.embedding_view import EmbeddingView


def _without_view(overrides: list[str]) -> list[str]:
    return [*overrides, "callbacks.embedding_view=null"]


def main() -> None:
    """Compare a run without and with the embedding view (or, as a child process, be one of them)."""
    if run_if_child(EmbeddingView, "_draw", _without_view):
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
