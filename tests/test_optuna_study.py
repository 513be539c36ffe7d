"""The Optuna study behind hparams_search=optuna: Hydra's sweep grammar as
distributions, resuming after a kill, and storages that cannot be read."""

from __future__ import annotations

import math
import sqlite3

import pytest

optuna = pytest.importorskip("optuna")

from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution  # noqa: E402
from optuna.trial import TrialState  # noqa: E402

from hydra_plugins.ssl_it_sweepers.search_space import search_space, trial_overrides  # noqa: E402
from ssl_it.run import optuna_study  # noqa: E402


def test_hydra_sweeps_become_optuna_distributions():
    space, fixed = search_space(
        {
            "optimizer.lr": "tag(log, interval(1e-4, 1e-2))",
            "objective": "choice(vicreg, simclr)",
            "datamodule.batch_size": "range(16, 80, 16)",
            "seed": "tag(int, interval(0, 9))",
        },
        ["optimizer.lr=interval(0.1, 0.5)", "trainer.max_epochs=2"],
    )
    assert space == {
        "optimizer.lr": FloatDistribution(0.1, 0.5),  # the command line wins over params
        "objective": CategoricalDistribution(["vicreg", "simclr"]),
        "datamodule.batch_size": IntDistribution(16, 64, step=16),  # range's stop is excluded
        "seed": IntDistribution(0, 9),
    }
    assert fixed == ["trainer.max_epochs=2"]
    assert search_space({"optimizer.lr": "tag(log, interval(1e-4, 1e-2))"}, [])[0]["optimizer.lr"] == FloatDistribution(
        1e-4, 1e-2, log=True
    )
    assert trial_overrides({"optimizer.lr": 0.001, "objective": "simclr"}, ["seed=1"]) == [
        "optimizer.lr=0.001",
        "objective=simclr",
        "seed=1",
    ]


def test_an_empty_range_names_its_key():
    with pytest.raises(ValueError, match=r"hydra.sweeper.params.seed: the range\(3, 3\) is empty"):
        search_space({"seed": "range(3, 3)"}, [])


def test_resume_fails_the_killed_trial_and_queues_its_parameters(tmp_path):
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    study = optuna_study.open_study(storage, "s", ["maximize"])
    space = {"x": FloatDistribution(0.0, 1.0)}
    done = study.ask(space)
    study.tell(done, 0.5)
    failed = study.ask(space)
    study.tell(failed, state=TrialState.FAIL)
    killed = study.ask(space)  # the process dies here: the trial stays RUNNING

    again = optuna_study.open_study(storage, "s", ["maximize"])
    resumed = optuna_study.resume(again, n_trials=5)
    assert (resumed.finished, resumed.killed, resumed.to_run) == (2, [2], 3)
    states = [t.state for t in again.get_trials()]
    assert states == [TrialState.COMPLETE, TrialState.FAIL, TrialState.FAIL, TrialState.WAITING]
    retry = again.ask(space)
    assert retry.number == 3 and retry.params == killed.params
    assert again.trials[3].user_attrs == {optuna_study.RETRY_OF: 2}


def test_values_that_cannot_be_ranked_are_none():
    assert optuna_study.values_of(0.25, 1) == [0.25]
    assert optuna_study.values_of((0.9, 1.5), 2) == [0.9, 1.5]
    assert optuna_study.values_of(math.nan, 1) is None
    assert optuna_study.values_of((0.9,), 2) is None
    assert optuna_study.values_of("n/a", 1) is None


def test_a_file_that_is_not_a_database_is_named(tmp_path):
    path = tmp_path / "optuna.db"
    path.write_bytes(b"not a database" * 100)
    with pytest.raises(optuna_study.StorageError) as err:
        optuna_study.open_study(f"sqlite:///{path}", "s", ["maximize"])
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"hydra.sweeper.storage: cannot open the Optuna study in '{path}' (")
    assert "file is not a database" in message and "choose another hydra.sweep.dir" in message


def test_a_study_from_an_older_optuna_says_how_to_upgrade(tmp_path):
    path = tmp_path / "optuna.db"
    optuna.create_study(storage=f"sqlite:///{path}", study_name="s")
    with sqlite3.connect(path) as db:  # what a study written by optuna 2 (hydra-optuna-sweeper) holds
        db.execute("update alembic_version set version_num = 'v2.6.0.a'")
    with pytest.raises(
        optuna_study.StorageError, match=r"upgrade it with `optuna storage upgrade --storage sqlite:///.*optuna\.db`"
    ):
        optuna_study.open_study(f"sqlite:///{path}", "s", ["maximize"])


def test_results_file_holds_the_best_trial_or_the_pareto_front(tmp_path):
    import yaml

    single = optuna.create_study(direction="maximize")
    for x in (0.2, 0.7):
        single.add_trial(
            optuna.trial.create_trial(params={"x": x}, distributions={"x": FloatDistribution(0, 1)}, value=x)
        )
    optuna_study.write_results(single, tmp_path / "single.yaml")
    out = yaml.safe_load((tmp_path / "single.yaml").read_text())
    assert (out["best_params"], out["best_value"], out["best_trial"]) == ({"x": 0.7}, 0.7, 1)
    pareto = optuna.create_study(directions=["maximize", "minimize"])
    for x, values in ((0.1, [0.5, 1.0]), (0.2, [0.6, 2.0]), (0.3, [0.4, 3.0])):  # the third is dominated
        pareto.add_trial(
            optuna.trial.create_trial(params={"x": x}, distributions={"x": FloatDistribution(0, 1)}, values=values)
        )
    optuna_study.write_results(pareto, tmp_path / "pareto.yaml")
    solutions = yaml.safe_load((tmp_path / "pareto.yaml").read_text())["solutions"]
    assert sorted(s["trial"] for s in solutions) == [0, 1]
