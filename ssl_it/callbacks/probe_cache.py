"""One probe forward pass per training step, shared by the measuring callbacks.

The information plane (:class:`~ssl_it.callbacks.InformationPlane`) and the
embedding diagnostics (:class:`~ssl_it.callbacks.EmbeddingDiagnostics`) read
the same fixed probe set (and its fixed augmented views) at the same weights:
at the end of an epoch the diagnostics run at validation end and the
information plane right after, at the same global step. :class:`ProbeCache`
runs the forward pass once per step and source for the union of the layers
that every callback registered, and keeps that step's tensors (and statistics
derived from them, such as the effective rank) until the step changes.
Any other callback (kNN or linear evaluation, say) can use it through
:func:`probe_cache`.

Under DDP only rank 0 asks for representations, and the pass runs there on
the whole probe set, without a collective: a collective that only some
ranks reach deadlocks, and at the end of an epoch the ranks do not reach
collectives in the same order (Lightning's progress bar, on rank 0 alone,
reduces synced metrics). A probe set of 512-8,192 samples is one forward
pass on one device.

Sources: ``"probe"`` (the clean probe inputs) and ``"view0"``, ``"view1"``
(the first two fixed augmented views of the probe samples, when the
augmentation gives two of the same shape).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Literal

import torch
from torch import nn

from ssl_it.callbacks.taps import probe_representations

Source = Literal["probe", "view0", "view1"]
_ATTRIBUTE = "_ssl_it_probe_cache"


def probe_cache(trainer: Any) -> ProbeCache:
    """The cache shared by every callback of ``trainer`` (made on first use and
    kept as an attribute of the trainer, so it lives exactly as long as it)."""
    cache = getattr(trainer, _ATTRIBUTE, None)
    if cache is None:
        cache = ProbeCache()
        setattr(trainer, _ATTRIBUTE, cache)
    return cache


class ProbeCache:
    """Representations of the probe set at the current global step.

    Attributes:
        forward_passes: how many probe forward passes ran (each one covers
            every registered layer of one source).
    """

    def __init__(self) -> None:
        self._wanted: dict[str, list[str]] = {"probe": [], "views": []}
        self._key: tuple[int, Any] | None = None
        self._module: nn.Module | None = None
        self._reps: dict[str, dict[str, torch.Tensor]] = {}
        self._derived: dict[tuple[str, str, str], Any] = {}
        self._views: list[torch.Tensor] | None = None
        self.forward_passes = 0

    def register(self, kind: Literal["probe", "views"], layers: Iterable[str]) -> None:
        """Ask for ``layers`` of the clean probe set (``"probe"``) or of its
        views (``"views"``) in every forward pass, so one pass serves all."""
        wanted = self._wanted[kind]
        wanted.extend(layer for layer in layers if layer not in wanted)

    def view_sources(self, trainer: Any) -> list[Source]:
        """``["view0", "view1"]`` when the augmentation gives two views of one
        shape, else ``[]``. The views are fixed draws, built once."""
        views = self._probe_views(trainer)
        return ["view0", "view1"] if views else []

    def representations(self, trainer: Any, pl_module: nn.Module, source: Source, layers: list[str]) -> dict[str, torch.Tensor]:
        """``{layer: (n, d)}`` of ``source`` at this step, computed at most once
        per step for every registered layer (plus any not registered)."""
        self._start_step(trainer, pl_module)
        have = self._reps.setdefault(source, {})
        missing = [layer for layer in layers if layer not in have]
        if missing:
            kind = "probe" if source == "probe" else "views"
            extra = [layer for layer in self._wanted[kind] if layer not in have and layer not in missing]
            have.update(probe_representations(pl_module, self._inputs(trainer, source), missing + extra))
            self.forward_passes += 1
        return {layer: have[layer] for layer in layers}

    def derived(self, source: Source, layer: str, name: str, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per step for ``(source, layer, name)`` (e.g. the
        effective rank both callbacks report)."""
        key = (source, layer, name)
        if key not in self._derived:
            self._derived[key] = compute()
        return self._derived[key]

    def clear(self) -> None:
        """Drop this step's tensors (the views and registrations stay)."""
        self._key, self._module, self._reps, self._derived = None, None, {}, {}

    def _start_step(self, trainer: Any, pl_module: nn.Module) -> None:
        key = (id(pl_module), getattr(trainer, "global_step", None))
        if key != self._key or self._module is not pl_module:
            self.clear()
            self._key, self._module = key, pl_module

    def _inputs(self, trainer: Any, source: Source) -> torch.Tensor:
        if source == "probe":
            return trainer.datamodule.probe_set()[0]
        views = self._probe_views(trainer)
        if not views:
            raise ValueError(f"probe source '{source}': the augmentation gives no two views of one shape")
        return views[int(source[-1])]

    def _probe_views(self, trainer: Any) -> list[torch.Tensor]:
        if self._views is None:
            views = trainer.datamodule.probe_views()
            self._views = views[:2] if len(views) >= 2 and views[0].shape == views[1].shape else []
        return self._views
