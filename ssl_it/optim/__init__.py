"""Optimisation: LARS, parameter groups and learning-rate schedules (pure torch)."""

from ssl_it.optim.lars import LARS
from ssl_it.optim.param_groups import decay_and_no_decay_groups
from ssl_it.optim.schedules import WarmupCosine, warmup_cosine_factor

__all__ = ["LARS", "WarmupCosine", "decay_and_no_decay_groups", "warmup_cosine_factor"]
