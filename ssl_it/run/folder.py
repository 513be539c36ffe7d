"""One run, one directory: unique names, an exclusive claim, and no litter.

* ``run_suffix()`` backs the ``${ssl_it.suffix:}`` resolver in Hydra's
  ``hydra.run.dir`` / ``hydra.sweep.dir``: six random hex digits after the
  time, so runs started in the same second get different directories. The
  resolver is cached (one value per composed config, which Hydra copies to
  every job of a sweep, as it does for ``${now:...}``).
* ``claim(run_dir)`` creates ``wandb_run_id.txt`` with an exclusive create:
  two runs can never share a directory, its checkpoints or its W&B run id,
  even when a user names the same ``hydra.run.dir`` twice.
* ``remove_if_only_hydra(dir)`` deletes a directory that holds nothing but
  what Hydra writes before the task starts (``.hydra/`` and the job's
  ``<name>.log``), so a configuration error leaves nothing behind.
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path

from ssl_it.run.config_checks import ConfigError

RUN_ID_FILE = "wandb_run_id.txt"
HYDRA_FILES = (".hydra", "train.log")
HYDRA_PREFIXES = (".pl_hydra_rank_",)  # Lightning's DDP ranks re-run Hydra into the same directory


def run_suffix() -> str:
    """Six random hex digits (16.7 million values) that tell apart runs started in one second."""
    return secrets.token_hex(3)


def read_run_id(run_dir: Path) -> str | None:
    """The run id stored in ``run_dir``, or ``None`` when it has none."""
    path = run_dir / RUN_ID_FILE
    return path.read_text().strip() if path.is_file() else None


def claim(run_dir: Path, run_id: str, key: str = "hydra.run.dir") -> None:
    """Make ``run_dir`` this run's own by creating its run-id file exclusively.

    Raises:
        ConfigError: the directory already belongs to another run (naming
            ``key``, the run id found there, and how to continue that run).
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(run_dir / RUN_ID_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        other = read_run_id(run_dir) or "?"
        raise ConfigError(
            f"{key}={run_dir}: the directory already holds run {other}; a new run never writes over another's "
            f"checkpoints and logs. Continue that run with resume={run_dir}, or choose another {key} "
            f"(or delete the directory) to start a new one"
        ) from None
    with os.fdopen(fd, "w") as f:
        f.write(run_id)


def only_hydra_files(path: Path) -> bool:
    """``True`` when ``path`` holds nothing but Hydra's own files."""
    if not path.is_dir():
        return False
    return all(
        p.name in HYDRA_FILES or p.name.startswith(HYDRA_PREFIXES) or (p.is_file() and p.suffix == ".log")
        for p in path.iterdir()
    )


def remove_if_only_hydra(path: Path, outputs_root: Path | None = None) -> bool:
    """Delete ``path`` if it holds only Hydra's files; then its parents up to
    ``outputs_root`` included, as long as they are empty (the date folder of
    ``outputs/<date>/<time>``, and ``outputs/`` itself if nothing else is in it).
    Returns whether ``path`` was removed."""
    if not only_hydra_files(path):
        return False
    shutil.rmtree(path, ignore_errors=True)
    if outputs_root is not None:
        root = outputs_root.resolve()
        for parent in path.resolve().parents:
            if parent != root and root not in parent.parents:
                break
            try:
                parent.rmdir()  # only if empty
            except OSError:
                break
    return not path.exists()
