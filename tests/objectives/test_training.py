"""Each objective trains a few optimiser steps on random data with a tiny backbone;
EMA teachers, queues, centres and prototypes update exactly as specified."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import ssl_it.objectives as O

IN = 16
BATCH = 24


def tiny_backbone() -> nn.Module:
    """(B, 1, H, W) -> (B, IN) for any H, W >= 4 (so multi-crop local views fit)."""
    return nn.Sequential(nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(16, IN))


FACTORIES: dict[str, Callable[[], O.Objective]] = {
    "simclr": lambda: O.SimCLR(IN, [32], 16),
    "moco": lambda: O.MoCo(IN, [32], 16, queue_size=60),
    "moco_v3": lambda: O.MoCo(IN, [32], 16, predictor_hidden_dims=[32], queue_size=0),
    "infonce": lambda: O.InfoNCELoss(IN, [32], 16, critic="bilinear"),
    "vicreg": lambda: O.VICReg(IN, [32], 32),
    "vicreg_logdet": lambda: O.VICRegLogDet(IN, [32], 32),
    "barlow_twins": lambda: O.BarlowTwins(IN, [32], 32),
    "wmse": lambda: O.WMSE(IN, [32], 8, w_size=12),
    "byol": lambda: O.BYOL(IN, [32], 16, [32]),
    "simsiam": lambda: O.SimSiam(IN, [32], 16, 8),
    "dino": lambda: O.DINO(IN, [32], 8, 64),
    "swav": lambda: O.SwAV(IN, [32], 16, num_prototypes=10, queue_size=48, queue_start_fraction=0.0),
    "mib": lambda: O.MIB(IN, [32], 8),
    "supervised": lambda: O.Supervised(IN, 5, [32]),
}


def make_views(n_global: int = 2, n_local: int = 0, seed: int = 0) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    base = torch.randn(BATCH, 1, 8, 8, generator=g)
    views = [base + 0.3 * torch.randn(base.shape, generator=g) for _ in range(n_global)]
    views += [base[:, :, 2:6, 2:6] + 0.3 * torch.randn(BATCH, 1, 4, 4, generator=g) for _ in range(n_local)]
    return views


def setup(name: str) -> tuple[O.Objective, nn.Module, torch.optim.Optimizer]:
    torch.manual_seed(0)
    objective, backbone = FACTORIES[name](), tiny_backbone()
    objective.attach_backbone(backbone)
    params = [p for m in (backbone, objective) for p in m.parameters() if p.requires_grad]
    return objective, backbone, torch.optim.SGD(params, lr=0.05, momentum=0.9)


def step(
    objective: O.Objective,
    backbone: nn.Module,
    opt: torch.optim.Optimizer,
    views: list[torch.Tensor],
    i: int,
    total: int = 10,
) -> dict[str, torch.Tensor]:
    objective.set_progress(i, total)
    labels = torch.arange(BATCH) % 5
    out = objective([backbone(v) for v in views], views, labels)
    opt.zero_grad()
    out["loss"].backward()
    opt.step()
    objective.after_optimizer_step(backbone)
    return out


@pytest.mark.parametrize("name", list(FACTORIES))
def test_trains_with_finite_scalar_terms(name: str) -> None:
    objective, backbone, opt = setup(name)
    before = [p.detach().clone() for p in backbone.parameters()]
    n_local = 2 if name in ("dino", "swav", "byol", "simsiam", "moco") else 0
    for i in range(4):
        out = step(objective, backbone, opt, make_views(2, n_local, seed=i), i)
        assert "loss" in out and len(out) >= 2
        for key, value in out.items():
            assert value.shape == () and torch.isfinite(value), (key, value)
    assert any(not torch.equal(a, b) for a, b in zip(before, backbone.parameters()))
    z = objective.projector(torch.randn(BATCH, IN))
    assert z.shape[0] == BATCH and z.dim() == 2
    if "nce_mi_lower_bound" in out:
        assert out["nce_mi_lower_bound"].item() <= math.log(2 * BATCH)


@pytest.mark.parametrize("name", ["byol", "moco", "dino"])
def test_teacher_is_frozen_and_follows_ema_exactly(name: str) -> None:
    objective, backbone, opt = setup(name)
    assert isinstance(objective, O.MomentumObjective)
    teacher = list(objective.teacher_backbone.parameters()) + list(objective.teacher_head.parameters())
    student = list(backbone.parameters()) + list(objective.student_head.parameters())
    opt_ids = {id(p) for group in opt.param_groups for p in group["params"]}
    assert all(not p.requires_grad and id(p) not in opt_ids for p in teacher)
    for i in range(3):
        old = [p.detach().clone() for p in teacher]
        objective.set_progress(i, 10)
        views = make_views(seed=i)
        out = objective([backbone(v) for v in views], views)
        opt.zero_grad()
        out["loss"].backward()
        assert all(p.grad is None for p in teacher)
        opt.step()
        m = 1 - (1 - objective.base_momentum) * (math.cos(math.pi * i / 10) + 1) / 2
        objective.after_optimizer_step(backbone)
        for t_new, t_old, s in zip(teacher, old, student, strict=True):
            torch.testing.assert_close(t_new, m * t_old + (1 - m) * s.detach(), rtol=1e-6, atol=1e-7)
    assert any(not torch.equal(t, s) for t, s in zip(teacher, student))


def test_teacher_ignores_student_hooks_and_needs_attach() -> None:
    backbone = tiny_backbone()
    calls: list[int] = []
    backbone.register_forward_hook(lambda *a: calls.append(1))
    objective = O.BYOL(IN, [32], 16, [32])
    views = make_views()
    with pytest.raises(RuntimeError, match="attach_backbone"):
        objective([backbone(v) for v in views], views)
    objective.attach_backbone(backbone)
    calls.clear()
    objective([backbone(v) for v in views], views)
    assert len(calls) == 2  # the student's two calls only


def test_moco_queue_receives_normalised_keys_in_order() -> None:
    objective, backbone, opt = setup("moco")
    assert isinstance(objective, O.MoCo)
    keys = []
    for i in range(2):
        views = make_views(seed=i)
        objective.set_progress(i, 10)
        with torch.no_grad():
            k = torch.cat([objective.teacher_head(objective.teacher_backbone(v)) for v in views])
        keys.append(F.normalize(k, dim=1))  # 48 keys (2 views x 24) per step
        step(objective, backbone, opt, views, i)
    # 60 slots: step 1 fills 0..47, step 2 fills 48..59 then wraps to 0..35
    torch.testing.assert_close(objective.queue[36:48], keys[0][36:48])
    torch.testing.assert_close(objective.queue[48:], keys[1][:12])
    torch.testing.assert_close(objective.queue[:36], keys[1][12:])
    assert int(objective.queue_ptr) == 96 % 60
    objective.eval()
    snapshot = objective.queue.clone()
    objective([backbone(v) for v in views], views)
    assert torch.equal(objective.queue, snapshot)  # no enqueue outside training


def test_dino_centre_update_and_checkpointed_schedule() -> None:
    objective, backbone, opt = setup("dino")
    assert isinstance(objective, O.DINO)
    objective.teacher_temp = 0.07  # the paper's long-run value, so the warm-up is visible
    objective.set_progress(15, 100)
    assert objective.current_teacher_temp.item() == pytest.approx(0.055, rel=1e-6)  # half-way from 0.04
    views = make_views(2, 2)
    objective.set_progress(3, 10)
    with torch.no_grad():
        teacher = torch.cat([objective.teacher_head(objective.teacher_backbone(v)) for v in views[:2]])
    c0 = objective.center.clone()
    objective([backbone(v) for v in views], views)
    torch.testing.assert_close(objective.center, 0.9 * c0 + 0.1 * teacher.mean(0))
    assert objective.current_teacher_temp.item() == pytest.approx(0.07, rel=1e-6)  # warm-up over at 0.3
    state = objective.state_dict()
    fresh = O.DINO(IN, [32], 8, 64)
    fresh.attach_backbone(tiny_backbone())
    fresh.load_state_dict(state)
    assert fresh.progress.item() == pytest.approx(0.3) and torch.equal(fresh.center, objective.center)
    assert fresh.momentum.item() == pytest.approx(objective.momentum.item())


def test_dino_last_layer_frozen_at_start() -> None:
    objective, backbone, _ = setup("dino")
    assert isinstance(objective, O.DINO)
    views = make_views()
    for progress, frozen in [(0, True), (5, False)]:
        objective.set_progress(progress, 100)
        objective.head.last_layer.weight.grad = None
        objective([backbone(v) for v in views], views)["loss"].backward()
        grad = objective.head.last_layer.weight.grad
        assert (grad is None or grad.abs().sum() == 0) == frozen


def test_swav_queue_prototypes_and_codes() -> None:
    objective, backbone, opt = setup("swav")
    assert isinstance(objective, O.SwAV)
    views = make_views()
    objective.set_progress(5, 10)
    with torch.no_grad():
        z = torch.cat([F.normalize(objective.projector(backbone(v)), dim=1) for v in views])
    step(objective, backbone, opt, views, 5)
    torch.testing.assert_close(objective.queue, z[:48])
    assert int(objective.queue_filled) == 48
    torch.testing.assert_close(objective.prototypes.norm(dim=1), torch.ones(10))
    # the full queue is now in use: each view's codes come from Sinkhorn on [queue; batch]
    objective.eval()
    views = make_views(seed=1)
    feats = [backbone(v) for v in views]
    with torch.no_grad():
        z = [F.normalize(objective.projector(f), dim=1) for f in feats]
        protos = objective.prototypes
        scores = [zi @ protos.T for zi in z]
        q_scores = objective.queue @ protos.T
        codes = [O.sinkhorn_knopp(torch.cat([q_scores, s]), 0.05, 3)[-BATCH:] for s in scores]
        want = O.swav_loss(scores, codes, 0.1)
    queue_before = objective.queue.clone()
    got = objective(feats, views)["loss"]
    assert got.item() == pytest.approx(want.item(), rel=1e-5)
    assert torch.equal(objective.queue, queue_before)


def test_supervised_needs_labels_and_has_classifier() -> None:
    objective = O.Supervised(IN, 5)
    assert objective.needs_labels and objective.min_views == 1
    assert isinstance(objective.projector, nn.Identity) and objective.classifier.out_features == 5
    f = [torch.randn(BATCH, IN)]
    with pytest.raises(ValueError, match="labels"):
        objective(f, f)
    out = objective(f, f, torch.arange(BATCH) % 5)
    assert 0.0 <= out["accuracy"].item() <= 1.0


def test_feature_checks_name_the_problem() -> None:
    objective = O.SimCLR(IN)
    with pytest.raises(ValueError, match="at least 2 view"):
        objective([torch.randn(4, IN)], [torch.randn(4, 1, 8, 8)])
    with pytest.raises(ValueError, match="batch size must be at least 2"):
        objective([torch.randn(1, IN)] * 2, [torch.randn(1, 1, 8, 8)] * 2)
    with pytest.raises(ValueError, match="features\\[1\\]"):
        objective([torch.randn(4, IN), torch.randn(5, IN)], [torch.randn(4, 1, 8, 8)] * 2)


def test_wmse_whitens_within_random_sub_batches() -> None:
    torch.manual_seed(0)
    objective = O.WMSE(IN, [32], 4, w_size=10)  # 24 rows -> sub-batches of 10 and 14
    objective.eval()
    f = [torch.randn(BATCH, IN) for _ in range(2)]
    torch.manual_seed(7)
    got = objective(f, f)["loss"]
    torch.manual_seed(7)
    perm = torch.randperm(BATCH)
    with torch.no_grad():
        z = [objective.projector(x) for x in f]
    chunks = [perm[:10], perm[10:]]
    want = sum(O.wmse_loss(z[0][c], z[1][c]) for c in chunks) / 2
    assert got.item() == pytest.approx(want.item(), rel=1e-5)


def test_pairwise_objectives_average_over_view_pairs() -> None:
    torch.manual_seed(0)
    objective = O.SimCLR(IN, [32], 16)
    objective.eval()
    f = [torch.randn(BATCH, IN) for _ in range(3)]
    with torch.no_grad():
        z = [objective.projector(x) for x in f]
        want = sum(O.nt_xent(z[i], z[j], 0.5) for i, j in [(0, 1), (0, 2), (1, 2)]) / 3
        assert objective(f, f)["loss"].item() == pytest.approx(want.item(), rel=1e-6)
        # swapping the views leaves every objective's loss unchanged
        for name in ("simclr", "vicreg", "barlow_twins", "infonce", "simsiam", "swav"):
            torch.manual_seed(0)
            obj = FACTORIES[name]().eval()
            pair = [torch.randn(BATCH, IN) for _ in range(2)]
            views = [torch.zeros(BATCH, 1, 8, 8)] * 2
            a, b = obj(pair, views)["loss"], obj(pair[::-1], views)["loss"]
            assert a.item() == pytest.approx(b.item(), rel=1e-5), name


def test_wmse_rejects_a_batch_it_cannot_whiten() -> None:
    objective = O.WMSE(IN, [32], 8, w_size=12)
    f = [torch.randn(6, IN) for _ in range(2)]
    with pytest.raises(ValueError, match="must exceed out_dim"):
        objective(f, f)


def test_mean_over_view_pairs_averages_every_unordered_pair() -> None:
    z = [torch.tensor(1.0), torch.tensor(2.0), torch.tensor(4.0)]
    mean = O.mean_over_view_pairs(z, lambda a, b: a * b)  # pairs (0,1), (0,2), (1,2): 2, 4, 8
    assert mean.item() == pytest.approx(14 / 3)
    terms = O.mean_over_view_pairs(z, lambda a, b: {"loss": a + b, "gap": (a - b).abs()})
    assert terms["loss"].item() == pytest.approx((3 + 5 + 6) / 3) and terms["gap"].item() == pytest.approx(2.0)
