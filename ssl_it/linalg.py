"""Matrix helpers shared by the objectives and the estimators (which may not import each other)."""

from __future__ import annotations

import torch


def off_diagonal(m: torch.Tensor) -> torch.Tensor:
    """The off-diagonal entries of a square ``(d, d)`` matrix as a ``(d*(d-1),)``
    vector, row by row (a view of ``m``'s storage: no mask, no copy before the flatten)."""
    d = m.shape[0]
    return m.flatten()[:-1].view(d - 1, d + 1)[:, 1:].flatten()
