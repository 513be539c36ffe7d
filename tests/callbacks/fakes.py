"""A tiny model and a stand-in trainer for driving callbacks without Lightning's loop."""

from __future__ import annotations

from types import SimpleNamespace

import torch
from torch import nn

from ssl_it.callbacks.standalone import standalone_trainer
from ssl_it.data import InMemoryProbeData
from ssl_it.objectives.base import Objective


class TinyModel(nn.Module):
    """``backbone`` and ``objective.projector`` as the probe pass expects them."""

    def __init__(self, backbone: nn.Module, projector: nn.Module | None = None) -> None:
        super().__init__()
        self.backbone = backbone
        self.objective = Objective()
        self.objective.projector = projector if projector is not None else nn.Identity()
        self.logged: dict[str, float] = {}
        self._anchor = nn.Parameter(torch.zeros(1))  # so next(parameters()) has a device

    @property
    def device(self) -> torch.device:
        return self._anchor.device

    def log_dict(self, metrics: dict[str, float], **kwargs: object) -> None:
        self.logged.update(metrics)


def fake_trainer(
    inputs: torch.Tensor, labels: torch.Tensor, views: list[torch.Tensor] | None = None, step: int = 0
) -> SimpleNamespace:
    """What the measuring callbacks read from a trainer, on one process."""
    return standalone_trainer(InMemoryProbeData(inputs, labels, views or []), step)
