"""What a measurement needs from the data: the :class:`ProbeData` protocol.

Every measuring callback (information plane, embedding diagnostics, kNN,
linear evaluation, the online probe's class count) reads the data through
this one interface, never through DataModule internals. Sources:

- ``"probe"``: the fixed, seeded, stratified probe set, un-augmented;
- ``"view0"``, ``"view1"``: the first two fixed augmented views of the probe
  samples (empty when the augmentation gives no two views of one shape);
- ``"train_eval"``: the un-augmented training subset (kNN bank, linear
  evaluation);
- ``"val"``: the validation split, un-augmented.

:class:`~ssl_it.data.SSLDataModule` implements it; :class:`InMemoryProbeData`
is the in-memory one (tests, benchmarks).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal, Protocol

import torch

Source = Literal["probe", "view0", "view1", "train_eval", "val"]
SOURCES: tuple[Source, ...] = ("probe", "view0", "view1", "train_eval", "val")
VIEW_SOURCES: tuple[Source, Source] = ("view0", "view1")
Batches = Iterable[tuple[torch.Tensor, torch.Tensor]]


class ProbeData(Protocol):
    """The data a measurement reads, by source (see the module docstring)."""

    @property
    def num_classes(self) -> int:
        """The number of label classes."""
        ...

    def probe_batches(self, source: Source) -> Batches:
        """``(inputs, labels)`` batches of ``source``, in a fixed order;
        in-memory sources are one batch."""
        ...

    def probe_count(self, source: Source) -> int:
        """How many samples ``source`` holds (0 for views it cannot give)."""
        ...


def two_views(views: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """The first two views when they have one shape (what ``I(Z1;Z2)`` and the
    alignment compare), else ``[]``."""
    return list(views[:2]) if len(views) >= 2 and views[0].shape == views[1].shape else []


class InMemoryProbeData:
    """:class:`ProbeData` over tensors: a probe set, its views, and optional
    training-subset and validation sets (one batch each)."""

    def __init__(
        self,
        inputs: torch.Tensor,
        labels: torch.Tensor,
        views: Sequence[torch.Tensor] = (),
        train_eval: tuple[torch.Tensor, torch.Tensor] | None = None,
        val: tuple[torch.Tensor, torch.Tensor] | None = None,
        num_classes: int | None = None,
    ) -> None:
        pairs = two_views(views)
        self._sets: dict[str, tuple[torch.Tensor, torch.Tensor] | None] = {
            "probe": (inputs, labels),
            "train_eval": train_eval,
            "val": val,
            **{s: (v, labels) for s, v in zip(VIEW_SOURCES, pairs)},
        }
        self._num_classes = int(labels.max()) + 1 if num_classes is None else num_classes

    @property
    def num_classes(self) -> int:
        """The number of label classes (given, or the largest label + 1)."""
        return self._num_classes

    def probe_batches(self, source: Source) -> Batches:
        """``source`` as one ``(inputs, labels)`` batch; a source not given is a ``ValueError``."""
        data = self._sets.get(source)
        if data is None:
            raise ValueError(f"probe source '{source}': not given to this InMemoryProbeData")
        return [data]

    def probe_count(self, source: Source) -> int:
        """How many samples ``source`` holds (0 when not given)."""
        data = self._sets.get(source)
        return 0 if data is None else int(data[1].shape[0])
