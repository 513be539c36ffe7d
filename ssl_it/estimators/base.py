"""The interface every MI estimator implements, and its input checks.

This module imports nothing else from ``ssl_it`` but the argument checks
(:mod:`ssl_it.checks`, standard library only), like ``bmi.interface`` in
cbg-ethz/bmi, so that any estimator, callback or script can depend on it.

Conventions (docs/design.md §2, §4):

* MI is in nats. ``x`` is ``(N, dx)`` floats; ``y`` is ``(N, dy)`` floats or
  ``(N,)`` integer class labels (discrete). 1-D float inputs are read as
  ``(N, 1)``.
* Torch tensors (CPU or CUDA; the computation runs on the tensor's device)
  and NumPy arrays are accepted. Internally non-neural estimators work in
  float64 on the input's device.
* Bad input (3-D arrays, mismatched N, NaN/inf, too few samples, float ``y``
  where labels are required) raises ``ValueError`` naming the problem.
"""

from __future__ import annotations

import abc
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch

from ssl_it import checks

BoundKind = Literal["point", "lower", "upper", "plugin"]
YKind = Literal["auto", "labels", "continuous"]
Y_KINDS: tuple[str, ...] = ("auto", "labels", "continuous")


@dataclass
class MIEstimate:
    """One estimate with what is needed to read it.

    Attributes:
        value: the estimate in nats (raw: never clamped; NaN when a neural
            estimator could not train, with the reason in ``diagnostics``).
        n_samples: N, the number of (x, y) pairs used.
        bound: what the number is: ``"point"`` estimate, ``"lower"`` or
            ``"upper"`` bound, or ``"plugin"`` value of a discretised quantity.
        ceiling: the largest value the estimator can report for this call
            (continuous pair: log N for binning and KDE, ``psi(N) - psi(k)``
            for KSG, log(batch) for InfoNCE; labels: H(Y) or the estimator's
            own bound on it), ``None`` if unbounded.
        diagnostics: estimator-specific numbers and notes.
        seconds: wall time of the call.
    """

    value: float
    n_samples: int
    bound: BoundKind
    ceiling: float | None = None
    diagnostics: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass
class Pair:
    """Validated inputs: ``x`` ``(N, dx)`` float, ``y`` ``(N, dy)`` float or
    ``(N,)`` int64 labels (then ``labels`` is True), both on one device."""

    x: torch.Tensor
    y: torch.Tensor
    labels: bool

    @property
    def n(self) -> int:
        """The number of samples ``N``."""
        return int(self.x.shape[0])


def to_tensor(a: Any, name: str, device: torch.device | None = None) -> torch.Tensor:
    """Convert a NumPy array / torch tensor / sequence to a detached tensor."""
    if isinstance(a, torch.Tensor):
        t = a.detach()
    elif isinstance(a, np.ndarray):
        if a.dtype == object or not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
            raise ValueError(f"{name} must be numeric, got dtype {a.dtype}")
        t = torch.from_numpy(np.ascontiguousarray(a))
    else:
        try:
            t = torch.as_tensor(np.asarray(a))
        except (TypeError, ValueError) as err:
            raise ValueError(f"{name} must be a tensor or an array, got {type(a).__name__}") from err
    if device is not None and t.device != device:
        t = t.to(device)
    return t


def _is_integer(t: torch.Tensor) -> bool:
    return not (t.is_floating_point() or t.is_complex())


def as_float_matrix(t: torch.Tensor, name: str, dtype: torch.dtype) -> torch.Tensor:
    """``(N,)`` or ``(N, d)`` -> ``(N, d)`` float, rejecting 3-D and NaN/inf."""
    if t.ndim == 1:
        t = t[:, None]
    if t.ndim != 2:
        raise ValueError(f"{name} must be 1-D (N,) or 2-D (N, d), got a {t.ndim}-D tensor of shape {tuple(t.shape)}")
    if t.shape[1] == 0:
        raise ValueError(f"{name} has no features (shape {tuple(t.shape)})")
    t = t.to(dtype)
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} contains NaN or inf")
    return t


def check_pair(
    x: Any,
    y: Any,
    *,
    min_samples: int,
    y_kind: YKind = "auto",
    dtype: torch.dtype = torch.float64,
) -> Pair:
    """Validate and normalise an ``(x, y)`` pair.

    ``y`` is read as class labels when it is a 1-D integer array (``y_kind=
    "auto"``) or always (``y_kind="labels"``, float ``y`` then raises); with
    ``y_kind="continuous"`` integer ``y`` is cast to float.

    Raises:
        ValueError: 3-D input, mismatched N, NaN/inf, N < ``min_samples``,
            float ``y`` where labels are required, negative labels.
    """
    xt = to_tensor(x, "x")
    yt = to_tensor(y, "y", device=xt.device)
    if xt.ndim == 0 or yt.ndim == 0:
        raise ValueError("x and y must have a sample dimension, got a scalar")
    if xt.shape[0] != yt.shape[0]:
        raise ValueError(f"x and y must have the same number of samples N, got {xt.shape[0]} and {yt.shape[0]}")
    as_labels = y_kind == "labels" or (y_kind == "auto" and _is_integer(yt) and yt.dtype != torch.bool and yt.ndim == 1)
    if as_labels:
        if yt.ndim == 2 and yt.shape[1] == 1:
            yt = yt[:, 0]
        if yt.ndim != 1:
            raise ValueError(f"y as class labels must be 1-D (N,), got shape {tuple(yt.shape)}")
        if not _is_integer(yt) or yt.dtype == torch.bool:
            raise ValueError(f"y must hold integer class labels, got dtype {yt.dtype}")
        yt = yt.to(torch.int64)
        if yt.numel() and int(yt.min()) < 0:
            raise ValueError("y class labels must be non-negative integers")
    else:
        yt = as_float_matrix(yt, "y", dtype)
    xt = as_float_matrix(xt, "x", dtype)
    if xt.shape[0] < min_samples:
        raise ValueError(f"N = {xt.shape[0]} samples is below this estimator's minimum of {min_samples}")
    return Pair(xt, yt, as_labels)


