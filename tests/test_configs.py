"""Every option of every config group composes, instantiates, and trains one step."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate

from ssl_it.augmentation import BatchedViews, EvalTransform
from ssl_it.build import build_objective
from ssl_it.module import SSLModule
from ssl_it.train import CONFIG_DIR

GROUPS = [
    "data",
    "backbone",
    "augmentation",
    "objective",
    "estimator",
    "infoplane",
    "optimizer",
    "scheduler",
    "trainer",
    "logger",
    "callbacks",
    "experiment",
    "hparams_search",
    "launcher",
    "debug",
]


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (Path(CONFIG_DIR) / group).glob("*.yaml"))


ALL = [(g, o) for g in GROUPS for o in options(g)]
NEEDS_SWEEPS = {"hparams_search", "launcher"}


def test_every_group_has_options():
    assert all(options(g) for g in GROUPS)


@pytest.mark.parametrize("group, option", ALL, ids=[f"{g}={o}" for g, o in ALL])
def test_every_option_composes(make_cfg, group, option):
    if group in NEEDS_SWEEPS:
        pytest.importorskip("optuna" if group == "hparams_search" else "hydra_plugins.hydra_submitit_launcher")
    cfg = make_cfg(f"{group}={option}", fast=group not in ("experiment", "debug"))
    if group in ("backbone", "augmentation", "objective", "estimator", "optimizer", "scheduler"):
        node = cfg[group]
        # the estimator group also has a per-quantity form: one estimator node per quantity
        per_quantity = group == "estimator" and "_target_" not in node
        assert node is not None and ("_target_" in node or per_quantity)
        if per_quantity:
            assert set(node) == {"I_XT", "I_TY", "I_Z1Z2"} and all("_target_" in node[q] for q in node)


BACKBONES = options("backbone")
OBJECTIVES = options("objective")


def image_shape(backbone: str) -> tuple[int, ...]:
    if backbone in ("resnet18", "resnet50", "timm"):
        return (3, 16, 16)  # small inputs keep the 65 steps cheap; the layers are the same
    return (3, 32, 32) if backbone == "vit_tiny" else (1, 28, 28)


@pytest.mark.parametrize("backbone", BACKBONES)
@pytest.mark.parametrize("objective", OBJECTIVES)
def test_one_training_step_for_each_backbone_and_objective(make_cfg, backbone, objective):
    torch.manual_seed(0)
    overrides = [f"backbone={backbone}", f"objective={objective}"]
    if backbone == "vit_tiny":
        overrides.append("backbone.num_layers=2")
    if backbone == "timm":  # the wiring is the same for every timm model; timm's test model keeps 13 runs cheap
        overrides.append("backbone.name=test_resnet")
    if objective == "wmse":  # whitening needs batch > out_dim
        overrides += ["objective.out_dim=4", "objective.w_size=8"]
    multicrop = objective in ("dino", "swav") and backbone != "mlp"  # an MLP takes one input size
    cfg = make_cfg(*overrides, "augmentation=multicrop" if multicrop else "augmentation=simclr")
    shape = image_shape(backbone)
    aug = instantiate(cfg.augmentation)(
        image_size=shape[-1], channels=shape[0], mean=(0.5,) * shape[0], std=(0.25,) * shape[0]
    )
    net = instantiate(cfg.backbone)(input_shape=shape)
    obj = build_objective(cfg.objective, net.out_dim, num_classes=10)
    module = SSLModule(net, obj, optimizer=instantiate(cfg.optimizer))
    opt = instantiate(cfg.optimizer)([p for p in module.parameters() if p.requires_grad])
    samples = torch.randint(0, 256, (8, *shape), dtype=torch.uint8)
    views = BatchedViews(aug, seed=0)(samples, torch.stack([torch.zeros(8, dtype=torch.long), torch.arange(8)], 1))
    labels = torch.arange(8) % 4
    out = obj(module.features_of_views(views), views, labels)
    assert torch.isfinite(out["loss"]) and out["loss"].requires_grad
    out["loss"].backward()
    grads = [p.grad for p in net.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    opt.step()
    obj.after_optimizer_step(net)


def test_eval_transform_normalises():
    t = EvalTransform((0.5,), (0.25,))
    x = torch.full((1, 4, 4), 0.75)
    assert torch.allclose(t(x), torch.ones(1, 4, 4))


def test_the_issue_example_command_runs_on_embedded_digits(make_cfg, tmp_path):
    # `python train.py objective=vicreg backbone=resnet18 augmentation=byol data=digits trainer.max_epochs=1`
    # with few batches: 8 px digits through the ResNet and BYOL's views, information plane included
    from ssl_it.train import train

    acc = train(
        make_cfg(
            "objective=vicreg",
            "backbone=resnet18",
            "augmentation=byol",
            "data=digits",
            "trainer.max_epochs=1",
            "+trainer.limit_train_batches=2",
            "callbacks.linear_eval=null",
        )
    )
    assert 0.0 <= acc <= 1.0
    assert (tmp_path / "run" / "infoplane.csv").stat().st_size > 0
