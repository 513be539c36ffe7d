"""What a callback takes from the run rather than from its config node: :class:`FromRun`.

A callback node holds the callback's own settings. A few arguments only the
run can give; a callback asks for one by naming it in its constructor:

- ``estimator``: the run's MI estimator (the ``estimator`` group, built on
  first request and then the same object for every callback that asks);
- ``probe_cache``: the run's one :class:`~ssl_it.callbacks.probe_cache.ProbeCache`,
  so that every measuring callback reads the same forward pass.

``train.py`` builds each callback node with ``FromRun.arguments_for(target)``
added: exactly the names the target's constructor declares, nothing it does
not take (a callback with neither gets nothing; one with a ``_partial_`` node
gets them too). A value the node sets itself is left as it is.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from ssl_it.callbacks.probe_cache import ProbeCache


class FromRun:
    """The pieces of a run that its callbacks may take, by argument name.

    Args:
        estimator: makes the run's estimator (called at most once, when the
            first callback asks for ``estimator``).
        probe_cache: the run's shared cache; ``None``: a new one.
    """

    def __init__(self, estimator: Callable[[], Any], probe_cache: ProbeCache | None = None) -> None:
        self._make_estimator = estimator
        self._estimator: Any = None
        self.probe_cache = ProbeCache() if probe_cache is None else probe_cache

    @property
    def estimator(self) -> Any:
        """The run's estimator, built on first use."""
        if self._estimator is None:
            self._estimator = self._make_estimator()
        return self._estimator

    def arguments_for(
        self, target: Callable[..., Any], given: set[str] | frozenset[str] = frozenset()
    ) -> dict[str, Any]:
        """``{name: piece}`` for each piece that ``target``'s constructor
        (or signature, for a function) names and ``given`` does not hold."""
        names = set(inspect.signature(target).parameters) - set(given)
        pieces: dict[str, Callable[[], Any]] = {
            "estimator": lambda: self.estimator,
            "probe_cache": lambda: self.probe_cache,
        }
        return {name: piece() for name, piece in pieces.items() if name in names}