def entropy_of_counts(counts: torch.Tensor) -> torch.Tensor:
    """Plug-in entropy ``H = -sum_c p_c log p_c`` (nats), ``p_c = counts_c / sum(counts)``,
    of a histogram ``(C,)`` (empty bins add nothing). A 0-dim tensor on the
    counts' device, in their float dtype (float64 for integer counts), so
    counts summed across processes need no trip to the host."""
    c = counts if counts.is_floating_point() else counts.double()
    p = c / c.sum()
    return -torch.special.xlogy(p, p).sum()


def label_entropy(labels: torch.Tensor) -> float:
    """Plug-in entropy ``H(Y)`` (nats) of ``(N,)`` class labels, or of ``(N, ...)``
    samples as a discrete distribution over their distinct rows (``log N`` when
    all differ: the ``H(X)`` of a finite probe set)."""
    rows = labels if labels.ndim == 1 else labels.flatten(1)
    _, counts = torch.unique(rows, dim=None if labels.ndim == 1 else 0, return_counts=True)
    return float(entropy_of_counts(counts))


class MIEstimator(abc.ABC):
    """Abstract mutual-information estimator ``I(X;Y)`` in nats.

    Subclasses set :attr:`name` and :attr:`bound`, implement :meth:`_estimate`
    on validated inputs and :meth:`settings`, and may override
    :attr:`min_samples` and :meth:`ceiling`.

    Args:
        seed: seed of every random choice (jitter, splits, critic init); the
            same inputs and seed give the same number.
        y_kind: ``"auto"`` (1-D integer ``y`` = class labels), ``"labels"``
            (require integer labels) or ``"continuous"``.
    """

    name: str = "base"
    bound: BoundKind = "point"
    labels_only: bool = False
    """True for estimators of ``I(T;Y)`` with class labels ``y`` only (no continuous pairs)."""
    invariances: frozenset[str] = frozenset()
    """Maps of either side under which the value is exactly unchanged (up to round-off), among
    ``"rotation"``, ``"unit_scale"`` (a factor per column) and ``"copula"`` (each column replaced by the normal
    scores of its ranks); the bands (:mod:`ssl_it.estimators.bands`) re-estimate only under the others. Each
    claim is pinned by a test."""
    thread_safe: bool = True
    """Whether two instances may estimate at once in two threads of one process (the information plane's
    ``estimate_workers``). False for estimators that touch process-wide state, such as the global RNG."""

    def __init__(self, seed: int = 0, y_kind: YKind = "auto") -> None:
        checks.integer("seed", seed, minimum=0)
        checks.choice("y_kind", y_kind, Y_KINDS)
        self.seed = seed
        self.y_kind: YKind = y_kind

    @property
    def min_samples(self) -> int:
        """The smallest N the estimator accepts."""
        return 2

    def ceiling(self, n_samples: int, labels: Any | None = None) -> float | None:
        """The largest value the estimator can return for this call, if any.

        Args:
            n_samples: N.
            labels: the ``(N,)`` integer labels of an ``I(T;Y)`` call, ``None``
                for a continuous pair.

        Returns:
            Here (the default): the plug-in ``H(Y)`` of ``labels``, since
            ``I(T;Y) <= H(Y)`` whatever T is, and ``None`` for a continuous
            pair. Subclasses give their own maximum (log N for the plug-in and
            KDE estimators, ``psi(N) - psi(k)`` for KSG, log(batch) for InfoNCE).
        """
        if labels is None:
            return None
        return label_entropy(to_tensor(labels, "labels"))

    @abc.abstractmethod
    def settings(self) -> dict[str, Any]:
        """The stated settings (bins, noise, k, batch size, seed...) for logging."""

    @abc.abstractmethod
    def _estimate(self, pair: Pair) -> tuple[float, dict[str, Any]]:
        """Return ``(value in nats, diagnostics)`` for validated inputs."""

    def _check(self, x: Any, y: Any) -> Pair:
        return check_pair(x, y, min_samples=self.min_samples, y_kind=self.y_kind)

    def _ceiling_for(self, pair: Pair) -> float | None:
        return self.ceiling(pair.n, pair.y if pair.labels else None)

    def estimate_with_info(self, x: Any, y: Any) -> MIEstimate:
        """Estimate ``I(X;Y)`` and report value, N, bound kind, ceiling, diagnostics."""
        start = time.perf_counter()
        pair = self._check(x, y)
        value, diagnostics = self._estimate(pair)
        return MIEstimate(
            value=float(value),
            n_samples=pair.n,
            bound=self.bound,
            ceiling=self._ceiling_for(pair),
            diagnostics=diagnostics,
            seconds=time.perf_counter() - start,
        )

    def estimate(self, x: Any, y: Any) -> float:
        """Estimate ``I(X;Y)`` in nats.

        Args:
            x: ``(N, dx)`` floats (or ``(N,)``).
            y: ``(N, dy)`` floats or ``(N,)`` integer class labels.

        Returns:
            The estimate in nats (see the subclass for the exact quantity).
        """
        return self.estimate_with_info(x, y).value

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.settings().items())
        return f"{type(self).__name__}({args})"
