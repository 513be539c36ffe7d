"""No host syncs in the training step: every objective's loss, its backward and
its post-step update, and the batched views, run without reading a device
value back (``.item()``, ``float()``, ``bool()`` of a tensor all dispatch
``aten._local_scalar_dense``; on a GPU each one stalls the CPU until the GPU
queue drains). Counted on the CPU with a dispatch mode."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf
from torch.utils._python_dispatch import TorchDispatchMode

from ssl_it.augmentation import MultiCrop, SimCLRViews
from ssl_it.augmentation.batched import BatchedViews
from ssl_it.backbones import ConvNet
from ssl_it.build import build_objective
from ssl_it.module import SSLModule
from ssl_it.train import CONFIG_DIR

OBJECTIVES = sorted(p.stem for p in (Path(CONFIG_DIR) / "objective").glob("*.yaml"))


class CountHostReads(TorchDispatchMode):
    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204
        if func is torch.ops.aten._local_scalar_dense.default:
            self.reads += 1
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize("name", OBJECTIVES)
def test_training_step_reads_nothing_back(name: str) -> None:
    objective_cfg = OmegaConf.load(Path(CONFIG_DIR) / "objective" / f"{name}.yaml")
    for key in ("hidden_dims", "predictor_hidden_dims"):  # narrow heads: the same code path, faster
        if key in objective_cfg:
            objective_cfg[key] = [64] * len(objective_cfg[key])
    for key, width in (("out_dim", 64), ("bottleneck_dim", 32), ("predictor_hidden_dim", 32)):
        if key in objective_cfg:
            objective_cfg[key] = min(int(objective_cfg[key]), width)
    torch.manual_seed(0)
    backbone = ConvNet(input_shape=(1, 12, 12), channels=[8, 16])
    module = SSLModule(
        backbone,
        build_objective(objective_cfg, backbone.out_dim, 10),
        optimizer=lambda groups: torch.optim.SGD(groups, lr=0.1),
    )
    module.log_dict = lambda *args, **kwargs: None  # type: ignore[method-assign]  # outside a Trainer
    views, labels = [torch.randn(96, 1, 12, 12) for _ in range(2)], torch.arange(96) % 10
    module.training_step((views, labels), 0)  # first step: lazily built state
    with CountHostReads() as counter:
        out = module.training_step((views, labels), 1)
        out["loss"].backward()
        module.objective.after_optimizer_step(module.backbone)
    assert torch.isfinite(out["loss"])
    assert counter.reads == 0


@pytest.mark.parametrize(
    "make",
    [lambda: SimCLRViews(32, 3, (0.5,) * 3, (0.25,) * 3), lambda: MultiCrop(32, 3, (0.5,) * 3, (0.25,) * 3, n_local=2)],
)
def test_batched_views_read_nothing_back(make) -> None:
    views = BatchedViews(make(), seed=0)
    images = torch.randint(0, 256, (24, 3, 36, 36), dtype=torch.uint8)
    plans = views.plan(torch.stack([torch.zeros(24, dtype=torch.long), torch.arange(24)], 1), 36, 36)
    with CountHostReads() as counter:
        out = views.apply(images, plans)
    assert len(out) == make().n_views and counter.reads == 0
