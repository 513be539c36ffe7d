"""Signals that stop a run the way SIGTERM does: resumably, as ``preempted``.

SLURM sends SIGTERM at a time limit or a preemption, and can send another
signal a set time before it (``sbatch --signal=USR1@90``: SIGUSR1 90 s
before the end), so that the run stops at a batch boundary while there is
still time. Lightning handles SIGTERM (the running batch ends, then
``SIGTERMException``); any other signal is left to its default action,
which for SIGUSR1 is to kill the process. With ``signals: [USR1]`` this
callback hands SIGUSR1 to Lightning's SIGTERM handler, so the run ends as a
SIGTERM would (``ssl_it/run/preemption.py``: ``summary.json`` with ``status:
preempted``, the checkpoint to resume from, exit 143). When Lightning's
SLURM auto-requeue is on, its own handler of the requeue signal (SIGUSR1 by
default) saves a checkpoint and requeues the job; this callback then stays
out of its way.
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import Any

import pytorch_lightning as pl
from typing_extensions import override

from ssl_it import checks
from ssl_it.run.preemption import auto_requeue

log = logging.getLogger(__name__)
CATCHABLE = ("USR1", "USR2")


def signal_number(name: str) -> signal.Signals:
    """``USR1``, ``SIGUSR1`` or ``usr1`` -> ``signal.SIGUSR1``; only :data:`CATCHABLE` (and TERM) are accepted."""
    short = str(name).upper().removeprefix("SIG")
    if short not in (*CATCHABLE, "TERM") or not hasattr(signal, f"SIG{short}"):
        checks.fail("signals", f"{' or '.join(CATCHABLE)} (SIGTERM is always handled)", name)
    return signal.Signals[f"SIG{short}"]


class PreemptionSignals(pl.Callback):
    """Treat ``signals`` (e.g. ``["USR1"]``) as SIGTERM during training.

    Args:
        signals: signal names, with or without ``SIG``; empty: only SIGTERM.
    """

    def __init__(self, signals: list[str] | tuple[str, ...] = ()) -> None:
        self.signals = [s for s in map(signal_number, signals) if s != signal.SIGTERM]
        self.received: str | None = None

    @override
    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # after Lightning registered its handlers (which it restores when fit ends)
        if not self.signals or threading.current_thread() is not threading.main_thread():
            return
        if auto_requeue(trainer):
            log.info(
                "ssl_it: SLURM auto-requeue is on: Lightning handles the requeue signal; "
                "callbacks.preemption.signals is not used"
            )
            return
        for signum in self.signals:
            signal.signal(signum, self._stop(trainer))

    def _stop(self, trainer: pl.Trainer) -> Any:
        def handler(signum: int, frame: FrameType | None) -> None:
            self.received = signal.Signals(signum).name
            trainer._signal_connector._sigterm_notifier_fn(signum, frame)  # type: ignore[arg-type]

        return handler


def received_signal(callbacks: list[Any]) -> str:
    """The name of the signal that stopped training: one these callbacks caught, else SIGTERM."""
    return next((c.received for c in callbacks if getattr(c, "received", None)), "SIGTERM")
