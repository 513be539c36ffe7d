"""Shared fixtures: compose the real configs with test-sized overrides."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")
torch.set_num_threads(min(2, torch.get_num_threads()))

FAST_DATA = ["data=synthetic", "data.n_samples=96"]
# a whole `python train.py` run in seconds (subprocess tests): 3 steps of 16 synthetic samples, no information plane
CLI_TINY = [
    "data=synthetic",
    "data.n_samples=64",
    "datamodule.batch_size=16",
    "datamodule.num_workers=0",
    "datamodule.probe_size=16",
    "trainer.max_epochs=1",
    "trainer.enable_progress_bar=false",
    "callbacks.progress_bar=null",
    "infoplane=none",
]
FAST = [
    "datamodule.batch_size=16",
    "datamodule.num_workers=0",
    "datamodule.probe_size=32",
    "trainer.max_epochs=1",
    "trainer.log_every_n_steps=1",
    "trainer.enable_progress_bar=false",
    "callbacks.progress_bar=null",
    "logger=none",
    "infoplane.log_spaced_evals=0",
]


ROOT = Path(__file__).resolve().parents[1]


def run_python(*args: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    """``python <args>`` in the project root, the checkout on ``PYTHONPATH``, output captured as text
    (``timeout`` is a hang guard, not a speed check: speed is measured in benchmarks/bench_*.py)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture
def make_cfg(tmp_path: Path) -> Callable[..., DictConfig]:
    """``make_cfg(*overrides, fast=True, run="run")`` -> composed config writing under tmp_path."""

    def _make(*overrides: str, fast: bool = True, run: str = "run") -> DictConfig:
        paths = [f"paths.output_dir={tmp_path / run}", f"paths.outputs_root={tmp_path}"]
        from ssl_it.train import CONFIG_DIR

        with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
            chosen = {o.split("=", 1)[0] for o in overrides if "=" in o and "." not in o.split("=", 1)[0]}
            fast_overrides = [o for o in FAST_DATA + FAST if o.split("=", 1)[0].split(".")[0] not in chosen]
            return compose("train", overrides=[*(fast_overrides if fast else []), *paths, *overrides])

    return _make
