"""What the information-plane estimators see of the probe set and of each layer.

* :func:`probe_set`: the labels, the stated representation of X (flattened
  pixels or a fixed seeded Gaussian random projection of them) and the two
  entropies that bound the quantities, ``H(X)`` and ``H(Y)``;
* :class:`WideLayerProjection`: layers wider than ``max_dim`` go through a
  fixed Gaussian projection ``T P / sqrt(max_dim)`` before any number of
  their row. ``I(X;PT) <= I(X;T)`` by data processing, so the point is a
  lower bound on the layer's information.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import torch

from ssl_it.estimators import label_entropy


@dataclass
class ProbeSet:
    """The probe set as the estimators see it (fixed for the run)."""

    labels: torch.Tensor
    x_repr: torch.Tensor
    h_x: float
    h_y: float

    @property
    def n(self) -> int:
        """The number of probe samples."""
        return int(self.labels.shape[0])

    def columns(self) -> dict[str, float | int]:
        """``n_probe``, ``log_n``, ``H_X``, ``H_Y`` of every row."""
        return {"n_probe": self.n, "log_n": math.log(self.n), "H_X": self.h_x, "H_Y": self.h_y}


def probe_set(inputs: torch.Tensor, labels: torch.Tensor, x_representation: str, x_dim: int, seed: int) -> ProbeSet:
    """``x_repr``: flattened ``inputs`` ``(n, D)``, or ``(n, x_dim)`` through a
    Gaussian matrix seeded by ``seed`` when ``x_representation`` is
    ``random_projection`` and ``D > x_dim``. Rounded to float32 and held in
    float64, the estimators' precision: converted once, the same tensor
    reaches every evaluation, so an estimator that remembers its reduction
    of X (``pca_ksg``) reuses it."""
    flat = inputs.flatten(1).double()
    if x_representation == "random_projection" and flat.shape[1] > x_dim:
        gen = torch.Generator().manual_seed(seed)
        proj = torch.randn(flat.shape[1], x_dim, generator=gen, dtype=torch.float64)
        flat = flat @ proj / math.sqrt(x_dim)
    return ProbeSet(labels=labels, x_repr=flat.float().double(), h_x=label_entropy(inputs), h_y=label_entropy(labels))


class WideLayerProjection:
    """``t`` itself, or ``t P / sqrt(max_dim)`` with a Gaussian ``P`` seeded by
    (seed, layer name) when the layer is wider than ``max_dim``. ``P`` is drawn
    once per layer and kept (a pure function of the seed, so it is not
    checkpointed); ``max_dim=None`` never projects."""

    def __init__(self, max_dim: int | None, seed: int) -> None:
        self.max_dim = max_dim
        self.seed = seed
        self._projections: dict[str, torch.Tensor] = {}

    def __call__(self, layer: str, t: torch.Tensor) -> torch.Tensor:
        """``t`` ``(n, d)`` of ``layer``, or ``(n, max_dim)`` through the layer's projection when ``d > max_dim``."""
        if self.max_dim is None or t.shape[1] <= self.max_dim:
            return t
        proj = self._projections.get(layer)
        if proj is None:
            gen = torch.Generator().manual_seed(self.seed * 1_000_003 + zlib.crc32(layer.encode()))
            proj = torch.randn(t.shape[1], self.max_dim, generator=gen).to(device=t.device, dtype=t.dtype)
            self._projections[layer] = proj
        return t @ proj / math.sqrt(self.max_dim)
