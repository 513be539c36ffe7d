"""Two gloo processes, each with half of a fixed global batch, reproduce the
single-process loss and (DDP-averaged) gradients on the full batch.

BatchNorm layers in the heads are put in eval mode here: plain BatchNorm
normalises per rank (SyncBatchNorm, which fixes that under a real DDP run,
does not run on CPU), and what this test checks is the losses' gather.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

import ssl_it.objectives as O

IN, GLOBAL_BATCH, WORLD = 12, 32, 2

FACTORIES: dict[str, Callable[[], O.Objective]] = {
    "simclr": lambda: O.SimCLR(IN, [24], 16),
    "vicreg": lambda: O.VICReg(IN, [24], 24),
    "barlow_twins": lambda: O.BarlowTwins(IN, [24], 24),
    "wmse": lambda: O.WMSE(IN, [24], 6, w_size=12),  # random sub-batches: exercises the broadcast
    "swav": lambda: O.SwAV(IN, [24], 16, num_prototypes=8, freeze_prototypes_fraction=0.0),
    "dino": lambda: O.DINO(IN, [24], 8, 32, freeze_last_layer_fraction=0.0),
}


def _run(name: str, rows: slice) -> dict[str, torch.Tensor]:
    """One forward/backward on ``rows`` of the fixed global batch; returns the
    loss, every trainable parameter's gradient, and the DINO centre."""
    torch.manual_seed(0)
    backbone = nn.Linear(8, IN)
    objective = FACTORIES[name]()
    objective.attach_backbone(backbone)
    for m in objective.modules():
        if isinstance(m, nn.BatchNorm1d):
            m.eval()
    g = torch.Generator().manual_seed(1)
    base = torch.randn(GLOBAL_BATCH, 8, generator=g)
    views = [(base + 0.5 * torch.randn(base.shape, generator=g))[rows] for _ in range(2)]
    objective.set_progress(3, 10)
    torch.manual_seed(2)  # W-MSE's permutation: rank 0 draws it like the single process does
    out = objective([backbone(v) for v in views], views)
    out["loss"].backward()
    result = {"loss": out["loss"].detach()}
    for module_name, module in (("backbone", backbone), ("objective", objective)):
        for pname, p in module.named_parameters():
            if p.requires_grad:
                result[f"{module_name}.{pname}"] = torch.zeros_like(p) if p.grad is None else p.grad.clone()
    if isinstance(objective, O.DINO):
        result["center"] = objective.center.clone()
    return result


def _worker(rank: int, port: int, out_dir: str) -> None:
    os.environ["MASTER_ADDR"], os.environ["MASTER_PORT"] = "127.0.0.1", str(port)
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=WORLD)
    try:
        local = GLOBAL_BATCH // WORLD
        results = {}
        for name in FACTORIES:
            res = _run(name, slice(rank * local, (rank + 1) * local))
            for key, value in res.items():
                if key != "center":
                    # DDP averages gradients over ranks (and synced logging averages the loss;
                    # per-sample losses such as DINO's and SwAV's differ from rank to rank)
                    dist.all_reduce(value)
                    value /= WORLD
            results[name] = res
        torch.save(results, Path(out_dir) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_processes_match_one_process(tmp_path: Path) -> None:
    mp.spawn(_worker, args=(_free_port(), str(tmp_path)), nprocs=WORLD, join=True)
    ranks = [torch.load(tmp_path / f"rank{r}.pt") for r in range(WORLD)]
    for name in FACTORIES:
        single = _run(name, slice(0, GLOBAL_BATCH))
        assert set(ranks[0][name]) == set(single)
        for r in range(WORLD):
            for key, want in single.items():
                torch.testing.assert_close(
                    ranks[r][name][key],
                    want,
                    rtol=1e-4,
                    atol=1e-6,
                    msg=lambda m, where=f"{name} rank {r} {key}": f"{where}: {m}",
                )
        # the gradients are not trivially zero
        assert sum(v.abs().sum() for k, v in single.items() if k not in ("loss", "center")) > 0
        if name == "dino":  # the centre moved, by the global teacher mean
            assert single["center"].abs().sum() > 0
