"""Checks of a composed config that must fail before any training starts.

Hydra already rejects unknown options and misspelt keys at composition;
constructors reject their own bad arguments with the key in the message.
What is left here are the cross-field and numeric rules that no single
constructor can see, or that are needed before anything is built, phrased as
``<key>=<value>: <what is allowed>`` (the rules themselves are those of
:mod:`ssl_it.checks`).
"""

from __future__ import annotations

import importlib
import inspect
import logging
import re
from collections.abc import Callable, Iterator
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

from ssl_it import checks

log = logging.getLogger(__name__)


class ConfigError(ValueError):
    """A config value that cannot work; the message names the key."""


# The metrics a monitoring callback (a checkpoint, early stopping) may read, and the node that logs each.
LOGGED_BY = {"val/probe_acc": "online_probe", "val/knn_acc": "knn"}


def _get(cfg: DictConfig, key: str) -> Any:
    return OmegaConf.select(cfg, key, default=None)


def _check(cfg: DictConfig, key: str, check: Callable[[str, Any], object], *, required: bool = False) -> None:
    """Run one of :mod:`ssl_it.checks` on ``key`` (skipped when unset unless
    ``required``), worded as ``<key>=<value>: must be <allowed>``."""
    value = _get(cfg, key)
    if value is None and not required:
        return
    try:
        check(key, value)
    except checks.InvalidValue as err:
        raise ConfigError(f"{key}={value!r}: must be {err.allowed}") from None


def validate_config(cfg: DictConfig) -> None:
    """Raise :class:`ConfigError` naming the first key whose value cannot work.

    Only what no constructor checks before training: the optimiser is built
    when training starts, Lightning's Trainer takes ``max_epochs`` 0 and -1
    (no training, endless training), and the seed and ``resume`` are read
    before anything is built.
    """
    _check(cfg, "optimizer.lr", checks.positive)
    _check(cfg, "optimizer.weight_decay", lambda k, v: checks.positive(k, v, allow_zero=True))
    _check(cfg, "trainer.max_epochs", checks.integer)
    _check(cfg, "seed", lambda k, v: checks.integer(k, v, minimum=0), required=True)
    resume = _get(cfg, "resume")
    if resume is not None and not isinstance(resume, str):
        raise ConfigError(f"resume={resume!r}: must be 'last', a run directory or a checkpoint path")
    _check_monitors(cfg)
    _check_progress_bar(cfg)


def _check_monitors(cfg: DictConfig) -> None:
    """A callback that monitors a metric needs the callback that logs it
    (Lightning would fail only after the first validation epoch)."""
    nodes = _get(cfg, "callbacks") or {}
    for name, node in nodes.items():
        monitor = node.get("monitor") if isinstance(node, DictConfig) else None
        source = LOGGED_BY.get(str(monitor))
        if source is not None and nodes.get(source) is None:
            raise ConfigError(
                f"callbacks.{name}.monitor={monitor!r}: logged only by callbacks.{source}, which this run "
                f"removes; keep callbacks.{source}, monitor another metric, or remove callbacks.{name}"
            )


def _check_progress_bar(cfg: DictConfig) -> None:
    """The progress bar is the ``callbacks.progress_bar`` node; a trainer told
    to show none cannot take it (Lightning would refuse once the Trainer is built)."""
    if _get(cfg, "trainer.enable_progress_bar") is False and _get(cfg, "callbacks.progress_bar") is not None:
        raise ConfigError(
            "trainer.enable_progress_bar=false: the progress bar is the callback node "
            "callbacks.progress_bar; remove it too (callbacks.progress_bar=null)"
        )


def check_view_count(n_views: int, objective: Any) -> None:
    """The augmentation must give at least the views the objective compares (``min_views``)."""
    if n_views < objective.min_views:
        raise ConfigError(
            f"augmentation.n_views={n_views}: objective '{type(objective).__name__}' "
            f"needs at least {objective.min_views} views"
        )


