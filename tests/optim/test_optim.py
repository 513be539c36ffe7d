import math

import pytest
import torch
from torch import nn

from ssl_it.optim import LARS, WarmupCosine, decay_and_no_decay_groups, warmup_cosine_factor


def test_lars_step_matches_hand_computation():
    w = nn.Parameter(torch.tensor([3.0, 4.0]))  # ||w|| = 5
    w.grad = torch.tensor([0.6, 0.8])
    opt = LARS([w], lr=0.1, momentum=0.9, weight_decay=0.0, trust_coefficient=0.01)
    opt.step()
    ratio = 0.01 * 5.0 / 1.0  # trust * ||w|| / ||g||
    expected = torch.tensor([3.0, 4.0]) - 0.1 * ratio * torch.tensor([0.6, 0.8])
    assert torch.allclose(w.detach(), expected, atol=1e-7)


def test_lars_excluded_group_is_plain_sgd_momentum():
    b = nn.Parameter(torch.tensor([1.0]))
    b.grad = torch.tensor([2.0])
    opt = LARS([{"params": [b], "lars_exclude": True, "weight_decay": 0.0}], lr=0.5)
    opt.step()
    assert b.item() == pytest.approx(1.0 - 0.5 * 2.0)


def test_lars_rejects_negative_lr():
    with pytest.raises(ValueError, match=r"optimizer\.lr"):
        LARS([nn.Parameter(torch.zeros(1))], lr=-1)


def test_no_decay_on_bias_and_norm_and_frozen_excluded():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    model[2].weight.requires_grad_(False)
    decay, no_decay = decay_and_no_decay_groups(model)
    assert [p.shape for p in decay["params"]] == [torch.Size([4, 3])]
    assert len(no_decay["params"]) == 4 and no_decay["weight_decay"] == 0.0


def test_warmup_cosine_values():
    assert warmup_cosine_factor(0, 100, 10, 0.0) == pytest.approx(0.1)
    assert warmup_cosine_factor(9, 100, 10, 0.0) == pytest.approx(1.0)
    assert warmup_cosine_factor(55, 100, 10, 0.0) == pytest.approx(0.5)
    assert warmup_cosine_factor(100, 100, 10, 0.2) == pytest.approx(0.2)
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = WarmupCosine(opt, total_steps=20, warmup_fraction=0.0, final_lr_ratio=0.0)
    for _ in range(10):
        opt.step()
        sched.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.5)))
    with pytest.raises(ValueError, match=r"scheduler\.warmup_fraction"):
        WarmupCosine(opt, total_steps=10, warmup_fraction=1.5)
