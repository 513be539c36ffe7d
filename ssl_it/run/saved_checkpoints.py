"""The checkpoints a run folder keeps, in the order training wrote them.

A run keeps ``checkpoints/last.ckpt`` and ``checkpoints/best.ckpt``, and, with
a checkpoint schedule, ``checkpoints/trajectory/step_<step>.ckpt``.
:func:`run_checkpoints` lists them all, ordered by the ``global_step`` stored
in each (a file name is not trusted), keeping one file per step (``last`` and
``best`` are often the same weights). :func:`position` reads where in
training a checkpoint was written: its step and its epoch as the
information-plane callback counts it (``step / batches per epoch``).
:func:`run_config_path` finds the configuration a run was saved with.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ssl_it.run.config_checks import ConfigError

PREFERRED = ("trajectory", "last", "best")
"""Which file stands for a step several files share: a scheduled one, then ``last``, then ``best``."""


@dataclass(frozen=True)
class SavedCheckpoint:
    """One checkpoint file and where in training it was written."""

    path: Path
    step: int
    epoch: int  # the epoch in progress when it was saved (Lightning's ``epoch``)
    batches_done: int  # training batches of that epoch processed (the one it was saved after included)
    epoch_end: bool  # saved after the epoch's last batch

    def epoch_position(self, batches_per_epoch: int | None) -> float:
        """The epoch as the callback writes it: ``step / batches per epoch``; the
        whole epochs finished when the epoch length is unknown."""
        if batches_per_epoch:
            return round(self.step / batches_per_epoch, 4)
        return float(self.epoch + 1 if self.epoch_end else self.epoch)


def load(path: Path) -> dict[str, Any]:
    """A Lightning checkpoint, memory-mapped on the CPU (weights are read when used)."""
    state = torch.load(path, map_location="cpu", weights_only=False, mmap=True)
    if not isinstance(state, dict) or "state_dict" not in state or "global_step" not in state:
        raise ValueError("not a Lightning checkpoint (no state_dict and global_step)")
    return state


def position(path: Path, key: str) -> SavedCheckpoint:
    """Where ``path`` was written; raises :class:`ConfigError` naming ``key`` when it cannot be read."""
    try:
        state = load(path)
    except Exception as err:  # truncated zip, unpickling error, not a checkpoint
        first = str(err).splitlines()[0] if str(err) else ""
        raise ConfigError(f"{key}: checkpoint '{path}' cannot be read ({type(err).__name__}: {first})") from None
    progress = (state.get("loops") or {}).get("fit_loop", {}).get("epoch_loop.batch_progress", {})
    current = progress.get("current", {})
    return SavedCheckpoint(
        Path(path),
        int(state["global_step"]),
        int(state.get("epoch", 0)),
        int(current.get("processed", 0)),
        bool(progress.get("is_last_batch", False)),
    )


def batches_per_epoch(saved: list[SavedCheckpoint], run_dir: Path | None = None) -> int | None:
    """Training batches per epoch, read from a checkpoint written after an epoch's last batch: one of
    ``saved``, else the run's ``last.ckpt`` (written at every epoch's end)."""
    ends = [c.batches_done for c in saved if c.epoch_end and c.batches_done > 0]
    last = run_dir / "checkpoints" / "last.ckpt" if run_dir is not None else None
    if not ends and last is not None and last.is_file():
        try:
            end = position(last, "run")
        except ConfigError:
            return None
        ends = [end.batches_done] if end.epoch_end and end.batches_done > 0 else []
    return max(ends) if ends else None


def _preference(path: Path) -> int:
    kind = "trajectory" if path.parent.name == "trajectory" else path.stem
    return PREFERRED.index(kind) if kind in PREFERRED else len(PREFERRED)


def checkpoint_files(run_dir: Path) -> list[Path]:
    """Every ``*.ckpt`` of ``<run_dir>/checkpoints`` and ``checkpoints/trajectory``."""
    folder = run_dir / "checkpoints"
    return sorted([*folder.glob("*.ckpt"), *(folder / "trajectory").glob("*.ckpt")])


def run_checkpoints(run_dir: Path, key: str = "run") -> list[SavedCheckpoint]:
    """The run's checkpoints in step order, one per step. Raises :class:`ConfigError`
    naming ``key`` when the folder holds none, or one cannot be read."""
    files = checkpoint_files(run_dir)
    if not files:
        raise ConfigError(
            f"{key}={run_dir}: no checkpoint in '{run_dir / 'checkpoints'}' (looked for *.ckpt there "
            f"and in checkpoints/trajectory/); give a finished run folder, or checkpoint=<file>"
        )
    by_step: dict[int, SavedCheckpoint] = {}
    for path in sorted(files, key=_preference):
        saved = position(path, f"{key}={run_dir}")
        by_step.setdefault(saved.step, saved)
    return [by_step[s] for s in sorted(by_step)]


def run_folder_of(checkpoint: Path) -> Path | None:
    """The run folder a checkpoint file belongs to (``<run>/checkpoints[/trajectory]/x.ckpt``), if any."""
    for parent in checkpoint.resolve().parents[:3]:
        if run_config_path(parent) is not None:
            return parent
    return None


def run_config_path(run_dir: Path) -> Path | None:
    """The run's saved configuration: ``config.yaml`` (resolved, what a resume reads), else Hydra's
    ``.hydra/config.yaml``."""
    for path in (run_dir / "config.yaml", run_dir / ".hydra" / "config.yaml"):
        if path.is_file():
            return path
    return None
