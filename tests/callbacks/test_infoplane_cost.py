"""What keeps the callback cheap: the figure drawn every k-th evaluation, the invariance and sampling spreads
carried between re-estimates; none changes a value in infoplane.csv."""

from __future__ import annotations

import csv

import pytest
import torch
from torch import nn

from ssl_it.callbacks.infoplane import InformationPlane
from ssl_it.callbacks.infoplane import callback as infoplane_module
from ssl_it.estimators import BinningMI
from tests.callbacks.fakes import TinyModel, fake_trainer


class CountingBinning(BinningMI):
    calls = 0

    def estimate(self, x, y):  # noqa: ANN001, ANN201
        type(self).calls += 1
        return super().estimate(x, y)


def _run(tmp_path, steps: int, last_step: int, **kwargs) -> tuple[InformationPlane, list[int], list[int]]:  # noqa: ANN001
    """Evaluate at steps 0 .. steps-1 of a run whose last step is ``last_step``: (callback, rows drawn in each
    figure, estimator calls per evaluation)."""
    drawn: list[int] = []

    def counting(rows, path, *args):  # noqa: ANN001, ANN202
        drawn.append(len(rows))
        return path

    g = torch.Generator().manual_seed(0)
    x = torch.randn(40, 3, generator=g)
    trainer = fake_trainer(x, torch.arange(40) % 2)
    trainer.estimated_stepping_batches = last_step
    cb = InformationPlane(CountingBinning(), str(tmp_path), layers=["backbone"], measure_views=False, **kwargs)
    calls = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(infoplane_module, "draw_figure", counting)
        for step in range(steps):
            trainer.global_step = step
            CountingBinning.calls = 0
            cb._evaluate(trainer, TinyModel(nn.Identity()))
            calls.append(CountingBinning.calls)
        cb.on_train_end(trainer, TinyModel(nn.Identity()))
    return cb, drawn, calls


def test_the_figure_is_drawn_at_every_kth_evaluation_and_the_last(tmp_path):
    assert _run(tmp_path / "a", 5, last_step=4, figure_every=2)[1] == [1, 3, 5]
    assert _run(tmp_path / "b", 5, last_step=4, figure_every=3)[1] == [1, 4, 5]  # the last one, by its step
    assert _run(tmp_path / "c", 5, last_step=99, figure_every=3)[1] == [1, 4, 5]  # a run that ended early: at the end
    assert _run(tmp_path / "d", 3, last_step=99)[1] == [1, 2, 3]  # the default: every evaluation


def test_carried_invariance_spreads_skip_the_re_estimates_and_leave_the_values_alone(tmp_path):
    every, _, calls_every = _run(tmp_path / "a", 4, last_step=3, invariance_every=1)
    carry, _, calls_carry = _run(tmp_path / "b", 4, last_step=3, invariance_every=2)
    # a re-estimate per transform and quantity is skipped at evaluation 1 only: rotation, unit scale and copula
    # for I_XT, rotation and unit scale for I_TY (the default skips the label bound's copula)
    assert calls_every == [calls_every[0]] * 4
    assert calls_carry == [calls_every[0], calls_every[0] - 5, calls_every[0], calls_every[0]]  # step 3 is the last

    _assert_carried_at_evaluation_1(_read(every), _read(carry), "spread")


def test_carried_sampling_spreads_skip_the_half_samples_and_leave_the_values_alone(tmp_path):
    every, _, calls_every = _run(tmp_path / "a", 4, last_step=3, sampling_every=1)
    carry, _, calls_carry = _run(tmp_path / "b", 4, last_step=3, sampling_every=2)
    # 4 half-samples per quantity (I_XT, I_TY) are skipped at evaluation 1 only (step 3 is the last)
    assert calls_carry == [calls_every[0], calls_every[0] - 8, calls_every[0], calls_every[0]]
    _assert_carried_at_evaluation_1(_read(every), _read(carry), "sd")  # the call count shows no re-run
    # a resumed run carries the same spreads on
    restored = InformationPlane(CountingBinning(), str(tmp_path / "c"), layers=["backbone"], measure_views=False)
    restored.load_state_dict(carry.state_dict())
    assert restored._carried_sampling == carry._carried_sampling and restored._carried == carry._carried
    assert set(restored._carried_sampling) == {"backbone/I_XT", "backbone/I_TY"}


