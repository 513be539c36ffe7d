"""Hydra's sweep syntax as Optuna distributions.

``hydra.sweeper.params`` (and ``-m`` command-line overrides) use Hydra's
override grammar; each sweep becomes one distribution:

=====================================  =============================================
``choice(a, b, c)``                    ``CategoricalDistribution([a, b, c])``
``interval(lo, hi)``                   ``FloatDistribution(lo, hi)`` (Hydra's intervals are floats)
``tag(log, interval(lo, hi))``         the same on a log scale
``tag(int, interval(lo, hi))``         ``IntDistribution(lo, hi)`` (``tag(int, log, ...)``: log scale)
``range(start, stop, step)``           the values of Python's ``range`` (stop excluded),
                                       as an ``IntDistribution``/``FloatDistribution`` with ``step``
``shuffle(...)`` of a range            ``CategoricalDistribution`` of its values
a plain value (``trainer.max_epochs=3``)  fixed: passed to every trial unchanged
=====================================  =============================================
"""

from __future__ import annotations

from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import IntervalSweep, Override, RangeSweep, Transformer
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution


def distribution(override: Override) -> BaseDistribution:
    """The Optuna distribution of one sweep override (see the module docstring)."""
    key = override.get_key_element()
    value = override.value()
    if override.is_choice_sweep() or (isinstance(value, RangeSweep) and value.shuffle):
        return CategoricalDistribution(list(override.sweep_iterator(transformer=Transformer.encode)))
    if isinstance(value, RangeSweep):
        values = list(override.sweep_iterator(transformer=Transformer.encode))
        if not values:
            raise ValueError(f"hydra.sweeper.params.{key}: the range({value.start}, {value.stop}) is empty")
        if all(isinstance(v, int) for v in values):
            return IntDistribution(values[0], values[-1], step=int(value.step or 1))
        return FloatDistribution(float(values[0]), float(values[-1]), step=float(value.step or 1))
    if isinstance(value, IntervalSweep):
        assert value.start is not None and value.end is not None
        log = "log" in value.tags
        if "int" in value.tags:
            return IntDistribution(int(value.start), int(value.end), log=log)
        return FloatDistribution(float(value.start), float(value.end), log=log)
    raise ValueError(
        f"hydra.sweeper.params.{key}: not a sweep Optuna can sample (choice, range, interval, "
        f"tag(log, interval), tag(int, interval))"
    )


def search_space(params: dict[str, str], arguments: list[str]) -> tuple[dict[str, BaseDistribution], list[str]]:
    """``(distributions by key, fixed overrides)`` from the sweeper's
    ``params`` and the command line's overrides (which win over ``params``)."""
    merged: dict[str, str] = {str(k): f"{k}={v}" for k, v in params.items()}
    for argument in arguments:
        merged[OverridesParser.create().parse_override(argument).get_key_element()] = argument
    space: dict[str, BaseDistribution] = {}
    fixed: list[str] = []
    for text in merged.values():
        override = OverridesParser.create().parse_override(text)
        if override.is_sweep_override():
            space[override.get_key_element()] = distribution(override)
        else:
            fixed.append(text)
    return space, fixed


def trial_overrides(params: dict[str, Any], fixed: list[str]) -> list[str]:
    """A trial's command line: its sampled values, then the fixed overrides."""
    return [f"{key}={value}" for key, value in params.items()] + fixed
