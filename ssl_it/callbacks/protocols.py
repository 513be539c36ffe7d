"""What a callback may declare for the checks that run before training.

Three optional declarations, each a :class:`typing.Protocol` that
``isinstance`` tests (nothing to inherit):

- :class:`ClassifiesLabels`: ``classifies_labels = True`` (the online probe,
  kNN, the linear evaluation): the labels need at least two classes;
- :class:`ChecksProbeSize`: ``check_probe_size(n)`` raises when the probe set
  of ``n`` samples is too small for it (the information plane checks its
  estimator's ``min_samples``);
- :class:`TapsLayers`: ``layers``, the model layers it reads, checked
  against the model before the first step.

:func:`check_callbacks` runs these checks over a run's callbacks; the final
numbers a callback reports are declared by
:class:`~ssl_it.callbacks.results.ResultReporter`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol, runtime_checkable

from torch import nn

from ssl_it.callbacks.taps import check_layers
from ssl_it.run.config_checks import ConfigError


@runtime_checkable
class ClassifiesLabels(Protocol):
    """A callback whose result classifies the labels (true when ``classifies_labels`` is)."""

    classifies_labels: bool


@runtime_checkable
class ChecksProbeSize(Protocol):
    """A callback with its own lower bound on the probe set's size."""

    def check_probe_size(self, n: int) -> None:
        """Raise ``ValueError`` naming the key when ``n`` probe samples are too few."""
        ...


@runtime_checkable
class TapsLayers(Protocol):
    """A callback that reads named layers of the model (``backbone``, ``projector``, ...)."""

    layers: Sequence[str]


def check_label_classes(n_classes: int, callbacks: Iterable[object]) -> None:
    """Callbacks that classify the labels need at least two classes; with one
    their accuracy is 1 by construction, or the classifier refuses to fit."""
    if n_classes >= 2:
        return
    users = [type(c).__name__ for c in callbacks if isinstance(c, ClassifiesLabels) and c.classifies_labels]
    if users:
        raise ConfigError(
            f"data: the training split has {n_classes} label class; {', '.join(users)} classify the labels and "
            "need at least 2. Self-supervised training itself needs no labels: remove them with "
            "callbacks.online_probe=null callbacks.knn=null callbacks.linear_eval=null "
            "callbacks.best_checkpoint=null (it monitors val/probe_acc)"
        )


def check_probe_size(n_probe: int, callbacks: Iterable[object]) -> None:
    """The probe set must be large enough for every callback that measures on it."""
    if n_probe < 2:
        raise ConfigError(f"datamodule.probe_size: the probe set holds {n_probe} sample(s); at least 2 are needed")
    for callback in callbacks:
        if isinstance(callback, ChecksProbeSize):
            callback.check_probe_size(n_probe)


def check_callbacks(module: nn.Module, callbacks: Sequence[object], n_classes: int, n_probe: int) -> None:
    """Every declared check of ``callbacks``: label classes, tapped layers
    (the information plane's ``setup`` would check its layers only once
    training starts), probe size."""
    check_label_classes(n_classes, callbacks)
    for callback in callbacks:
        if isinstance(callback, TapsLayers):
            check_layers(module, list(callback.layers))
    check_probe_size(n_probe, callbacks)
