"""SSL objectives: heads + losses of each family (pure torch)."""

from ssl_it.objectives.base import Objective

__all__ = ["Objective"]
