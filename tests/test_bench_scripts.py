"""The benchmark scripts read the configs as train.py composes them."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from ssl_it.estimators import ClassifierMI, PCAReducedMI

ROOT = Path(__file__).resolve().parents[1]


def test_bench_highdim_builds_the_calibrated_estimator_of_each_quantity(make_cfg, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))  # as when run as a script: its siblings (task_rows)
    spec = importlib.util.spec_from_file_location("bench_highdim", ROOT / "benchmarks" / "bench_highdim.py")
    bench = importlib.util.module_from_spec(spec)
    sys.modules["bench_highdim"] = bench  # its dataclasses look their module up
    spec.loader.exec_module(bench)  # type: ignore[union-attr]
    built = bench.calibrated_estimators()
    composed = make_cfg().estimator
    assert set(built) == set(composed) == {"I_XT", "I_TY", "I_Z1Z2"}
    assert isinstance(built["I_TY"], ClassifierMI)
    assert isinstance(built["I_XT"], PCAReducedMI) and isinstance(built["I_Z1Z2"], PCAReducedMI)
    for quantity, estimator in built.items():
        assert composed[quantity]["_target_"].rsplit(".", 1)[1] == type(estimator).__name__
