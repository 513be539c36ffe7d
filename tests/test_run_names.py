"""Run names, tags and groups built from a run's choices and overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from ssl_it.run.names import MAX_NAME, adopt_wandb_sweep_run_id, build_name, run_identity, sweep_name

CHOICES = {
    "objective": "vicreg",
    "backbone": "convnet",
    "estimator": "kde",
    "data": "mnist5k",
    "augmentation": "simclr_mnist",
    "optimizer": "adamw",
}


def test_name_from_choices_overrides_and_seed():
    overrides = ["objective=vicreg", "optimizer.lr=0.001", "logger.project=x", "hydra.run.dir=/a", "seed=3"]
    assert build_name(CHOICES, overrides, seed=3, measured=True) == "vicreg-convnet-kde-lr=0.001-s3"
    assert build_name(CHOICES, overrides, seed=3, measured=False) == "vicreg-convnet-lr=0.001-s3"


def test_name_keeps_full_keys_when_last_parts_collide_and_only_swept_keys_in_a_sweep():
    overrides = ["objective.out_dim=64", "backbone.out_dim=32", "data=digits", "datamodule.batch_size=16"]
    assert build_name(CHOICES, overrides, 0, True) == (
        "vicreg-convnet-kde-objective.out_dim=64-backbone.out_dim=32-data=digits-batch_size=16-s0"
    )
    swept = ["backbone.out_dim", "data"]
    assert build_name(CHOICES, overrides, 0, True, swept) == "vicreg-convnet-kde-out_dim=32-data=digits-s0"


def test_long_names_are_cut_with_a_hash_that_keeps_them_apart():
    a = build_name(CHOICES, [f"k{i}.x{i}={i}" for i in range(40)], 0, True)
    b = build_name(CHOICES, [f"k{i}.x{i}={i + 1}" for i in range(40)], 0, True)
    assert len(a) == len(b) == MAX_NAME and a != b


@pytest.mark.parametrize(
    "sweep_dir, name",
    [("outputs/multirun/2026-11-30/10-00-00", "2026-11-30_10-00-00"), ("/tmp/vicreg_coeffs", "vicreg_coeffs")],
)
def test_sweep_name(sweep_dir, name):
    assert sweep_name(sweep_dir) == name


def test_identity_tags_and_group(make_cfg):
    cfg = make_cfg("logger=wandb")
    cfg.run.choices = CHOICES
    cfg.run.overrides = ["optimizer.lr=0.01"]
    cfg.run.sweep = "2026-11-30_10-00-00"
    ident = run_identity(cfg)
    assert ident.name == "vicreg-convnet-kde-lr=0.01-s0"
    assert ident.tags == [
        "objective:vicreg",
        "backbone:convnet",
        "estimator:kde",
        "data:mnist5k",
        "augmentation:simclr_mnist",
    ]
    assert ident.group == "2026-11-30_10-00-00"
    cfg.logger.group, cfg.logger.tags, cfg.logger.name = "mine", ["paper"], "exact"
    ident = run_identity(cfg)
    assert (ident.group, ident.tags[-1], ident.name) == ("mine", "paper", "exact")


def test_identity_without_hydra_falls_back_to_target_names(make_cfg):
    ident = run_identity(make_cfg("logger=wandb", "objective=simclr", "estimator=kde"))
    assert ident.name == "simclr-convnet-kdemi-s0"
    per_quantity = run_identity(make_cfg("logger=wandb", "estimator=calibrated", "estimator@estimator.I_TY=ksg"))
    assert "ksgmi" in per_quantity.name.split("-")[2].split("+")
    assert "data:syntheticimages" in ident.tags and ident.group is None


def test_agent_run_id_is_adopted_only_in_a_wandb_sweep(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("WANDB_RUN_ID", "agent01")
    monkeypatch.delenv("WANDB_SWEEP_ID", raising=False)
    assert adopt_wandb_sweep_run_id("own") == "own"
    monkeypatch.setenv("WANDB_SWEEP_ID", "sw")
    assert adopt_wandb_sweep_run_id("own") == "agent01"
