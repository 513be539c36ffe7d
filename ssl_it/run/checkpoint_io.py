"""Checkpoints that are either the old file or the new one, never half of one.

Lightning writes ``last.ckpt`` in place, so a run killed while saving leaves
a truncated file and loses the epoch before it too. This CheckpointIO writes
to a temporary file in the same folder and renames it over the target
(``os.replace`` is atomic on POSIX and Windows file systems). A kill
during the write leaves the temporary file; a resume removes it (its
writer's process id is in the name, so a write still under way is kept).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from pytorch_lightning.plugins.io import TorchCheckpointIO
from typing_extensions import override

log = logging.getLogger(__name__)


class AtomicCheckpointIO(TorchCheckpointIO):
    """``TorchCheckpointIO`` that saves to ``.<name>.tmp-<pid>`` and renames it."""

    @override
    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None) -> None:
        if "://" in str(path):  # remote file systems: Lightning's own writer
            super().save_checkpoint(checkpoint, path, storage_options)
            return
        target = Path(path)
        tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
        try:
            super().save_checkpoint(checkpoint, tmp, storage_options)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine (it may still be writing)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return pid > 0  # PermissionError: another user's live process; OverflowError: not a pid
    return True


def partial_writes(folder: Path) -> list[tuple[Path, bool]]:
    """The temporary files of checkpoint writes in ``folder`` (``.<name>.tmp-<pid>``),
    each with whether its writer is dead (a kill cut the write short)."""
    found = []
    for tmp in sorted(Path(folder).glob(".*.tmp-*")):
        pid = tmp.name.rsplit("-", 1)[1]
        found.append((tmp, not (pid.isdigit() and _alive(int(pid)))))
    return found


def _named(tmp: Path) -> str:
    return f"{tmp.name} ({tmp.stat().st_size / 1e6:.1f} MB)"


def describe_partial_writes(folder: Path) -> str:
    """A sentence naming the checkpoint writes cut short in ``folder`` (empty if none)."""
    stale = [_named(tmp) for tmp, dead in partial_writes(folder) if dead]
    return f"a checkpoint write was cut short by a kill: {', '.join(stale)} in '{folder}'" if stale else ""


def remove_partial_writes(folder: Path) -> tuple[list[str], list[str]]:
    """Delete the temporary files of checkpoint writes that a kill cut short;
    keep those whose process still runs. Returns ``"<name> (<MB> MB)"`` of
    the removed files and of the kept ones."""
    removed: list[str] = []
    kept: list[str] = []
    for tmp, dead in partial_writes(folder):
        (removed if dead else kept).append(_named(tmp))
        if dead:
            tmp.unlink(missing_ok=True)
    return removed, kept


def tidy_partial_writes(run_dir: Path, checkpoint: str | None) -> None:
    """On a resume: remove the checkpoint writes of ``run_dir`` that a kill cut
    short and log what was removed and what was kept (a live process's write)."""
    removed, kept = remove_partial_writes(run_dir / "checkpoints")
    if removed:
        log.warning(
            f"ssl_it: removed checkpoint writes cut short by a kill: {', '.join(removed)}; resuming from '{checkpoint}'"
        )
    if kept:
        log.warning(
            f"ssl_it: kept checkpoint writes of processes still running: {', '.join(kept)}; "
            f"is another job writing into {run_dir}?"
        )
