"""configs/objective/*.yaml hold exactly the constructor's keyword arguments and build working objectives."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

import ssl_it.objectives as O

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs" / "objective"
NAMES = [
    "simclr",
    "moco",
    "infonce",
    "vicreg",
    "vicreg_logdet",
    "barlow_twins",
    "wmse",
    "byol",
    "simsiam",
    "dino",
    "swav",
    "mib",
    "supervised",
]
RUNTIME_ARGS = {"in_dim", "num_classes"}


def test_every_objective_has_a_config() -> None:
    assert sorted(p.stem for p in CONFIG_DIR.glob("*.yaml")) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_config_matches_constructor_and_builds(name: str) -> None:
    cfg = OmegaConf.to_container(OmegaConf.load(CONFIG_DIR / f"{name}.yaml"))
    assert isinstance(cfg, dict)
    target = cfg.pop("_target_")
    assert cfg.pop("_partial_") is True
    module, cls_name = target.rsplit(".", 1)
    assert module == "ssl_it.objectives" and cls_name in O.__all__
    cls = getattr(O, cls_name)
    params = set(inspect.signature(cls).parameters) - RUNTIME_ARGS
    assert set(cfg) == params, f"{name}: config keys differ from {cls_name}'s arguments"
    for key, value in cfg.items():  # the configs carry the constructor's defaults
        default = inspect.signature(cls).parameters[key].default
        assert (list(default) if isinstance(default, tuple) else default) == value, (name, key)
    kwargs = {"in_dim": 32, **cfg}
    if "num_classes" in inspect.signature(cls).parameters:
        kwargs["num_classes"] = 10
    torch.manual_seed(0)
    objective = cls(**kwargs)
    backbone = torch.nn.Linear(8, 32)
    objective.attach_backbone(backbone)
    views = [torch.randn(130, 8) for _ in range(2)]
    out = objective([backbone(v) for v in views], views, torch.arange(130) % 10)
    assert torch.isfinite(out["loss"]) and out["loss"].requires_grad
