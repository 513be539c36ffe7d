"""Checks of a composed config that must fail before any training starts.

Hydra already rejects unknown options and misspelt keys at composition;
constructors reject their own bad arguments with the key in the message.
What is left here are the cross-field and numeric rules that no single
constructor can see, phrased as ``<key>: <what is allowed>``.
"""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig, OmegaConf


class ConfigError(ValueError):
    """A config value that cannot work; the message names the key."""


def _get(cfg: DictConfig, key: str) -> Any:
    return OmegaConf.select(cfg, key, default=None)


def _positive(cfg: DictConfig, key: str, integer: bool = False) -> None:
    value = _get(cfg, key)
    if value is None:
        return
    kind = "an integer >= 1" if integer else "a number > 0"
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
        raise ConfigError(f"{key}={value!r}: must be {kind}")
    if value <= 0:
        raise ConfigError(f"{key}={value}: must be {kind}")


def _non_negative(cfg: DictConfig, key: str) -> None:
    value = _get(cfg, key)
    if value is not None and (not isinstance(value, (int, float)) or value < 0):
        raise ConfigError(f"{key}={value!r}: must be a number >= 0")


def validate_config(cfg: DictConfig) -> None:
    """Raise :class:`ConfigError` naming the first key whose value cannot work."""
    _positive(cfg, "optimizer.lr")
    _non_negative(cfg, "optimizer.weight_decay")
    _positive(cfg, "datamodule.batch_size", integer=True)
    _positive(cfg, "datamodule.probe_size", integer=True)
    _positive(cfg, "trainer.max_epochs", integer=True)
    _positive(cfg, "callbacks.online_probe.lr")
    num_workers = _get(cfg, "datamodule.num_workers")
    if num_workers is not None and (not isinstance(num_workers, int) or num_workers < 0):
        raise ConfigError(f"datamodule.num_workers={num_workers!r}: must be an integer >= 0 (or null for auto)")
    seed = _get(cfg, "seed")
    if not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"seed={seed!r}: must be an integer >= 0")
    resume = _get(cfg, "resume")
    if resume is not None and not isinstance(resume, str):
        raise ConfigError(f"resume={resume!r}: must be 'last', a run directory or a checkpoint path")


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


def check_probe_size(n_probe: int, consumers: list[Any]) -> None:
    """The probe set must be large enough for every callback that measures on it.

    ``consumers`` are objects with an optional ``check_probe_size(n)`` method
    (the information-plane callback checks its estimator's ``min_samples``).
    """
    if n_probe < 2:
        raise ConfigError(f"datamodule.probe_size: the probe set holds {n_probe} sample(s); at least 2 are needed")
    for consumer in consumers:
        check = getattr(consumer, "check_probe_size", None)
        if check is not None:
            check(n_probe)
