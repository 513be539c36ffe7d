"""Embedding diagnostics: hand-computed std / alignment / uniformity / RankMe, and the collapse warning."""

from __future__ import annotations

import math
import warnings
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from ssl_it.callbacks import EmbeddingDiagnostics
from ssl_it.callbacks.embedding_metrics import alignment, embedding_std, uniformity
from ssl_it.data import InMemoryProbeData
from ssl_it.estimators import effective_rank
from ssl_it.objectives.base import Objective


def test_embedding_std_by_hand():
    # rows (1,0), (0,1): each coordinate takes the values 1 and 0 -> population std 0.5
    assert embedding_std(torch.tensor([[3.0, 0.0], [0.0, 2.0]])) == pytest.approx(0.5)
    # rows (1,0), (-1,0): first coordinate +-1 (std 1), second 0 -> mean 0.5
    assert embedding_std(torch.tensor([[1.0, 0.0], [-4.0, 0.0]])) == pytest.approx(0.5)
    assert embedding_std(torch.ones(10, 6) * 3.0) == 0.0


def test_alignment_by_hand():
    z1 = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    z2 = torch.tensor([[0.0, 5.0], [0.0, 1.0]])  # scale is removed by the normalisation
    assert alignment(z1, z2) == pytest.approx((2.0 + 0.0) / 2)  # ||(1,-1)||^2 = 2
    assert alignment(z1, z2, alpha=1.0) == pytest.approx(math.sqrt(2.0) / 2)
    assert alignment(z1, 7 * z1) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="z1, z2"):
        alignment(z1, z2[:1])


def test_uniformity_by_hand():
    assert uniformity(torch.tensor([[1.0, 0.0], [-1.0, 0.0]])) == pytest.approx(-8.0)  # log exp(-2*4)
    three = torch.tensor([[1.0, 0.0], [0.0, 2.0], [-3.0, 0.0]])  # squared distances 2, 4, 2
    expected = math.log((2 * math.exp(-2 * 2.0) + math.exp(-2 * 4.0)) / 3)
    assert uniformity(three) == pytest.approx(expected)
    assert uniformity(three, t=1.0) == pytest.approx(math.log((2 * math.exp(-2.0) + math.exp(-4.0)) / 3))
    assert uniformity(torch.ones(8, 4)) == pytest.approx(0.0, abs=1e-12)  # collapsed
    with pytest.raises(ValueError, match="t: must be a number > 0"):
        uniformity(three, t=0.0)


def test_effective_rank_of_identity_like_matrices():
    assert effective_rank(torch.eye(8)) == pytest.approx(8.0, rel=1e-4)
    assert effective_rank(torch.diag(torch.tensor([3.0, 3.0, 0.0, 0.0]))) == pytest.approx(2.0, rel=1e-4)


class _Constant(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bias.expand(x.shape[0], -1)


class _Module(nn.Module):
    """A collapsed model: every input maps to the same feature vector."""

    def __init__(self) -> None:
        super().__init__()
        self.backbone = _Constant(16)
        self.objective = Objective()
        self.objective.projector = nn.Linear(16, 8)
        self.logged: dict[str, float] = {}

    def log_dict(self, metrics: dict[str, float], **kwargs: object) -> None:
        assert kwargs == {"rank_zero_only": True}
        self.logged.update(metrics)


def _trainer(n: int = 20) -> SimpleNamespace:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(n, 1, 4, 4, generator=gen)
    dm = InMemoryProbeData(x, torch.arange(n) % 2, [x + 0.1, x - 0.1])
    return SimpleNamespace(sanity_checking=False, current_epoch=0, is_global_zero=True, datamodule=dm)


def test_collapsed_model_warns_and_logs_zero_std_and_uniformity():
    module, cb = _Module(), EmbeddingDiagnostics(collapse_threshold=0.1)
    with pytest.warns(UserWarning, match="backbone embedding collapsed"):
        cb.on_validation_epoch_end(_trainer(), module)
    for layer in ("backbone", "projector"):
        assert module.logged[f"diagnostics/{layer}/std"] == pytest.approx(0.0, abs=1e-7)
        assert module.logged[f"diagnostics/{layer}/collapsed"] == 1.0
        assert module.logged[f"diagnostics/{layer}/uniformity"] == pytest.approx(0.0, abs=1e-7)
        assert module.logged[f"diagnostics/{layer}/alignment"] == pytest.approx(0.0, abs=1e-7)
        assert module.logged[f"diagnostics/{layer}/effective_rank"] == pytest.approx(1.0, rel=1e-4)


def test_spread_model_does_not_warn():
    module = _Module()
    module.backbone = nn.Sequential(nn.Flatten(), nn.Linear(16, 16))  # of random pixels: spread, not collapsed
    module.objective.projector = nn.Identity()
    cb = EmbeddingDiagnostics()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cb.on_validation_epoch_end(_trainer(200), module)
    assert module.logged["diagnostics/backbone/collapsed"] == 0.0
    assert module.logged["diagnostics/backbone/std"] > 0.1 / math.sqrt(16)
    assert module.logged["diagnostics/backbone/alignment"] > 0.0


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"collapse_threshold": 0.0}, "diagnostics.collapse_threshold"),
        ({"every_n_epochs": 0}, "diagnostics.every_n_epochs"),
    ],
)
def test_bad_arguments_name_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field.replace(".", r"\.")):
        EmbeddingDiagnostics(**kwargs)
