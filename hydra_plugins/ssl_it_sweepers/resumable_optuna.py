"""Hydra's Optuna sweeper, resumable after a kill (``hparams_search=optuna``).

Hydra only accepts sweepers defined under the ``hydra_plugins`` package, so
this small subclass lives here rather than in ``ssl_it``. It changes what
happens when a sweep starts on a study that already exists in its storage
(``sqlite:///<sweep dir>/optuna.db``), see :mod:`._resumable_impl`. Optuna is
imported only when a sweep starts: Hydra imports this module at every start.
"""

from __future__ import annotations

from typing import Any

try:
    from hydra_plugins.hydra_optuna_sweeper.optuna_sweeper import OptunaSweeper
except ImportError:  # the `sweeps` extra is not installed: no sweeper to offer
    OptunaSweeper = None  # type: ignore[assignment,misc]

if OptunaSweeper is not None:

    class ResumableOptunaSweeper(OptunaSweeper):  # type: ignore[valid-type,misc]
        """``OptunaSweeper`` whose study continues where a killed sweep stopped."""

        def __init__(self, **kwargs: Any) -> None:
            from hydra_plugins.ssl_it_sweepers._resumable_impl import ResumableOptunaSweeperImpl

            self.sweeper = ResumableOptunaSweeperImpl(**kwargs)
