"""Overhead of the information-plane callback on the default run.

Runs the default configuration (or the given overrides) twice in this
process, with and without ``infoplane``, and prints both wall times and the
ratio, and the seconds spent inside the callback's evaluations (timed
around ``InformationPlane._evaluate``, logging and figures included) as a
share of the run without it: on a shared machine the wall-clock ratio of two
single runs moves by +-10 %, the in-callback share does not. Both runs use
the default loggers (W&B offline without an API key),
so the W&B table, chart and image the callback logs are part of the cost.
It also prints, per layer and quantity, the share of evaluations flagged
``saturated`` (within 2 % of the ceiling), and which estimator measured it.

    python scripts/bench_infoplane.py                       # default run
    python scripts/bench_infoplane.py trainer.max_epochs=3  # shorter
    python scripts/bench_infoplane.py estimator=calibrated estimator@estimator.I_TY=ksg
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from hydra import compose, initialize_config_dir

from ssl_it.callbacks.infoplane import InformationPlane
from ssl_it.callbacks.infoplane_rows import QUANTITIES
from ssl_it.callbacks.trajectory import read_trajectory
from ssl_it.train import CONFIG_DIR, train

SPENT: list[float] = []


def timed_evaluations() -> None:
    """Wrap ``InformationPlane._evaluate`` to add up its wall time in SPENT."""
    evaluate = InformationPlane._evaluate

    def timed(self, trainer, pl_module):  # noqa: ANN001, ANN202
        start = time.perf_counter()
        try:
            return evaluate(self, trainer, pl_module)
        finally:
            SPENT.append(time.perf_counter() - start)

    InformationPlane._evaluate = timed


def timed_run(overrides: list[str], out: Path) -> tuple[float, float]:
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(
            "train",
            overrides=[*overrides, "trainer.enable_progress_bar=false",
                       f"paths.output_dir={out}", f"paths.outputs_root={out.parent}"],
        )
    start = time.perf_counter()
    acc = train(cfg)
    return time.perf_counter() - start, acc


def saturation_table(rows: list[dict]) -> list[str]:
    """Markdown rows: layer, quantity, estimator, saturated evaluations / all."""
    lines = ["| layer | quantity | estimator | saturated evaluations |", "|---|---|---|---|"]
    for layer in dict.fromkeys(r["layer"] for r in rows):
        for q, s in QUANTITIES.items():
            got = [r for r in rows if r["layer"] == layer and r.get(q) is not None]
            if got:
                n_sat = sum(bool(r[f"saturated_{s}"]) for r in got)
                lines.append(f"| {layer} | {q} | {got[0][f'estimator_{s}']} | {n_sat}/{len(got)} "
                             f"({100 * n_sat / len(got):.0f} %) |")
    return lines


def main() -> None:
    overrides = sys.argv[1:]
    timed_evaluations()
    with tempfile.TemporaryDirectory() as tmp:
        off, acc_off = timed_run([*overrides, "infoplane=none"], Path(tmp) / "off")
        on, acc_on = timed_run(overrides, Path(tmp) / "on")
        rows = read_trajectory(Path(tmp) / "on" / "infoplane.csv")
        n_evals = len({r["step"] for r in rows})
    print()
    print("| run | wall time (s) | linear-eval top-1 |")
    print("|---|---|---|")
    print(f"| without infoplane | {off:.1f} | {acc_off:.4f} |")
    print(f"| with infoplane ({n_evals} evaluations) | {on:.1f} | {acc_on:.4f} |")
    print(f"\noverhead ratio (with / without) = {on / off:.3f}  ({100 * (on / off - 1):+.1f} %)")
    print(f"time inside the callback: {sum(SPENT):.1f} s over {len(SPENT)} calls = "
          f"{100 * sum(SPENT) / off:.1f} % of the run without it")
    print()
    print("\n".join(saturation_table(rows)))


if __name__ == "__main__":
    main()
