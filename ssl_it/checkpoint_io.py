"""Checkpoints that are either the old file or the new one, never half of one.

Lightning writes ``last.ckpt`` in place, so a run killed while saving leaves
a truncated file and loses the epoch before it too. This CheckpointIO writes
to a temporary file in the same folder and renames it over the target
(``os.replace`` is atomic on POSIX and Windows file systems).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pytorch_lightning.plugins.io import TorchCheckpointIO


class AtomicCheckpointIO(TorchCheckpointIO):
    """``TorchCheckpointIO`` that saves to ``.<name>.tmp-<pid>`` and renames it."""

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


def remove_partial_writes(folder: Path) -> list[str]:
    """Delete the temporary files of checkpoint writes that a kill cut short
    (``.<name>.tmp-<pid>``); returns ``"<name> (<MB> MB)"`` for each."""
    removed = []
    for tmp in sorted(Path(folder).glob(".*.tmp-*")):
        size = tmp.stat().st_size / 1e6
        tmp.unlink(missing_ok=True)
        removed.append(f"{tmp.name} ({size:.1f} MB)")
    return removed
