"""The text of ``ssl-it-train --help`` (``python train.py --help``).

Hydra's stock help lists the group options and dumps the whole config.
Ours describes each config group, lists its options with the first comment
line of each option's YAML file (read from ``configs/`` at help time, so a
new option file appears with its own description) and marks the chosen one,
then shows the most-used keys with their current values. ``train.py``
exposes the two parts as the resolvers ``${ssl_it.help_groups:}`` and
``${ssl_it.help_keys:}``, which ``configs/hydra/help/ssl_it.yaml`` places in
Hydra's help template. The group descriptions and the key list are checked
against the configs by tests/test_reliability.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

GROUPS: dict[str, str] = {
    "data": "the dataset (embedded, synthetic, torchvision, an image folder or arrays)",
    "backbone": "the network whose layers are measured",
    "augmentation": "how the views of each sample are made",
    "objective": "the self-supervised loss, with its projector/predictor heads",
    "optimizer": "the optimiser (the learning rate is optimizer.lr)",
    "scheduler": "the learning-rate schedule (~scheduler: constant rate)",
    "trainer": "Lightning's Trainer: hardware, precision, epochs",
    "estimator": "the mutual-information estimator(s) of the information plane",
    "infoplane": "the information-plane callback: which layers, how often (none: off)",
    "logger": "where metrics go besides metrics.csv (W&B, TensorBoard, none)",
    "callbacks": "probes, kNN, checkpoints, diagnostics, linear evaluation, preemption signals",
    "experiment": "presets that set several groups and keys at once",
    "hparams_search": "Optuna sweeps (use with -m)",
    "launcher": "where the jobs of a multirun run (use with -m)",
    "debug": "debug=fast: the whole pipeline in seconds",
}

KEYS: tuple[tuple[str, str], ...] = (
    ("seed", "the run's seed (data split, views, initialisation)"),
    ("resume", "last, a run directory or a .ckpt: continue that run with its saved config"),
    ("trainer.max_epochs", "epochs to train (also the one key that extends a resumed run)"),
    ("trainer.devices", "devices per node (trainer=ddp: several processes)"),
    ("datamodule.batch_size", "training batch per process"),
    ("datamodule.num_workers", "DataLoader worker processes (null: one per spare core)"),
    ("datamodule.probe_size", "samples of the fixed probe set the information plane measures on"),
    ("optimizer.lr", "learning rate"),
    ("data.root", "where a torchvision dataset is (or is downloaded to)"),
    ("data.download", "download a missing torchvision dataset (false: no network is used)"),
    ("infoplane.layers", "the tapped layers (backbone stages, projector, ...)"),
    ("logger.mode", "W&B: auto (online with an API key, else offline), online, offline, disabled"),
    ("logger.offline_fallback", "W&B: with WANDB_MODE=online and no API key, log offline instead of stopping"),
    ("callbacks.preemption.signals", "signals that stop the run like SIGTERM, e.g. [USR1] (SLURM --signal)"),
    ("optimized_metric", "what a sweep optimises (null: final linear-eval top-1)"),
    ("torch_threads", "CPU threads for torch (null: torch's default)"),
)


def option_description(path: Path) -> str:
    """The first comment line of an option's YAML file (after ``# @package``)."""
    for line in path.read_text().splitlines():
        text = line.strip()
        if text.startswith("#") and "@package" not in text and text.lstrip("# "):
            first = text.lstrip("# ").strip()
            return first.rstrip(",:;(") + " ..." if first[-1] in ",:;(" else first
        if text and not text.startswith("#"):
            break
    return ""


def groups_text(config_dir: Path, choices: Mapping[str, Any]) -> str:
    """Each group of ``config_dir`` with its description and options; the chosen option is marked ``*``."""
    lines = []
    for group, about in GROUPS.items():
        chosen = choices.get(group)
        lines.append(f"{group}: {about}" + ("" if chosen else "  (none chosen)"))
        for option in sorted((config_dir / group).glob("*.yaml")):
            mark = "*" if option.stem == chosen else " "
            lines.append(f"  {mark} {option.stem:<15} {option_description(option)}")
    return "\n".join(lines).replace("$", "$$")


def _shown(value: Any) -> str:
    """A value as it is typed on the command line (``null``, ``true``, ``[USR1]``)."""
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(map(_shown, value)) + "]"
    return str(value)


def keys_text(values: Mapping[str, Any]) -> str:
    """The most-used keys, each with its current value (``values``; a key
    missing from ``values`` is not in this configuration) and what it does."""
    shown = {key: f"{key}={_shown(values[key])}" if key in values else f"{key} (not in this config)" for key, _ in KEYS}
    width = max(map(len, shown.values()))
    lines = [f"  {shown[key]:<{width}}  {about}" for key, about in KEYS]
    return "\n".join(lines).replace("$", "$$")
