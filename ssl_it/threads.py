"""torch's intra-op CPU thread count: the one place the package sets it.

The run sets it once (``torch_threads``); the estimators, the information
plane and the probe-set builder lower it for a block of small CPU work and
restore it after (small LAPACK, pairwise-distance and per-sample ops do not
scale, and oversubscribe beside busy loader workers; the measured slowdown is
in docs/results/framework-overhead.md).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from ssl_it import checks


def set_threads(n: int | None, key: str = "threads") -> None:
    """Use ``n`` intra-op threads from now on (``None``: leave torch's setting);
    a bad ``n`` raises ``ValueError`` naming ``key``."""
    if n is not None:
        if not (checks.is_integer(n) and n >= 1):
            checks.fail(key, "an integer >= 1 or null", n)
        torch.set_num_threads(n)


@contextlib.contextmanager
def threads(n: int | None) -> Iterator[None]:
    """``n`` intra-op threads inside the block (``None``: unchanged), the
    previous count restored after it, also on an error."""
    before = torch.get_num_threads()
    set_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
