"""Where a run writes, and how a resumed run finds its checkpoint and config.

``resume=null`` starts a new run in Hydra's run directory. ``resume=last``
continues the most recently written ``checkpoints/last.ckpt`` under
``outputs/``; ``resume=<run dir>`` that run's last checkpoint;
``resume=<file.ckpt>`` that checkpoint. A resumed run writes into its
original run directory, with its saved config (only ``trainer.max_epochs``
may be raised on the command line), and continues its W&B run id.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf, open_dict

from ssl_it.config_checks import ConfigError

CONFIG_FILE = "config.yaml"
RUN_ID_FILE = "wandb_run_id.txt"


@dataclass
class RunState:
    run_dir: Path
    run_id: str
    config: DictConfig
    checkpoint: str | None = None
    resumed_epoch: int | None = None

    def save_config(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if not (self.run_dir / CONFIG_FILE).exists():
            OmegaConf.save(self.config, self.run_dir / CONFIG_FILE, resolve=True)


def _find_checkpoint(resume: str, outputs_root: Path) -> Path:
    if resume == "last":
        found = sorted(outputs_root.rglob("checkpoints/last.ckpt"), key=lambda p: p.stat().st_mtime)
        if not found:
            raise ConfigError(f"resume=last: no checkpoints/last.ckpt under '{outputs_root}'")
        return found[-1]
    path = Path(resume).expanduser()
    if path.is_dir():
        path = path / "checkpoints" / "last.ckpt"
    if not path.is_file():
        raise ConfigError(f"resume={resume}: no checkpoint at '{path}' (give 'last', a run directory or a .ckpt file)")
    return path


def resolve_resume(cfg: DictConfig, output_dir: Path, outputs_root: Path) -> RunState:
    """The run directory, W&B run id, config and checkpoint of this job."""
    if cfg.resume is None:
        return RunState(run_dir=output_dir, run_id=_run_id(output_dir), config=cfg)
    ckpt = _find_checkpoint(str(cfg.resume), outputs_root)
    run_dir = ckpt.parent.parent
    saved = run_dir / CONFIG_FILE
    if not saved.is_file():
        raise ConfigError(f"resume={cfg.resume}: '{saved}' is missing, cannot rebuild the run")
    config = OmegaConf.load(saved)
    with open_dict(config):
        config.resume = str(ckpt)
        config.paths = cfg.paths
        config.paths.output_dir = str(run_dir)
        if cfg.trainer.max_epochs > config.trainer.max_epochs:
            config.trainer.max_epochs = cfg.trainer.max_epochs
    epoch = int(torch.load(ckpt, map_location="cpu", weights_only=False)["epoch"])
    return RunState(run_dir=run_dir, run_id=_run_id(run_dir), config=config, checkpoint=str(ckpt), resumed_epoch=epoch)


def _run_id(run_dir: Path) -> str:
    path = run_dir / RUN_ID_FILE
    if path.is_file():
        return path.read_text().strip()
    run_dir.mkdir(parents=True, exist_ok=True)
    run_id = secrets.token_hex(4)
    path.write_text(run_id)
    return run_id