def check_batch_size(batch_size: int, drop_last: bool, n_train: int, objective: Any, world_size: int = 1) -> None:
    """The training batches must be large enough for the objective.

    Args:
        batch_size: ``datamodule.batch_size`` (per process).
        drop_last: ``datamodule.drop_last``.
        n_train: number of training samples.
        objective: has ``min_batch_size`` (global) and a class name.
        world_size: number of processes sharing the global batch.
    """
    need = int(getattr(objective, "min_batch_size", 2))
    name = type(objective).__name__
    if batch_size < 2 or batch_size * world_size < need:
        raise ConfigError(
            f"datamodule.batch_size={batch_size}: objective '{name}' needs a training batch of at least "
            f"{max(need, 2)} samples{f' over {world_size} processes' if world_size > 1 else ''}"
        )
    per_rank = -(-n_train // world_size)
    remainder = per_rank % batch_size
    if not drop_last and remainder and (remainder < 2 or remainder * world_size < need):
        raise ConfigError(
            f"datamodule.drop_last=false: the last training batch would hold {remainder} samples "
            f"({per_rank} per process, batch size {batch_size}) and objective '{name}' needs at least "
            f"{max(need, 2)}; set datamodule.drop_last=true or change datamodule.batch_size"
        )


_LEAF_ERROR = re.compile(r"^(\w+)(=|:)")
_GOT = re.compile(r"got (\S+?)[;,)]?$")


def _paths_of_leaf(node: Any, leaf: str, prefix: str = "") -> list[tuple[str, Any]]:
    found = []
    for key, value in node.items():
        full = f"{prefix}{key}"
        if isinstance(value, dict):
            found += _paths_of_leaf(value, leaf, f"{full}.")
        elif key == leaf:
            found.append((full, value))
    return found


def qualify_key(message: str, cfg: DictConfig) -> str:
    """A constructor's message naming a bare key (``temperature: must be a
    number > 0; got -1``) with its full config key (``objective.temperature``):
    the key of that name whose value is the one reported, or every such key."""
    match = _LEAF_ERROR.match(message)
    if match is None:
        return message
    leaf = match.group(1)
    try:
        container = OmegaConf.to_container(cfg, resolve=True)
    except Exception:
        container = OmegaConf.to_container(cfg, resolve=False)
    paths = _paths_of_leaf(container, leaf) if isinstance(container, dict) else []
    got = _GOT.search(message)
    if got and len(paths) > 1:
        paths = [(k, v) for k, v in paths if str(v) == got.group(1)] or paths
    if not paths or (len(paths) == 1 and paths[0][0] == leaf):
        return message
    return " or ".join(k for k, _ in paths) + message[len(leaf) :]


def _target(path: str) -> Any:
    """The object a ``_target_`` names (``ssl_it.objectives.VICReg``), or None if it cannot be imported."""
    module, _, name = path.rpartition(".")
    while module:
        try:
            found: Any = importlib.import_module(module)
        except ImportError:
            module, _, outer = module.rpartition(".")
            name = f"{outer}.{name}"
            continue
        for part in name.split("."):
            found = getattr(found, part, None)
        return found
    return None


def _target_nodes(node: Any, prefix: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every node with a ``_target_`` and its full key (``backbone``, ``estimator.I_TY``)."""
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    if isinstance(node, dict) and "_target_" in node:
        yield prefix, node
    for key, value in children:
        if isinstance(value, (dict, list)):
            yield from _target_nodes(value, f"{prefix}.{key}" if prefix else str(key))


def check_constructor_keys(cfg: DictConfig) -> None:
    """Every key of a ``_target_`` node must be an argument of that target
    (``+backbone.out_dim=0`` would otherwise end in a ``TypeError`` when the
    group is built). Targets that take ``**kwargs`` accept any key."""
    for prefix, node in _target_nodes(OmegaConf.to_container(cfg, resolve=False)):
        made = _target(str(node["_target_"]))
        try:
            params = inspect.signature(made).parameters if made is not None else None
        except (TypeError, ValueError):  # builtins without a signature
            params = None
        if params is None or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
            continue
        accepted = [n for n, p in params.items() if p.kind not in (p.VAR_POSITIONAL, p.POSITIONAL_ONLY)]
        unknown = [str(k) for k in node if not str(k).startswith("_") and str(k) not in accepted]
        if unknown:
            raise ConfigError(
                f"{prefix}.{unknown[0]}: not a setting of {prefix} ({node['_target_']} takes no argument "
                f"'{unknown[0]}'); {prefix} accepts: {', '.join(accepted)}"
            )


def check_hardware(trainer: DictConfig, cuda_devices: int) -> None:
    """A trainer that asks for CUDA devices this machine does not have
    (Lightning would fail with a long traceback once the Trainer is built)."""
    accelerator = str(trainer.get("accelerator", "auto"))
    if accelerator not in ("gpu", "cuda"):
        return
    if cuda_devices == 0:
        raise ConfigError(
            f"trainer.accelerator={accelerator}: this machine has no CUDA device (torch.cuda.is_available() "
            f"is false); use trainer=cpu, or trainer.accelerator=auto to take a GPU only where there is one"
        )
    devices = trainer.get("devices", "auto")
    if isinstance(devices, int) and devices > cuda_devices:
        raise ConfigError(
            f"trainer.devices={devices}: this machine has {cuda_devices} CUDA device(s); "
            f"use trainer.devices={cuda_devices} or fewer (trainer.devices=auto: all of them)"
        )


def trainer_overrides(trainer_cfg: DictConfig) -> dict[str, Any]:
    """Settings that cannot work on the chosen hardware, switched off with a
    log line: synchronised batch norm needs CUDA (``trainer=ddp`` on CPUs
    runs over gloo, where SyncBatchNorm raises)."""
    accelerator = str(trainer_cfg.get("accelerator", "auto"))
    on_cpu = accelerator == "cpu" or (accelerator == "auto" and not torch.cuda.is_available())
    if trainer_cfg.get("sync_batchnorm") and on_cpu:
        log.info("ssl_it: trainer.sync_batchnorm=true needs CUDA; turned off for this CPU (gloo) run")
        return {"sync_batchnorm": False}
    return {}
