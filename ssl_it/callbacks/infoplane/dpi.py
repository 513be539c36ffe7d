"""The data-processing inequality as a self-check of the information plane.

When a tapped layer is a function of another (the projector of the
backbone's output, the backbone's output of one of its stages), nothing can
be learnt about X or Y from the later layer that the earlier one did not
hold: ``I(X;T_down) <= I(X;T_up)`` and ``I(T_down;Y) <= I(T_up;Y)``. A plane
that shows the opposite by more than its bands shows the estimator, not the
network. The check runs on every evaluation:

* ``I(X;T)`` always (point estimates);
* ``I(T;Y)`` only when both numbers are point or plug-in estimates: a lower
  bound above another lower bound contradicts nothing (the upstream bound
  is merely looser), so with the classifier bound it is not checked and
  the row's flag stays empty.

A violation sets ``dpi_XT`` / ``dpi_TY`` to 1 in the downstream row (0 when
checked and consistent), names the upstream layer in ``dpi_upstream``, is
drawn with its own marker, and is warned once per pair and quantity.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pytorch_lightning.utilities import rank_zero_warn

from ssl_it import checks

CHECKED: dict[str, str] = {"I_XT": "XT", "I_TY": "TY"}
POINT_KINDS: tuple[str, ...] = ("point", "plugin")


def layer_pairs(layers: Sequence[str], declared: Sequence[Sequence[str]] | None) -> list[tuple[str, str]]:
    """``(upstream, downstream)`` pairs to check.

    Args:
        layers: the tapped layers.
        declared: ``[[upstream, downstream], ...]`` from ``infoplane.dpi_pairs``;
            ``None`` checks ``backbone -> projector`` when both are tapped
            (the projector reads only the backbone's output).

    Raises:
        ValueError: a declared pair that is not two tapped layers.
    """
    if declared is None:
        return [("backbone", "projector")] if {"backbone", "projector"} <= set(layers) else []
    pairs = []
    for pair in declared:
        if isinstance(pair, str) or len(pair) != 2 or not all(p in layers for p in pair) or pair[0] == pair[1]:
            checks.fail(
                "infoplane.dpi_pairs",
                f"a list of [upstream, downstream] pairs, two different tapped layers of {list(layers)}",
                pair if isinstance(pair, str) else list(pair),
            )
        pairs.append((str(pair[0]), str(pair[1])))
    return pairs


class DataProcessingCheck:
    """Flags downstream rows whose value exceeds the upstream layer's beyond both bands.

    Args:
        pairs: ``(upstream, downstream)`` layer names (:func:`layer_pairs`).
    """

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.pairs = pairs
        self.warned: set[tuple[str, str, str]] = set()

    def check(self, rows: list[dict[str, Any]]) -> list[str]:
        """Set the ``dpi_*`` columns of one evaluation's ``rows``; warn for new violations; return the messages."""
        by_layer = {r["layer"]: r for r in rows}
        messages = []
        for up_name, down_name in self.pairs:
            up, down = by_layer.get(up_name), by_layer.get(down_name)
            if up is None or down is None:
                continue
            down["dpi_upstream"] = up_name
            for q, s in CHECKED.items():
                violated = _violated(up, down, q, s)
                down[f"dpi_{s}"] = None if violated is None else int(violated)
                if violated and (up_name, down_name, q) not in self.warned:
                    self.warned.add((up_name, down_name, q))
                    messages.append(_message(up, down, q))
                    rank_zero_warn(messages[-1])
        return messages


def _violated(up: dict[str, Any], down: dict[str, Any], q: str, s: str) -> bool | None:
    """``down`` above ``up`` beyond both bands; ``None`` when the pair cannot be checked."""
    if any(r.get(f"bound_{s}") not in POINT_KINDS for r in (up, down)):
        return None
    lo, hi = down.get(f"{q}_lo"), up.get(f"{q}_hi")
    if lo is None or hi is None:
        return None
    return bool(lo > hi)


def _message(up: dict[str, Any], down: dict[str, Any], q: str) -> str:
    label = {"I_XT": "I(X;T)", "I_TY": "I(T;Y)"}[q]
    return (
        f"infoplane: layer '{down['layer']}' is a function of '{up['layer']}', so its {label} cannot exceed "
        f"the upstream one's, but at step {down['step']} it reads {down[q]:.3f} [{down[f'{q}_lo']:.3f}, "
        f"{down[f'{q}_hi']:.3f}] against {up[q]:.3f} [{up[f'{q}_lo']:.3f}, {up[f'{q}_hi']:.3f}] nats. The "
        f"estimator, not the network, sets this gap: compare these layers with care (dpi_* in infoplane.csv; "
        f"warned once per pair and quantity; docs/design.md §8)."
    )