def _assert_carried_at_evaluation_1(every: list[dict[str, str]], carry: list[dict[str, str]], column: str) -> None:
    """``carry`` (re-measured at evaluations 0, 2, 3) has ``every``'s values and other spread everywhere, its
    bands at the re-measured evaluations, and at evaluation 1 the ``column`` (``spread`` or ``sd``) of 0."""
    other = "sd" if column == "spread" else "spread"
    for q in ("I_XT", "I_TY"):
        assert [r[q] for r in every] == [r[q] for r in carry]
        assert [r[f"{q}_{other}"] for r in every] == [r[f"{q}_{other}"] for r in carry]
        for i in (0, 2, 3):
            assert [carry[i][f"{q}_{c}"] for c in ("lo", "hi", column)] == [
                every[i][f"{q}_{c}"] for c in ("lo", "hi", column)
            ]
        assert float(carry[1][f"{q}_{column}"]) == pytest.approx(float(carry[0][f"{q}_{column}"]), abs=1e-12)


def _read(cb: InformationPlane) -> list[dict[str, str]]:
    with (cb.run_dir / "infoplane.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def test_the_schedules_reject_a_non_positive_period(tmp_path):
    for key in ("invariance_every", "sampling_every", "figure_every"):
        with pytest.raises(ValueError, match=f"infoplane.{key}"):
            InformationPlane(BinningMI(), str(tmp_path), **{key: 0})


def test_estimate_workers_change_no_value_and_neural_estimators_run_one_at_a_time(tmp_path):
    from ssl_it.estimators import KSGMI, MINE, ClassifierMI

    def rows(workers: int, estimator: object, name: str) -> list[dict[str, str]]:
        g = torch.Generator().manual_seed(1)
        x = torch.randn(96, 6, generator=g)
        trainer = fake_trainer(x, torch.arange(96) % 3)
        trainer.estimated_stepping_batches = 1
        cb = InformationPlane(
            estimator, str(tmp_path / name), layers=["backbone"], measure_views=False, estimate_workers=workers
        )
        for step in range(2):
            trainer.global_step = step
            cb._evaluate(trainer, TinyModel(nn.Identity()))
        with (cb.run_dir / "infoplane.csv").open(newline="") as f:
            return [{k: v for k, v in r.items() if k != "seconds"} for r in csv.DictReader(f)]

    per_quantity = {"I_XT": KSGMI(k=3), "I_TY": ClassifierMI(n_folds=3)}
    assert rows(1, per_quantity, "one") == rows(3, per_quantity, "three")
    assert not MINE().thread_safe and KSGMI().thread_safe and ClassifierMI().thread_safe
    with pytest.raises(ValueError, match="infoplane.estimate_workers"):
        InformationPlane(BinningMI(), str(tmp_path), estimate_workers=0)


def test_the_threads_start_the_tasks_that_took_longest_and_return_them_in_order(tmp_path):
    import threading
    import time

    cb = InformationPlane(BinningMI(), str(tmp_path), layers=["backbone"], measure_views=False)
    cb._task_seconds = {"quick": 0.01, "slow": 5.0}
    started: list[str] = []
    lock = threading.Lock()

    def task(name: str):  # noqa: ANN202
        def run() -> str:
            with lock:
                started.append(name)
            time.sleep(0.05)
            return name

        return run

    tasks = [(name, task(name)) for name in ("quick", "slow", "new")]
    assert cb._run_longest_first(tasks, workers=2) == ["quick", "slow", "new"]
    assert set(started[:2]) == {"new", "slow"} and started[2] == "quick"  # unknown first, then by last time
    assert set(cb._task_seconds) == {"quick", "slow", "new"} and cb._task_seconds["slow"] < 1.0  # this run's times
