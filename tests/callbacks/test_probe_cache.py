"""One probe forward pass per step, shared by the information plane and the diagnostics."""

from __future__ import annotations

import csv

import pytest
import torch
from torch import nn

from ssl_it.callbacks import EmbeddingDiagnostics, InformationPlane
from ssl_it.callbacks import probe_cache as cache_module
from ssl_it.callbacks.probe_cache import ProbeCache
from ssl_it.estimators import KDEMI
from ssl_it.train import train
from tests.callbacks.fakes import TinyModel, fake_trainer


def _counting(monkeypatch) -> list[tuple[int, tuple[str, ...]]]:
    calls: list[tuple[int, tuple[str, ...]]] = []
    real = cache_module.probe_pass

    def counted(module, batches, layers, *args, **kwargs):  # noqa: ANN001, ANN202
        reps, labels = real(module, batches, layers, *args, **kwargs)
        calls.append((labels.shape[0], tuple(layers)))
        return reps, labels

    monkeypatch.setattr(cache_module, "probe_pass", counted)
    return calls


def test_one_forward_per_step_and_source_in_a_real_run(make_cfg, tmp_path, monkeypatch):
    calls = _counting(monkeypatch)
    train(make_cfg("callbacks.linear_eval=null", "callbacks.knn=null"))  # default callbacks keep the diagnostics
    steps = {int(r["step"]) for r in csv.DictReader((tmp_path / "run" / "infoplane.csv").open())}
    assert steps == {0, 4}
    # per step: the clean probe set and two views, each passed once for both callbacks
    # (without sharing, step 4 alone took 6 passes: 3 for the diagnostics, 3 for the plane)
    assert len(calls) == 3 * len(steps)
    assert all(set(layers) >= {"backbone", "projector"} for _, layers in calls)
    logged = [
        r
        for r in csv.DictReader((tmp_path / "run" / "metrics.csv").open())
        if r.get("diagnostics/backbone/effective_rank")
    ]
    plane = [
        r
        for r in csv.DictReader((tmp_path / "run" / "infoplane.csv").open())
        if r["layer"] == "backbone" and r["step"] == "4"
    ]
    assert float(logged[-1]["diagnostics/backbone/effective_rank"]) == pytest.approx(
        float(plane[0]["effective_rank"]), rel=1e-5
    )


def test_callbacks_share_the_pass_and_the_effective_rank(tmp_path, monkeypatch):
    calls = _counting(monkeypatch)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(40, 6, generator=gen)
    trainer = fake_trainer(x, torch.arange(40) % 4, views=[x + 0.1, x - 0.1], step=7)
    model = TinyModel(nn.Linear(6, 5), nn.Linear(5, 3))
    cache = ProbeCache()
    diag = EmbeddingDiagnostics(probe_cache=cache)
    plane = InformationPlane(KDEMI(), str(tmp_path), x_representation="pixels", probe_cache=cache)
    for cb in (diag, plane):
        cb.setup(trainer, model, "fit")
    diag.on_validation_epoch_end(trainer, model)
    plane._evaluate(trainer, model)
    assert len(calls) == 3 and cache.forward_passes == 3
    row = next(r for r in plane.rows if r["layer"] == "backbone")
    assert row["effective_rank"] == model.logged["diagnostics/backbone/effective_rank"]
    trainer.global_step = 8  # a new step: new weights, a new pass
    plane._evaluate(trainer, model)
    assert len(calls) == 6


def test_callbacks_with_caches_of_their_own_share_nothing(tmp_path, monkeypatch):
    calls = _counting(monkeypatch)
    x = torch.randn(40, 6, generator=torch.Generator().manual_seed(0))
    trainer = fake_trainer(x, torch.arange(40) % 4, views=[x + 0.1, x - 0.1], step=7)
    model = TinyModel(nn.Linear(6, 5), nn.Linear(5, 3))
    diag, plane = EmbeddingDiagnostics(), InformationPlane(KDEMI(), str(tmp_path), x_representation="pixels")
    assert diag.probe_cache is not plane.probe_cache
    for cb in (diag, plane):
        cb.setup(trainer, model, "fit")
    diag.on_validation_epoch_end(trainer, model)
    plane._evaluate(trainer, model)
    assert len(calls) == 6 and diag.probe_cache.forward_passes == plane.probe_cache.forward_passes == 3


def test_cache_computes_unregistered_layers_and_drops_a_step_when_it_moves(monkeypatch):
    calls = _counting(monkeypatch)
    x = torch.randn(10, 4)
    trainer = fake_trainer(x, torch.zeros(10, dtype=torch.long), step=0)
    model = TinyModel(nn.Linear(4, 4))
    cache = ProbeCache()
    cache.register("probe", ["backbone"])
    first = cache.representations(trainer, model, "probe", ["backbone"])
    assert calls == [(10, ("backbone",))]
    cache.representations(trainer, model, "probe", ["projector"])  # not registered: one more pass
    assert (
        len(calls) == 2
        and cache.representations(trainer, model, "probe", ["backbone"])["backbone"] is first["backbone"]
    )
    with torch.no_grad():
        model.backbone.weight.mul_(2)
    trainer.global_step = 1
    again = cache.representations(trainer, model, "probe", ["backbone"])
    assert len(calls) == 3 and torch.allclose(
        again["backbone"] - model.backbone.bias, 2 * (first["backbone"] - model.backbone.bias), atol=1e-5
    )
    assert cache.view_sources(trainer) == []
