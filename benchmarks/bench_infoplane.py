"""Overhead of the information-plane callback on the default run.

Runs the default configuration (or the given overrides) twice, each in a
fresh process, without and with ``infoplane``, and prints both wall times and the
ratio, and the seconds spent inside the callback's evaluations (timed
around ``InformationPlane._evaluate``, logging and figures included) as a
share of the run without it: on a shared machine the wall-clock ratio of two
single runs moves by +-10 %, the in-callback share does not. Both runs use
the default loggers (W&B offline without an API key),
so the W&B table, chart and image the callback logs are part of the cost.
It also prints, per layer and quantity, the share of evaluations flagged
``saturated`` (within 2 % of the ceiling), which estimator measured it, the
median band width, and how many evaluations the data-processing check
flagged (``dpi_*``: a downstream layer above its upstream one beyond both
bands), with the raw gap ``downstream - upstream`` at each evaluation.

    python benchmarks/bench_infoplane.py                       # default run
    python benchmarks/bench_infoplane.py --repeats 2           # off, on, off, on: medians (a shared machine)
    python benchmarks/bench_infoplane.py --profile             # one run with it: where the callback's time goes
    python benchmarks/bench_infoplane.py trainer.max_epochs=3  # shorter
    python benchmarks/bench_infoplane.py estimator=calibrated estimator@estimator.I_TY=ksg
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
from pathlib import Path

from fresh_process import run_if_child, run_in_child, time_method, timed_run

from ssl_it.callbacks.infoplane import InformationPlane
from ssl_it.callbacks.infoplane.rows import QUANTITIES
from ssl_it.run.trajectory import read_trajectory

SPENT: list[float] = []


def saturation_table(rows: list[dict]) -> list[str]:
    """Markdown rows: layer, quantity, estimator, saturated evaluations / all."""
    lines = ["| layer | quantity | estimator | saturated evaluations |", "|---|---|---|---|"]
    for layer in dict.fromkeys(r["layer"] for r in rows):
        for q, s in QUANTITIES.items():
            got = [r for r in rows if r["layer"] == layer and r.get(q) is not None]
            if got:
                n_sat = sum(bool(r[f"saturated_{s}"]) for r in got)
                lines.append(
                    f"| {layer} | {q} | {got[0][f'estimator_{s}']} | {n_sat}/{len(got)} "
                    f"({100 * n_sat / len(got):.0f} %) |"
                )
    return lines


def band_table(rows: list[dict]) -> list[str]:
    """Markdown rows: layer, quantity, median band width (hi - lo), median sampling sd, median invariance spread."""
    lines = [
        "| layer | quantity | median band width | median sampling sd | median invariance spread |",
        "|---|---|---|---|---|",
    ]
    for layer in dict.fromkeys(r["layer"] for r in rows):
        for q in QUANTITIES:
            got = [r for r in rows if r["layer"] == layer and r.get(f"{q}_lo") is not None]
            if got:
                width = statistics.median(r[f"{q}_hi"] - r[f"{q}_lo"] for r in got)
                sd = statistics.median(r[f"{q}_sd"] for r in got if r[f"{q}_sd"] is not None)
                spread = statistics.median(r[f"{q}_spread"] for r in got)
                lines.append(f"| {layer} | {q} | {width:.3f} | {sd:.3f} | {spread:.3f} |")
    return lines


def dpi_lines(rows: list[dict]) -> list[str]:
    """How many evaluations the data-processing check flagged, per pair and quantity, and the raw gaps."""
    out = []
    for down in (r for r in rows if r.get("dpi_upstream")):
        up = next(r for r in rows if r["step"] == down["step"] and r["layer"] == down["dpi_upstream"])
        gaps = {q: down[q] - up[q] for q in ("I_XT", "I_TY")}
        flags = {q: down.get(f"dpi_{q[2:]}") for q in ("I_XT", "I_TY")}
        out.append((down["dpi_upstream"], down["layer"], down["epoch"], gaps, flags))
    if not out:
        return ["no layer pair checked"]
    lines = []
    for q in ("I_XT", "I_TY"):
        checked = [o for o in out if o[4][q] is not None]
        flagged = [o for o in checked if o[4][q]]
        raw = sum(1 for o in out if o[3][q] > 0)
        lines.append(
            f"{q}: {len(flagged)} of {len(checked)} checked evaluations flagged beyond the bands "
            f"({raw} of {len(out)} read downstream > upstream before the bands"
            + ("" if checked else "; not checked: lower bounds")
            + ")"
        )
    lines.append(
        "gaps downstream - upstream (I_XT / I_TY) by epoch: "
        + ", ".join(f"{o[2]:g}: {o[3]['I_XT']:+.3f} / {o[3]['I_TY']:+.3f}" for o in out)
    )
    return lines


def profiled_run(overrides: list[str], out: Path) -> None:
    """One run with the callback, cProfile around ``InformationPlane._evaluate``: the cumulative top 40."""
    import cProfile
    import pstats

    profile = cProfile.Profile()
    evaluate = InformationPlane._evaluate

    def profiled(self, trainer, pl_module):  # noqa: ANN001, ANN202
        profile.enable()
        try:
            return evaluate(self, trainer, pl_module)
        finally:
            profile.disable()

    InformationPlane._evaluate = profiled
    time_method(InformationPlane, "_evaluate", SPENT)
    wall, _ = timed_run(overrides, out)
    print(f"wall {wall:.1f} s, inside the callback {sum(SPENT):.1f} s over {len(SPENT)} evaluations")
    pstats.Stats(profile).sort_stats("cumulative").print_stats(40)


def _without_infoplane(overrides: list[str]) -> list[str]:
    """The run without the callback: its settings dropped (no node to set), and the t-SNE view kept on the
    schedule it has with the callback (it follows ``infoplane.every_n_epochs``, and falls back to every epoch
    without it), so that the two runs differ by the callback alone."""
    from hydra import compose, initialize_config_dir

    from ssl_it.train import CONFIG_DIR

    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("train", overrides=overrides)
    kept = [o for o in overrides if not o.startswith("infoplane.")] + ["infoplane=none"]
    if cfg.get("infoplane") is not None and cfg.callbacks.get("embedding_view") is not None:
        kept.append(f"callbacks.embedding_view.every_n_epochs={cfg.callbacks.embedding_view.every_n_epochs}")
    return kept


def main() -> None:
    """Compare runs without and with the information plane (or profile one, or be one as a child process)."""
    if run_if_child(InformationPlane, "_evaluate", _without_infoplane):
        return
    overrides = sys.argv[1:]
    if overrides[:1] == ["--profile"]:
        with tempfile.TemporaryDirectory() as tmp:
            profiled_run(overrides[1:], Path(tmp) / "on")
        return
    repeats = 1
    if overrides[:1] == ["--repeats"]:
        repeats, overrides = int(overrides[1]), overrides[2:]
    offs, ons = [], []
    load = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeats):  # interleaved, so that a change in the machine's load hits both alike
            offs.append(run_in_child(__file__, "off", overrides, Path(tmp) / f"off{i}"))
            load.append(os.getloadavg()[0])
            ons.append(run_in_child(__file__, "on", overrides, Path(tmp) / f"on{i}"))
            load.append(os.getloadavg()[0])
        rows = read_trajectory(Path(tmp) / "on0" / "infoplane.csv")
        n_evals = len({r["step"] for r in rows})
    print()
    print("| run | wall time (s) | time inside the callback (s) | share of the run without it | linear-eval top-1 |")
    print("|---|---|---|---|---|")
    for i, (off, on) in enumerate(zip(offs, ons)):
        print(f"| {i + 1}: without infoplane | {off['wall']:.1f} | | | {off['acc']:.4f} |")
        print(
            f"| {i + 1}: with infoplane ({n_evals} evaluations) | {on['wall']:.1f} | {sum(on['spent']):.1f} | "
            f"{100 * sum(on['spent']) / off['wall']:.1f} % | {on['acc']:.4f} |"
        )
    off_wall = statistics.median(o["wall"] for o in offs)
    on_wall = statistics.median(o["wall"] for o in ons)
    spent = statistics.median(sum(o["spent"]) for o in ons)
    print(
        f"\nmedians over {repeats} interleaved pair(s): without {off_wall:.1f} s, with {on_wall:.1f} s; "
        f"overhead ratio (with / without) = {on_wall / off_wall:.3f} ({100 * (on_wall / off_wall - 1):+.1f} %)"
    )
    print(
        f"time inside the callback: {spent:.1f} s over {len(ons[0]['spent'])} calls = "
        f"{100 * spent / off_wall:.1f} % of the run without it"
    )
    print(
        f"1-minute load average before and after each run: {', '.join(f'{v:.1f}' for v in load)} "
        f"(on {os.cpu_count()} cores)"
    )
    print()
    print("\n".join(saturation_table(rows)))
    print()
    print("\n".join(band_table(rows)))
    print()
    print("\n".join(dpi_lines(rows)))


if __name__ == "__main__":
    main()
