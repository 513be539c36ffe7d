"""A run stopped by SIGTERM (a SLURM time limit or preemption) says so.

(Or by another signal that ``callbacks.preemption.signals`` names, such as
SIGUSR1: ``ssl_it/callbacks/preemption_signals.py``.)

Lightning turns SIGTERM into ``SIGTERMException`` (a ``SystemExit`` with
code 0) after the running batch; left alone, the process exits 0 as if the
run had finished. :func:`preempted` writes ``summary.json`` with
``status: preempted``, where the run stopped and the checkpoint it resumes
from, and returns the one-line message that ``train.py`` prints before
exiting with :data:`EXIT_PREEMPTED` (128 + 15, the shell's code for a
SIGTERM death). Under SLURM with Lightning's auto-requeue, Lightning's own
handler has saved its checkpoint and requeued the job on the requeue signal;
the message says so.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ssl_it.run.resume import checkpoint_epoch
from ssl_it.run.summary import write_summary

EXIT_PREEMPTED = 143


def auto_requeue(trainer: Any) -> bool:
    """Whether Lightning's SLURM auto-requeue handles this run's requeue signal."""
    from lightning_fabric.plugins.environments import SLURMEnvironment

    env = trainer._accelerator_connector.cluster_environment
    return isinstance(env, SLURMEnvironment) and bool(env.auto_requeue)


class Preempted(RuntimeError):
    """Training stopped on SIGTERM; the message says how to resume."""


def resume_point(run_dir: Path) -> tuple[str | None, int]:
    """The checkpoint a resume continues from and how many epochs it holds (``None, 0`` if none)."""
    ckpt = run_dir / "checkpoints" / "last.ckpt"
    try:
        return str(ckpt), checkpoint_epoch(ckpt) + 1
    except Exception:  # missing, or unreadable
        return None, 0


def preempted(run_dir: Path, trainer: Any, started: float, write: bool = True, signal: str = "SIGTERM") -> Preempted:
    """Write the preempted run's ``summary.json`` (``write``: rank 0 only); return the error to raise.
    ``signal``: the signal's name (SIGTERM, or one that ``callbacks.preemption`` treats like it)."""
    ckpt, epochs = resume_point(run_dir)
    epoch, step = int(trainer.current_epoch), int(trainer.global_step)
    if write:
        record: dict[str, Any] = {
            "signal": signal,
            "stopped_epoch": epoch,
            "stopped_step": step,
            "resume_checkpoint": ckpt,
            "epochs_saved": epochs,
        }
        write_summary(run_dir, record, time.monotonic() - started, status="preempted")
    if ckpt is None:
        then = "no epoch had finished, so there is no checkpoint: start the run again"
    else:
        then = f"the checkpoint after {epochs} epoch(s) is kept; continue with: python train.py resume={run_dir}"
    if auto_requeue(trainer):
        then += " (SLURM auto-requeue is on: a job that got the requeue signal is requeued by Lightning)"
    return Preempted(f"preempted by {signal} at epoch {epoch}, step {step}; {then}")
