"""Checkpoints on a schedule of steps, within a disk bound: a trajectory to measure afterwards.

The classic information-plane experiments keep the network at log-spaced
epochs (Shwartz-Ziv & Tishby 2017, arXiv:1703.00810), dense early when the
representations change fastest. ``schedule=log`` saves after the optimiser
steps ``round(10^(k / per_decade))``, ``k = 0, 1, ...`` (the information
plane's log spacing, :func:`~ssl_it.callbacks.infoplane.schedule.log_spaced_steps`,
continued decade by decade, so the steps do not depend on the run's length
and an extended run keeps its earlier points); ``schedule=every`` saves every
``every_n_steps`` steps. ``at_start`` adds step 0, the initialisation.

Files, all inside the run folder: ``checkpoints/trajectory/step_<step>.ckpt``
(written to a temporary name and renamed, so a kill never leaves half a
checkpoint under a real name) and ``checkpoints/trajectory/index.json``, the
manifest (step, epoch, file, bytes per checkpoint; replaced atomically after
every change).

Disk bound: when keeping one more checkpoint would exceed ``max_checkpoints``
or ``max_disk_mb``, the schedule is thinned rather than cut off: the kept
checkpoint whose two neighbours are closest in ``log(1 + step)`` is removed
(never the first or the newest), until the new one fits, so the kept set
spans the whole run so far and stays roughly log-spaced. Steps removed are
listed in the manifest (``removed``). If a single checkpoint is larger than
``max_disk_mb`` the schedule stops with a one-time warning.

Resume: the kept list is part of the callback's checkpointed state. A
resumed run deletes the trajectory files written after its checkpoint (the
resumed segment writes them again) and continues with the first scheduled
step after it; no step is saved twice.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Literal

import pytorch_lightning as pl
from pytorch_lightning.utilities import rank_zero_info, rank_zero_warn
from typing_extensions import override

from ssl_it import checks
from ssl_it.callbacks.infoplane.schedule import log_spaced_steps
from ssl_it.run.checkpoint_io import remove_partial_writes

SCHEDULES = ("none", "log", "every")
KEY = "callbacks.checkpoint_schedule"
FOLDER = Path("checkpoints") / "trajectory"
MANIFEST = "index.json"


def log_steps(per_decade: int, up_to: int) -> list[int]:
    """The steps ``1 <= s <= up_to`` at ``round(10^(k / per_decade))``."""
    decades = len(str(max(1, up_to)))  # 10**decades > up_to
    return sorted(s for s in log_spaced_steps(per_decade * decades, 10**decades) if s <= up_to)


def thinning_victim(steps: list[int]) -> int:
    """Index of the checkpoint to drop from ``steps`` (ascending): the interior
    one whose neighbours are closest in ``log(1 + step)`` (the earliest on a
    tie); of two, the older; of one, that one."""
    if len(steps) < 3:
        return 0
    spans = [math.log1p(steps[i + 1]) - math.log1p(steps[i - 1]) for i in range(1, len(steps) - 1)]
    return 1 + spans.index(min(spans))


class CheckpointSchedule(pl.Callback):
    """Trajectory checkpoints on a log-spaced (or regular) schedule of steps.

    Args:
        run_dir: the run folder; files go to ``<run_dir>/checkpoints/trajectory/``.
        schedule: ``none`` (off), ``log`` (``per_decade`` per factor of 10
            in steps) or ``every`` (every ``every_n_steps`` steps).
        per_decade: checkpoints per decade of steps for ``log`` (fewer in
            the first decade, where rounding merges steps).
        every_n_steps: the period for ``every``.
        at_start: also save step 0, before the first optimiser step.
        max_checkpoints: most checkpoints kept (``None``: no limit; at least 2).
        max_disk_mb: most megabytes (10^6 bytes) the trajectory may take
            (``None``: no limit).
        weights_only: save the model's weights and the loop counters only
            (a third of the size with Adam); ``False`` adds the optimiser,
            scheduler and callback states.
    """

    def __init__(
        self,
        run_dir: str,
        schedule: Literal["none", "log", "every"] = "none",
        per_decade: int = 10,
        every_n_steps: int = 1000,
        at_start: bool = True,
        max_checkpoints: int | None = None,
        max_disk_mb: float | None = 1000.0,
        weights_only: bool = True,
    ) -> None:
        self.schedule = checks.choice(f"{KEY}.schedule", schedule, SCHEDULES)
        self.per_decade = checks.integer(f"{KEY}.per_decade", per_decade)
        self.every_n_steps = checks.integer(f"{KEY}.every_n_steps", every_n_steps)
        self.at_start = checks.flag(f"{KEY}.at_start", at_start)
        if max_checkpoints is not None:
            checks.integer(f"{KEY}.max_checkpoints", max_checkpoints, minimum=2)
        if max_disk_mb is not None:
            checks.positive(f"{KEY}.max_disk_mb", max_disk_mb)
        self.max_checkpoints = max_checkpoints
        self.max_disk_mb = max_disk_mb
        self.weights_only = checks.flag(f"{KEY}.weights_only", weights_only)
        self.folder = Path(run_dir) / FOLDER
        self.kept: list[dict[str, Any]] = []  # {step, epoch, file, bytes}, by step
        self.removed: list[int] = []
        self.stopped = False
        self.last_step = -1
        self._log_grid: set[int] = set()
        self._grid_to = 0

    def due(self, step: int) -> bool:
        """Whether the schedule saves after ``step`` optimiser steps (step 0 only with ``at_start``)."""
        if self.schedule == "none":
            return False
        if step == 0:
            return self.at_start
        if self.schedule == "every":
            return step % self.every_n_steps == 0
        if step > self._grid_to:
            self._grid_to = max(step, 2 * self._grid_to)
            self._log_grid = set(log_steps(self.per_decade, self._grid_to))
        return step in self._log_grid

    @override
    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.schedule == "none":
            return
        resumed = trainer.global_step > 0
        self.last_step = trainer.global_step if resumed else -1
        if resumed and trainer.is_global_zero:
            self._reconcile(trainer.global_step)
        if not resumed and self.due(0):
            self._save(trainer, 0)

    @override
    def on_train_batch_end(self, trainer: pl.Trainer, *args: Any) -> None:
        step = trainer.global_step
        if step > self.last_step and self.due(step):  # accumulating batches repeat a step
            self._save(trainer, step)

    def _save(self, trainer: pl.Trainer, step: int) -> None:
        self.last_step = step
        if self.stopped:
            return
        path = self.folder / f"step_{step}.ckpt"
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")  # the name resume's cleanup recognises
        if trainer.is_global_zero:
            self.folder.mkdir(parents=True, exist_ok=True)
            predicted = self.kept[-1]["bytes"] if self.kept else 0
            self._thin({"step": step, "bytes": predicted})
        trainer.save_checkpoint(tmp, weights_only=self.weights_only)  # every rank: it may be collective
        if trainer.is_global_zero:
            os.replace(tmp, path)
            self.kept.append(
                {"step": step, "epoch": trainer.current_epoch, "file": path.name, "bytes": path.stat().st_size}
            )
            self._thin(None)
            self._write_manifest()
        self.stopped = bool(trainer.strategy.broadcast(self.stopped))

    def _over(self, entries: list[dict[str, Any]]) -> bool:
        too_many = self.max_checkpoints is not None and len(entries) > self.max_checkpoints
        too_big = self.max_disk_mb is not None and sum(e["bytes"] for e in entries) > self.max_disk_mb * 1e6
        return too_many or too_big

    def _thin(self, coming: dict[str, Any] | None) -> None:
        """Remove kept checkpoints until ``kept`` (plus the ``coming`` one, the newest) fits the bounds."""
        entries = [*self.kept, coming] if coming is not None else list(self.kept)
        while self._over(entries):
            if len(entries) == 1:
                if coming is None:  # a single checkpoint is larger than the bound
                    self._delete(entries.pop())
                    self._stop()
                return
            self._delete(entries.pop(thinning_victim([e["step"] for e in entries])))
        self.kept = [e for e in entries if e is not coming]

    def _delete(self, entry: dict[str, Any]) -> None:
        if "file" in entry:
            (self.folder / entry["file"]).unlink(missing_ok=True)
            self.removed.append(entry["step"])
            self.kept = [e for e in self.kept if e is not entry]

    def _stop(self) -> None:
        self.stopped = True
        rank_zero_warn(
            f"{KEY}.max_disk_mb={self.max_disk_mb}: one checkpoint takes more than that; no more "
            f"trajectory checkpoints are saved in this run (raise it, or set it to null)"
        )

    def _reconcile(self, step: int) -> None:
        """Resume: keep what the checkpoint knew about; delete what was written after it."""
        remove_partial_writes(self.folder)
        self.kept = [e for e in self.kept if e["step"] <= step]
        gone = [e["step"] for e in self.kept if not (self.folder / e["file"]).is_file()]  # thinned after the checkpoint
        self.kept = [e for e in self.kept if e["step"] not in gone]
        self.removed = sorted({*self.removed, *gone})
        known = {e["file"] for e in self.kept}
        later = sorted(p for p in self.folder.glob("step_*.ckpt") if p.name not in known)
        for p in later:
            p.unlink()
        if later:
            rank_zero_info(
                f"ssl_it: {KEY}: removed {len(later)} trajectory checkpoint(s) written after the resumed "
                f"checkpoint (step {step}); the resumed run saves them again"
            )
        if self.folder.is_dir():
            self._write_manifest()

    def _write_manifest(self) -> None:
        manifest = {
            "schedule": self.schedule,
            "per_decade": self.per_decade,
            "every_n_steps": self.every_n_steps,
            "at_start": self.at_start,
            "max_checkpoints": self.max_checkpoints,
            "max_disk_mb": self.max_disk_mb,
            "weights_only": self.weights_only,
            "stopped": self.stopped,
            "checkpoints": self.kept,
            "removed": sorted(self.removed),
        }
        path = self.folder / MANIFEST
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        tmp.write_text(json.dumps(manifest, indent=1))
        os.replace(tmp, path)

    @override
    def state_dict(self) -> dict[str, Any]:
        return {"kept": self.kept, "removed": self.removed, "stopped": self.stopped}

    @override
    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.kept = list(state_dict.get("kept", []))
        self.removed = list(state_dict.get("removed", []))
        self.stopped = bool(state_dict.get("stopped", False))
