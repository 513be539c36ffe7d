"""Readable names, tags and groups for runs, so runs of a sweep can be told apart.

A run is described by ``cfg.run`` (filled from Hydra by ``ssl_it.train`` and
saved in the run's ``config.yaml``): its config-group choices, its
command-line overrides and the sweep it belongs to. From that description:

- name: ``<objective>-<backbone>-<estimator>-<overrides>-s<seed>``, e.g.
  ``vicreg-convnet-kde-lr=0.001-s0`` (the estimator only when the
  information plane is measured; overrides with their last key part);
- tags: ``objective:vicreg``, ``backbone:convnet``, ``estimator:kde``,
  ``data:mnist5k``, ``augmentation:simclr_mnist`` and the user's own;
- group: ``logger.group`` when set, else the sweep (a W&B sweep id, or the
  name of the Hydra multirun directory).

Hydra-free: the caller passes what Hydra knows.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

NAME_GROUPS = ("objective", "backbone", "estimator")
TAG_GROUPS = ("objective", "backbone", "estimator", "data", "augmentation")
# overrides that say where a run writes or how it is logged, not what it is
SKIPPED_PREFIXES = ("hydra.", "paths.", "logger", "resume", "seed")
MAX_NAME = 96
WANDB_TAG_LIMIT = 64


@dataclass
class RunIdentity:
    """A run's W&B name, tags and group (``None``: no group)."""

    name: str
    tags: list[str] = field(default_factory=list)
    group: str | None = None


def sweep_name(sweep_dir: str | Path) -> str:
    """The name a multirun sweep goes by: its directory name, with the date
    folder in front when the name is Hydra's default time of day
    (``outputs/multirun/2026-11-30/10-00-00`` -> ``2026-11-30_10-00-00``)."""
    path = Path(sweep_dir)
    if re.fullmatch(r"\d{2}-\d{2}-\d{2}", path.name) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", path.parent.name):
        return f"{path.parent.name}_{path.name}"
    return path.name


def wandb_sweep_id() -> str | None:
    """The id of the W&B sweep whose agent started this process, if any."""
    return os.environ.get("WANDB_SWEEP_ID") or None


def wandb_sweep_run_id() -> str | None:
    """The run id a W&B agent assigned to this process (W&B uses it whatever
    id ``wandb.init`` is given), or ``None`` outside a W&B sweep."""
    return os.environ.get("WANDB_RUN_ID") if wandb_sweep_id() else None


def adopt_wandb_sweep_run_id(run_id: str) -> str:
    """The W&B agent's run id when a sweep started this process (the run
    claims its directory with it, so a later ``resume`` continues that W&B
    run); ``run_id`` otherwise."""
    return wandb_sweep_run_id() or run_id


def _fallback_choices(cfg: DictConfig) -> dict[str, str]:
    """Choices guessed from ``_target_`` class names, for configs composed
    without Hydra's run context (tests, notebooks)."""
    out = {}
    for group in TAG_GROUPS:
        node = OmegaConf.select(cfg, group, default=None)
        if not isinstance(node, DictConfig):
            continue
        targets = (
            [node.get("_target_")]
            if "_target_" in node
            else [
                sub.get("_target_")
                for sub in node.values()
                if isinstance(sub, DictConfig)  # one estimator per quantity
            ]
        )
        names = list(dict.fromkeys(str(t).rsplit(".", 1)[-1].lower() for t in targets if t))
        if names:
            out[group] = "+".join(names)
    return out


def _short_overrides(overrides: Sequence[str], name_groups: Sequence[str], swept: Sequence[str] | None) -> list[str]:
    """``optimizer.lr=0.001`` -> ``lr=0.001``; the full key where two
    overrides share their last part; choices already in the name dropped,
    and in a sweep (``swept`` not None) the keys it does not vary."""
    pairs = []
    for item in overrides:
        key, sep, value = item.lstrip("+~").partition("=")
        if not sep or key in name_groups or key.startswith(SKIPPED_PREFIXES):
            continue
        if swept is not None and key not in swept:
            continue
        pairs.append((key, value))
    last = [k.rsplit(".", 1)[-1] for k, _ in pairs]
    return [f"{short if last.count(short) == 1 else key}={value}" for (key, value), short in zip(pairs, last)]


def build_name(
    choices: Mapping[str, str], overrides: Sequence[str], seed: Any, measured: bool, swept: Sequence[str] | None = None
) -> str:
    """``vicreg-convnet-kde-lr=0.001-s0``: the objective, backbone and (when
    measured) estimator, the overrides (in a sweep, those of the keys it
    varies), the seed; cut to ``MAX_NAME`` characters with a hash of the
    whole name appended when longer."""
    groups = [g for g in NAME_GROUPS if g != "estimator" or measured]
    parts = [str(choices[g]) for g in groups if choices.get(g)]
    parts += _short_overrides(overrides, groups, swept)
    parts.append(f"s{seed}")
    name = "-".join(parts)
    if len(name) > MAX_NAME:
        digest = hashlib.sha1(name.encode()).hexdigest()[:6]
        name = f"{name[: MAX_NAME - 7]}-{digest}"
    return name


def run_identity(cfg: DictConfig) -> RunIdentity:
    """Name, tags and group of the run described by ``cfg`` (``cfg.run`` and
    the user's ``logger.name/tags/group``, which win when set)."""
    run = cfg.get("run") or {}
    choices = dict(run.get("choices") or {}) or _fallback_choices(cfg)
    overrides = list(run.get("overrides") or [])
    logger = cfg.get("logger") or {}
    measured = cfg.get("infoplane") is not None and "_target_" in cfg.infoplane
    swept = run.get("swept")
    swept = None if swept is None else list(swept)
    name = logger.get("name") or build_name(choices, overrides, cfg.get("seed"), measured, swept)
    groups = [g for g in TAG_GROUPS if choices.get(g) and (g != "estimator" or measured)]
    tags = [f"{g}:{choices[g]}"[:WANDB_TAG_LIMIT] for g in groups]
    tags += [t for t in (logger.get("tags") or []) if t not in tags]
    return RunIdentity(name=name, tags=tags, group=logger.get("group") or run.get("sweep"))
