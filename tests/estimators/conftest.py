"""Estimator factories shared by the estimator tests (small, fast settings)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ssl_it.estimators import (
    CLUB,
    JSMI,
    KDEMI,
    KSGMI,
    MINE,
    NWJ,
    SMILE,
    BinningMI,
    GaussianMI,
    InfoNCEBound,
    MIEstimator,
    RenyiMI,
)

FAST_NEURAL = {"steps": 60, "batch_size": 64, "hidden": 32, "embed_dim": 16, "eval_every": 20}

FACTORIES: dict[str, Callable[..., MIEstimator]] = {
    "binning": lambda **kw: BinningMI(**kw),
    "kde": lambda **kw: KDEMI(**kw),
    "ksg": lambda **kw: KSGMI(**kw),
    "gaussian": lambda **kw: GaussianMI(**kw),
    "renyi": lambda **kw: RenyiMI(**kw),
    "mine": lambda **kw: MINE(**{**FAST_NEURAL, **kw}),
    "nwj": lambda **kw: NWJ(**{**FAST_NEURAL, **kw}),
    "infonce": lambda **kw: InfoNCEBound(**{**FAST_NEURAL, **kw}),
    "js": lambda **kw: JSMI(**{**FAST_NEURAL, **kw}),
    "smile": lambda **kw: SMILE(**{**FAST_NEURAL, **kw}),
    "club": lambda **kw: CLUB(**{**FAST_NEURAL, **kw}),
}
NAMES = list(FACTORIES)
NEURAL = ["mine", "nwj", "infonce", "js", "smile", "club"]


@pytest.fixture(params=NAMES)
def any_estimator(request: pytest.FixtureRequest) -> MIEstimator:
    return FACTORIES[request.param]()


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """The critics here are tiny: one thread is as fast and does not fight the other
    test processes on a shared 2-core machine. Restored after each test."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
