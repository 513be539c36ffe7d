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
    _positive(cfg, "probe.lr")
    num_workers = _get(cfg, "datamodule.num_workers")
    if num_workers is not None and (not isinstance(num_workers, int) or num_workers < 0):
        raise ConfigError(f"datamodule.num_workers={num_workers!r}: must be an integer >= 0 (or null for auto)")
    seed = _get(cfg, "seed")
    if not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"seed={seed!r}: must be an integer >= 0")
    resume = _get(cfg, "resume")
    if resume is not None and not isinstance(resume, str):
        raise ConfigError(f"resume={resume!r}: must be 'last', a run directory or a checkpoint path")
