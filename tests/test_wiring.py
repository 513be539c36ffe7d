"""One way to wire callbacks: named nodes, what the run knows given by name, results through one interface."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from hydra.errors import InstantiationException
from torch import nn

from ssl_it.build import build_objective
from ssl_it.callbacks import (
    DivergenceGuard,
    EmbeddingDiagnostics,
    EmbeddingView,
    InformationPlane,
    KNNClassifier,
    LinearEvaluation,
    OnlineLinearProbe,
    ResultReporter,
    StepSeed,
    final_results,
)
from ssl_it.callbacks.probe_cache import ProbeCache
from ssl_it.callbacks.protocols import ChecksProbeSize, ClassifiesLabels, TapsLayers, check_label_classes
from ssl_it.estimators import KDEMI
from ssl_it.objectives.base import Objective
from ssl_it.run.config_checks import ConfigError, validate_config
from ssl_it.train import CONFIG_DIR, build_callbacks, callback_nodes

TRAIN_PY = Path(__file__).resolve().parents[1] / "ssl_it" / "train.py"


def _by_type(callbacks: list) -> dict[type, object]:
    return {type(c): c for c in callbacks}


def test_every_default_callback_is_a_named_node_and_keys_reach_the_instance(make_cfg, tmp_path):
    cfg = make_cfg(
        "callbacks.linear_eval.max_iter=7", "callbacks.online_probe.lr=0.5", "callbacks.knn.k=3", "estimator=kde"
    )
    names = list(callback_nodes(cfg))
    assert names[:3] == ["divergence_guard", "step_seed", "online_probe"] and names[-2:] == ["linear_eval", "infoplane"]
    assert "progress_bar" not in names  # callbacks.progress_bar=null in the fast configs
    made = _by_type(build_callbacks(cfg))
    assert list(made)[:2] == [DivergenceGuard, StepSeed]
    assert made[StepSeed].seed == cfg.seed
    assert made[LinearEvaluation].max_iter == 7
    assert made[OnlineLinearProbe].lr == 0.5 and made[OnlineLinearProbe].num_classes is None  # the data's, at setup
    assert made[KNNClassifier].k == 3
    plane = made[InformationPlane]
    assert isinstance(plane.estimator, KDEMI)  # its constructor names `estimator`: the estimator group, built
    assert plane.run_dir == tmp_path / "run"  # ${paths.output_dir}


@pytest.mark.parametrize("removal", ["~callbacks.{}", "callbacks.{}=null"])
@pytest.mark.parametrize(
    "name, kind",
    [
        ("knn", KNNClassifier),
        ("linear_eval", LinearEvaluation),
        ("online_probe", OnlineLinearProbe),
        ("divergence_guard", DivergenceGuard),
        ("step_seed", StepSeed),
    ],
)
def test_a_callback_is_removed_the_same_way_whichever_it_is(make_cfg, removal, name, kind):
    cfg = make_cfg(removal.format(name))
    assert name not in callback_nodes(cfg)
    assert kind not in _by_type(build_callbacks(cfg))


def test_the_information_plane_group_switches_off_and_the_minimal_set_keeps_the_evaluations(make_cfg):
    assert InformationPlane not in _by_type(build_callbacks(make_cfg("infoplane=none")))
    minimal = _by_type(build_callbacks(make_cfg("callbacks=minimal", "infoplane=none")))
    assert {OnlineLinearProbe, LinearEvaluation} <= set(minimal) and KNNClassifier not in minimal


def test_every_measuring_callback_of_a_run_shares_one_probe_cache(make_cfg):
    made = _by_type(build_callbacks(make_cfg("callbacks.embedding_view.max_points=8")))
    sharing = [
        made[kind] for kind in (KNNClassifier, LinearEvaluation, EmbeddingDiagnostics, EmbeddingView, InformationPlane)
    ]
    caches = {id(c.probe_cache) for c in sharing}
    assert len(caches) == 1 and isinstance(sharing[0].probe_cache, ProbeCache)
    other = _by_type(build_callbacks(make_cfg()))[KNNClassifier]
    assert id(other.probe_cache) not in caches  # one cache per run


class TakesNothingFromTheRun(pl.Callback):
    """A user callback whose constructor names no piece of the run."""

    def __init__(self, tag: str = "") -> None:
        self.tag = tag


class TakesTheEstimator(pl.Callback):
    def __init__(self, estimator: object, probe_cache: ProbeCache | None = None, tag: str = "") -> None:
        self.estimator, self.probe_cache, self.tag = estimator, probe_cache, tag


@pytest.mark.parametrize("partial", ["true", "false"])
def test_a_callback_gets_exactly_the_run_pieces_its_constructor_names(make_cfg, partial):
    cfg = make_cfg(
        "estimator=kde",
        "callbacks.knn=null",
        f"+callbacks.plain={{_target_: tests.test_wiring.TakesNothingFromTheRun, _partial_: {partial}, tag: a}}",
        f"+callbacks.user={{_target_: tests.test_wiring.TakesTheEstimator, _partial_: {partial}, tag: b}}",
    )
    made = _by_type(build_callbacks(cfg))
    plain, user, plane = made[TakesNothingFromTheRun], made[TakesTheEstimator], made[InformationPlane]
    assert plain.tag == "a" and user.tag == "b"
    assert user.estimator is plane.estimator and isinstance(user.estimator, KDEMI)  # built once, for both
    assert user.probe_cache is plane.probe_cache


def test_no_estimator_is_built_when_no_callback_takes_one(make_cfg):
    """The estimator group is built only on request (a neural estimator's critic draws random numbers)."""
    made = build_callbacks(make_cfg("infoplane=none", "estimator.I_XT._target_=no.such.Estimator"))
    assert InformationPlane not in _by_type(made)


def test_what_a_callback_declares_for_the_checks_is_a_protocol(tmp_path):
    plane = InformationPlane(KDEMI(), str(tmp_path))
    assert isinstance(plane, ChecksProbeSize) and isinstance(plane, TapsLayers)
    assert all(isinstance(c, ClassifiesLabels) for c in (OnlineLinearProbe(), KNNClassifier(), LinearEvaluation()))
    assert not isinstance(DivergenceGuard(), ClassifiesLabels | ChecksProbeSize | TapsLayers)
    with pytest.raises(ConfigError, match="KNNClassifier classify the labels"):
        check_label_classes(1, [DivergenceGuard(), KNNClassifier()])
    check_label_classes(1, [DivergenceGuard(), plane])


def test_the_progress_bar_is_a_callback_node_the_trainer_flag_does_not_hide(make_cfg):
    with pytest.raises(ConfigError, match=r"trainer\.enable_progress_bar=false: .*\(callbacks\.progress_bar=null\)"):
        validate_config(
            make_cfg(
                "trainer.enable_progress_bar=false",
                "callbacks.progress_bar={_target_: ssl_it.callbacks.LossProgressBar}",
            )
        )
    validate_config(make_cfg("trainer.enable_progress_bar=false", "callbacks.progress_bar=null"))


def test_bad_callback_arguments_name_the_key(make_cfg):
    with pytest.raises(InstantiationException, match=r"callbacks\.linear_eval\.c: must be a number > 0; got 0"):
        build_callbacks(make_cfg("callbacks.linear_eval.c=0"))
    with pytest.raises(ValueError, match=r"callbacks\.linear_eval\.max_iter"):
        LinearEvaluation(max_iter=0)
    with pytest.raises(ValueError, match=r"callbacks\.online_probe\.num_classes"):
        OnlineLinearProbe(num_classes=1)
    with pytest.raises(
        InstantiationException, match=r"callbacks\.diagnostics\.every_n_epochs: must be an integer >= 1; got 0"
    ):
        build_callbacks(make_cfg("callbacks.diagnostics.every_n_epochs=0"))
    # the embedding view reads the information plane's schedule too, so Hydra may wrap the ValueError
    with pytest.raises(
        (ValueError, InstantiationException), match=r"infoplane\.log_spaced_evals: must be an integer >= 0; got -1"
    ):
        build_callbacks(make_cfg("infoplane.log_spaced_evals=-1"))


def test_results_come_from_every_reporter_and_nothing_else():
    probe, evaluation, knn = OnlineLinearProbe(num_classes=3), LinearEvaluation(), KNNClassifier()
    assert all(isinstance(c, ResultReporter) for c in (probe, evaluation, knn))
    assert not isinstance(DivergenceGuard(), ResultReporter)
    before = final_results([probe, evaluation, knn, DivergenceGuard()])
    assert list(before) == ["final/val_probe_acc"] and before["final/val_probe_acc"] != before["final/val_probe_acc"]
    probe.final_val_accuracy, knn.last_accuracy = 0.75, 0.5
    evaluation.result = {"top1": 0.875, "top5": 1.0}
    assert final_results([probe, evaluation, knn]) == {
        "final/val_probe_acc": 0.75,
        "final/linear_eval_top1": 0.875,
        "final/linear_eval_top5": 1.0,
        "final/knn_acc": 0.5,
    }


def test_the_information_plane_reports_its_last_evaluation(tmp_path):
    plane = InformationPlane(KDEMI(), str(tmp_path))
    assert plane.results() == {}
    (tmp_path / "infoplane.csv").write_text(
        "step,layer,I_XT,I_TY,I_Z1Z2\n0,backbone,1.0,0.5,\n4,backbone,2.0,0.25,\n4,views,,,3.5\n"
    )
    assert plane.results() == {
        "final/infoplane/backbone/I_XT": 2.0,
        "final/infoplane/backbone/I_TY": 0.25,
        "final/infoplane/views/I_Z1Z2": 3.5,
    }


def test_the_objective_declares_whether_it_takes_the_class_count(make_cfg):
    supervised = build_objective(make_cfg("objective=supervised").objective, in_dim=6, num_classes=7)
    assert supervised.needs_num_classes and supervised.classifier.out_features == 7
    vicreg = build_objective(make_cfg("objective=vicreg").objective, in_dim=6, num_classes=7)
    assert not vicreg.needs_num_classes and isinstance(vicreg.projector, nn.Module)


def test_train_py_is_wiring_only():
    """The issue's literal condition: no isinstance lookups, no signature inspection."""
    source = TRAIN_PY.read_text()
    assert re.findall(r"isinstance|issubclass|inspect\.|signature\(", source) == []


def test_every_objective_declares_its_projector_and_heads(make_cfg):
    for option in sorted(p.stem for p in (Path(CONFIG_DIR) / "objective").glob("*.yaml")):
        overrides = ["objective.out_dim=4", "objective.w_size=8"] if option == "wmse" else []
        obj = build_objective(make_cfg(f"objective={option}", *overrides).objective, in_dim=6, num_classes=3)
        assert isinstance(obj, Objective) and isinstance(obj.projector, nn.Module), option
        assert all(isinstance(h, nn.Module) for h in obj.probe_heads()), option
        z = obj.projector.eval()(torch.randn(4, 6))
        assert z.shape[0] == 4, option
