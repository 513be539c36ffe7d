"""Inside a bf16 autocast region every loss still computes in float32 (same value
as outside autocast on the same float32 inputs)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

import ssl_it.objectives as O

g = torch.Generator().manual_seed(0)
A, B = torch.randn(12, 6, generator=g), torch.randn(12, 6, generator=g)
C = torch.rand(12, 6, generator=g) + 0.5
CENTER = torch.zeros(6)

LOSSES: dict[str, Callable[[], torch.Tensor]] = {
    "nt_xent": lambda: O.nt_xent(A, B, 0.1),
    "info_nce": lambda: O.info_nce_views(A, B, "dot", 0.5),
    "moco": lambda: O.moco_loss(A, B, B.flip(0), 0.2),
    "vicreg": lambda: O.vicreg_loss(A, B)["loss"],
    "logdet": lambda: O.logdet_entropy(A),
    "barlow": lambda: O.barlow_twins_loss(A, B)["loss"],
    "wmse": lambda: O.wmse_loss(A, B),
    "byol": lambda: O.byol_loss(A, B),
    "dino": lambda: O.dino_loss([A, B], [B], CENTER, 0.1, 0.04),
    "swav": lambda: O.swav_loss([A, B], [O.sinkhorn_knopp(B)], 0.1),
    "skl": lambda: O.symmetric_kl(A, C, B, C.flip(0)),
}


@pytest.mark.parametrize("name", list(LOSSES))
def test_loss_is_float32_under_bf16_autocast(name: str) -> None:
    want = LOSSES[name]()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = LOSSES[name]()
    assert got.dtype == torch.float32
    assert got.item() == pytest.approx(want.item(), rel=1e-6, abs=1e-6)
