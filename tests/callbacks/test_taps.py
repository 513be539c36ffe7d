"""The one probe pass: what the objective declares (projector, heads), hooks, labels, the backbone's tap points."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ssl_it.backbones import MLP as MLPBackbone
from ssl_it.callbacks.taps import check_layers, probe_pass
from ssl_it.objectives.supervised import Supervised


class _Model(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.backbone = MLPBackbone(input_shape=(5,), hidden_dims=[7, 6])
        self.objective = Supervised(in_dim=self.backbone.out_dim, num_classes=3, hidden_dims=[4])


def test_the_pass_runs_backbone_projector_and_declared_heads_in_eval_mode():
    model = _Model().train()
    x, y = torch.randn(10, 5), torch.arange(10) % 3
    batches = [(x[:6], y[:6]), (x[6:], y[6:])]
    reps, labels = probe_pass(model, batches, ["backbone", "projector", "objective.classifier"], batch_size=4)
    assert model.training  # put back as it was
    model.eval()
    with torch.no_grad():
        feats = model.backbone(x)
        z = model.objective.projector(feats)
        logits = model.objective.classifier(z)
    assert torch.allclose(reps["backbone"], feats, atol=1e-6) and torch.allclose(reps["projector"], z, atol=1e-6)
    assert torch.allclose(reps["objective.classifier"], logits, atol=1e-6)
    assert reps["objective.classifier"].shape == (10, 3)
    assert torch.equal(labels, y)


def test_the_pass_restores_training_mode_and_can_keep_results_on_the_cpu():
    model = _Model().train()
    reps, _ = probe_pass(model, [(torch.randn(3, 5), torch.zeros(3, dtype=torch.long))], ["backbone"], to_cpu=True)
    assert model.training and reps["backbone"].device.type == "cpu" and not reps["backbone"].requires_grad


def test_an_unknown_layer_is_refused_with_the_backbones_tap_points():
    model = _Model()
    taps = [f"backbone.{t}" for t in model.backbone.tap_points()]
    assert taps
    check_layers(model, ["backbone", "projector", *taps, "objective.classifier"])
    with pytest.raises(
        ValueError,
        match=r"^infoplane\.layers: must be an alias \(backbone, projector\) or a submodule.*; got 'backbone\.nope'$",
    ) as err:
        check_layers(model, ["backbone.nope"])
    assert all(t in str(err.value) for t in taps)
