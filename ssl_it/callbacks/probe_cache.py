"""One probe forward pass per training step and source, shared by every measuring callback.

The information plane (:class:`~ssl_it.callbacks.InformationPlane`), the
embedding diagnostics (:class:`~ssl_it.callbacks.EmbeddingDiagnostics`), the
kNN monitor and the linear evaluation read measurement data at the same
weights: at the end of an epoch the diagnostics and kNN run at validation
end and the information plane right after, at the same global step; the
linear evaluation at the end of the fit, at the last validation's step.
:class:`ProbeCache` runs :func:`~ssl_it.callbacks.taps.probe_pass` once per
step and source for the union of the layers that every callback registered,
and keeps that step's tensors (and statistics derived from them, such as the
effective rank) until the step changes.

A run has one :class:`ProbeCache`: ``train.py`` makes it and hands it to
every callback whose constructor takes a ``probe_cache`` argument
(:class:`~ssl_it.callbacks.from_run.FromRun`). A callback made without one
(in a test, or alone) makes its own, and then shares nothing.

The data comes through the :class:`~ssl_it.data.probe_data.ProbeData`
protocol (``trainer.datamodule``), by source: ``"probe"`` (the clean probe
inputs), ``"view0"``, ``"view1"`` (the first two fixed augmented views of the
probe samples, when the augmentation gives two of the same shape),
``"train_eval"`` (the un-augmented training subset) and ``"val"``. The two
loader sources are kept on the CPU.

Under DDP only rank 0 asks for representations, and the pass runs there on
the whole source, without a collective: a collective that only some
ranks reach deadlocks, and at the end of an epoch the ranks do not reach
collectives in the same order (Lightning's progress bar, on rank 0 alone,
reduces synced metrics). A probe set of 512-8,192 samples is one forward
pass on one device.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Literal

import torch
from torch import nn

from ssl_it.callbacks.taps import probe_pass
from ssl_it.data.probe_data import VIEW_SOURCES, ProbeData, Source

_ON_CPU: tuple[Source, ...] = ("train_eval", "val")


def probe_data(trainer: Any) -> ProbeData:
    """The trainer's DataModule, as the measurements see it."""
    data: ProbeData = trainer.datamodule
    return data


class ProbeCache:
    """Representations of measurement data at the current global step.

    Attributes:
        forward_passes: how many probe forward passes ran (each one covers
            every registered layer of one source).
    """

    def __init__(self) -> None:
        self._wanted: dict[str, list[str]] = {"probe": [], "views": []}
        self._key: tuple[int, Any] | None = None
        self._module: nn.Module | None = None
        self._reps: dict[str, dict[str, torch.Tensor]] = {}
        self._labels: dict[str, torch.Tensor] = {}
        self._derived: dict[tuple[str, str, str], Any] = {}
        self.forward_passes = 0

    def register(self, kind: Literal["probe", "views"], layers: Iterable[str]) -> None:
        """Ask for ``layers`` of the clean probe set (``"probe"``) or of its
        views (``"views"``) in every forward pass, so one pass serves all."""
        wanted = self._wanted[kind]
        wanted.extend(layer for layer in layers if layer not in wanted)

    def view_sources(self, trainer: Any) -> list[Source]:
        """``["view0", "view1"]`` when the augmentation gives two views of one
        shape, else ``[]``. The views are fixed draws."""
        return list(VIEW_SOURCES) if probe_data(trainer).probe_count("view0") > 0 else []

    def representations(
        self, trainer: Any, pl_module: nn.Module, source: Source, layers: list[str]
    ) -> dict[str, torch.Tensor]:
        """``{layer: (n, d)}`` of ``source`` at this step, computed at most once
        per step for every registered layer (plus any not registered)."""
        self._start_step(trainer, pl_module)
        have = self._reps.setdefault(source, {})
        missing = [layer for layer in layers if layer not in have]
        if missing:
            wanted = self._wanted["probe" if source == "probe" else "views"] if source not in _ON_CPU else []
            extra = [layer for layer in wanted if layer not in have and layer not in missing]
            reps, labels = probe_pass(
                pl_module, probe_data(trainer).probe_batches(source), missing + extra, to_cpu=source in _ON_CPU
            )
            have.update(reps)
            self._labels[source] = labels
            self.forward_passes += 1
        return {layer: have[layer] for layer in layers}

    def labels(self, trainer: Any, pl_module: nn.Module, source: Source) -> torch.Tensor:
        """The ``(n,)`` labels of ``source``, in the order of its representations."""
        if source not in self._labels or self._key != self._step_key(trainer, pl_module):
            self.representations(trainer, pl_module, source, ["backbone"])
        return self._labels[source]

    def store(
        self, trainer: Any, pl_module: nn.Module, source: Source, reps: dict[str, torch.Tensor], labels: torch.Tensor
    ) -> None:
        """Keep representations computed elsewhere at this step (the
        validation loop's backbone features, for the linear evaluation)."""
        self._start_step(trainer, pl_module)
        self._reps.setdefault(source, {}).update(reps)
        self._labels[source] = labels

    def derived(self, source: Source, layer: str, name: str, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per step for ``(source, layer, name)`` (e.g. the
        effective rank both callbacks report)."""
        key = (source, layer, name)
        if key not in self._derived:
            self._derived[key] = compute()
        return self._derived[key]

    def clear(self) -> None:
        """Drop this step's tensors (the registrations stay)."""
        self._key, self._module, self._reps, self._labels, self._derived = None, None, {}, {}, {}

    @staticmethod
    def _step_key(trainer: Any, pl_module: nn.Module) -> tuple[int, Any]:
        return id(pl_module), getattr(trainer, "global_step", None)

    def _start_step(self, trainer: Any, pl_module: nn.Module) -> None:
        key = self._step_key(trainer, pl_module)
        if key != self._key or self._module is not pl_module:
            self.clear()
            self._key, self._module = key, pl_module
