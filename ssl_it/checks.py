"""Argument checks shared by every part of the package: one rule and one
wording per kind of value.

Each check takes the name to report (a constructor argument such as
``temperature``, or a config key such as ``augmentation.flip_prob``) and the
value, returns the value in its checked form, and otherwise raises
:class:`InvalidValue`, a ``ValueError`` reading ``<key>: must be <allowed>;
got <value>``. Config-level checks reword it as ``<key>=<value>: must be
<allowed>`` from the exception's fields. Numbers must be real and finite;
``bool`` is never taken for a number.

This module imports nothing but the standard library, so that every layer
can use it.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any, NoReturn, TypeGuard, TypeVar

_T = TypeVar("_T")


class InvalidValue(ValueError):
    """A value outside what is allowed.

    Attributes:
        key: the argument or config key.
        allowed: what the key accepts, e.g. ``"a number > 0"``.
        value: the value that was given.
    """

    def __init__(self, key: str, allowed: str, value: Any) -> None:
        super().__init__(f"{key}: must be {allowed}; got {value!r}")
        self.key, self.allowed, self.value = key, allowed, value


def fail(key: str, allowed: str, value: Any) -> NoReturn:
    """Raise :class:`InvalidValue` for ``key``."""
    raise InvalidValue(key, allowed, value)


def is_number(value: Any) -> TypeGuard[float]:
    """A finite real number (``bool`` excluded); type checkers then read ``value`` as a number."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def is_integer(value: Any) -> TypeGuard[int]:
    """An integer (``bool`` excluded); type checkers then read ``value`` as an ``int``."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def number(
    key: str,
    value: float,
    low: float = -math.inf,
    high: float = math.inf,
    *,
    open_low: bool = False,
    open_high: bool = False,
) -> float:
    """A finite number in ``[low, high]`` (ends open where asked)."""
    ok = is_number(value) and (value > low if open_low else value >= low)
    if not (ok and (value < high if open_high else value <= high)):
        fail(key, "a number " + _bounds(low, high, open_low, open_high), value)
    return value


def _bounds(low: float, high: float, open_low: bool, open_high: bool) -> str:
    if high == math.inf:
        return f"{'>' if open_low else '>='} {low:g}"
    if low == -math.inf:
        return f"{'<' if open_high else '<='} {high:g}"
    return f"in {'(' if open_low else '['}{low:g}, {high:g}{')' if open_high else ']'}"


def positive(key: str, value: float, *, allow_zero: bool = False) -> float:
    """A finite number ``> 0`` (``>= 0`` with ``allow_zero``)."""
    return number(key, value, 0.0, open_low=not allow_zero)


def integer(key: str, value: int, minimum: int = 1) -> int:
    """An integer ``>= minimum``."""
    if not (is_integer(value) and value >= minimum):
        fail(key, f"an integer >= {minimum}", value)
    return value


def probability(key: str, value: float) -> float:
    """A probability in ``[0, 1]``, returned as a float."""
    if not (is_number(value) and 0.0 <= value <= 1.0):
        fail(key, "a probability in [0, 1]", value)
    return float(value)


def choice(key: str, value: _T, allowed: Sequence[_T]) -> _T:
    """One of ``allowed``."""
    if value not in allowed:
        fail(key, "one of " + ", ".join(str(a) for a in allowed), value)
    return value


def flag(key: str, value: bool) -> bool:
    """``True`` or ``False`` (not 0 or 1)."""
    if not isinstance(value, bool):
        fail(key, "true or false", value)
    return value


def _is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def probabilities(key: str, value: Sequence[float]) -> tuple[float, ...]:
    """A non-empty list of probabilities in ``[0, 1]`` (a Hydra ``ListConfig`` is fine)."""
    if not _is_list(value) or not value or not all(is_number(v) and 0.0 <= v <= 1.0 for v in value):
        fail(key, "a non-empty list of probabilities in [0, 1]", value)
    return tuple(float(v) for v in value)


def widths(key: str, value: Sequence[int], *, allow_empty: bool = True) -> list[int]:
    """A list of positive integers (layer widths, channel counts), as a plain ``list[int]``."""
    ok = _is_list(value) and all(is_integer(v) and v >= 1 for v in value)
    if not ok or (not allow_empty and not value):
        fail(key, "a " + ("" if allow_empty else "non-empty ") + "list of positive integers", value)
    return [int(v) for v in value]


def value_range(
    key: str, value: Sequence[float], low: float = -math.inf, high: float = math.inf, *, open_low: bool = False
) -> tuple[float, float]:
    """A pair ``[a, b]`` of numbers with ``low <= a <= b <= high`` (``low < a`` with ``open_low``)."""
    pair = tuple(value) if _is_list(value) else ()
    if len(pair) != 2 or not all(is_number(v) for v in pair):
        fail(key, "a pair [low, high] of numbers", value)
    a, b = float(pair[0]), float(pair[1])
    if not ((a > low if open_low else a >= low) and a <= b <= high):
        lo = "" if low == -math.inf else f"{low:g} {'<' if open_low else '<='} "
        hi = "" if high == math.inf else f" <= {high:g}"
        fail(key, f"a pair with {lo}low <= high{hi}", list(pair))
    return a, b
