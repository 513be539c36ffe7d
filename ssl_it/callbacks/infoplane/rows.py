"""Rows of the information-plane trajectory: ceilings, saturation, warnings.

Every quantity has a ceiling on the probe set (docs/design.md §3):

* ``I(X;T) <= H(X)``: ``log N`` for N distinct probe inputs (the probe set
  is the distribution X is drawn from);
* ``I(T;Y) <= H(Y)`` of the probe labels;
* ``I(Z1;Z2) <= H(X)``: the two views are drawn independently given the
  sample, so ``Z1 - X - Z2`` is a Markov chain and
  ``I(Z1;Z2) <= I(X;Z2) <= H(X)``;

and an estimator may have a lower one of its own (``MIEstimate.ceiling``:
InfoNCE ``log(batch)``; binning and KDE ``log N``). The row's ceiling is
the smaller of the two, and a value within ``tolerance`` (2 %) of it is
flagged ``saturated``: such a point shows the estimator's limit, not the
layer. :class:`SaturationWarnings` says so once per layer and quantity,
with what would lift the ceiling.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

from pytorch_lightning.utilities import rank_zero_warn

from ssl_it import checks
from ssl_it.estimators import Band, MIEstimate, MIEstimator
from ssl_it.estimators.bands import TRANSFORMS

QUANTITIES: dict[str, str] = {"I_XT": "XT", "I_TY": "TY", "I_Z1Z2": "Z1Z2"}  # quantity -> column suffix
LABELS = {"I_XT": "I(X;T)", "I_TY": "I(T;Y)", "I_Z1Z2": "I(Z1;Z2)"}
BAND_SUFFIXES: tuple[str, ...] = ("lo", "hi", "sd", "spread", "bias", "level_hi")
"""Band columns of each quantity: ``I_XT_lo`` ... (``ssl_it.estimators.bands``)."""
CeilingSource = Literal["H_X", "H_Y", "estimator"]


@dataclass(frozen=True)
class Ceiling:
    """The largest value a quantity can take on this probe set with this
    estimator, and which limit sets it."""

    value: float
    source: CeilingSource


def ceiling_of(quantity: str, estimate: MIEstimate, h_x: float, h_y: float) -> Ceiling:
    """``min(quantity bound, estimator's ceiling)`` for ``quantity`` in :data:`QUANTITIES`."""
    bound, source = (h_y, "H_Y") if quantity == "I_TY" else (h_x, "H_X")
    if estimate.ceiling is not None and estimate.ceiling < bound:
        return Ceiling(float(estimate.ceiling), "estimator")
    return Ceiling(float(bound), source)  # type: ignore[arg-type]


def is_saturated(value: float, ceiling: float, tolerance: float) -> bool:
    """``value >= (1 - tolerance) * ceiling`` (a zero ceiling leaves nothing
    to measure, so any finite value is saturated); NaN is not saturated."""
    if not math.isfinite(value):
        return False
    return ceiling <= 0 or value >= (1.0 - tolerance) * ceiling


def quantity_columns(
    quantity: str,
    estimate: MIEstimate,
    estimator: MIEstimator,
    ceiling: Ceiling,
    tolerance: float,
    band: Band | None = None,
) -> dict[str, Any]:
    """``{I_XT, estimator_XT, bound_XT, ceiling_XT, saturated_XT}`` (suffix per quantity), with a band
    ``{I_XT_lo, I_XT_hi, I_XT_sd, I_XT_spread, I_XT_bias, I_XT_level_hi}`` (:data:`BAND_SUFFIXES`), and for a label
    bound with a non-linear probe ``I_TY_linear``, ``I_TY_nonlinear`` and ``nonlinear_gap_TY``; for a
    principal-axis reduction ``kept_share_XT`` (the smaller side's
    :meth:`~ssl_it.estimators.PCAReducedMI.kept_share`)."""
    s = QUANTITIES[quantity]
    out = {
        quantity: estimate.value,
        f"estimator_{s}": estimator.name,
        f"bound_{s}": estimate.bound,
        f"ceiling_{s}": ceiling.value,
        f"saturated_{s}": int(is_saturated(estimate.value, ceiling.value, tolerance)),
    }
    if band is not None:
        out.update(
            {
                f"{quantity}_lo": band.lo,
                f"{quantity}_hi": band.hi,
                f"{quantity}_sd": band.sampling_sd,
                f"{quantity}_spread": band.invariance_spread,
                f"{quantity}_bias": band.bias_allowance,
                f"{quantity}_level_hi": band.level_hi,
            }
        )
    kept_share = estimate.diagnostics.get("kept_share")
    if kept_share is not None:
        out[f"kept_share_{s}"] = kept_share
    linear, nonlinear = estimate.diagnostics.get("I_linear"), estimate.diagnostics.get("I_nonlinear")
    if linear is not None and nonlinear is not None:
        out.update(
            {f"{quantity}_linear": linear, f"{quantity}_nonlinear": nonlinear, f"nonlinear_gap_{s}": nonlinear - linear}
        )
    return out


def summary_columns(used: Mapping[str, MIEstimator]) -> dict[str, Any]:
    """``estimator`` and ``bound``: the one name and bound kind when every
    quantity of the row uses the same, else the distinct ones joined by ``+``
    in quantity order; ``settings``: JSON ``{quantity: settings}``."""
    names = list(dict.fromkeys(e.name for e in used.values()))
    bounds = list(dict.fromkeys(e.bound for e in used.values()))
    settings = {q: e.settings() for q, e in used.items()}
    return {
        "estimator": "+".join(names),
        "bound": "+".join(bounds),
        "settings": json.dumps(settings, sort_keys=True, default=str),
    }


def per_quantity(estimator: MIEstimator | Mapping[str, MIEstimator], need_views: bool) -> dict[str, MIEstimator]:
    """``{quantity: estimator}`` from one estimator (used for every quantity)
    or a mapping with keys ``I_XT``, ``I_TY`` (and ``I_Z1Z2`` when the views
    are measured). Raises ``ValueError`` naming ``estimator.<key>``."""
    if not isinstance(estimator, Mapping):
        if estimator.labels_only:
            raise ValueError(
                f"estimator: '{estimator.name}' estimates I(T;Y) from class labels only and cannot serve I(X;T) "
                f"or I(Z1;Z2); use it for one quantity: estimator=calibrated estimator@estimator.I_TY={estimator.name}"
            )
        return {q: estimator for q in QUANTITIES}
    unknown = sorted(set(estimator) - set(QUANTITIES))
    if unknown:
        raise ValueError(
            f"estimator: unknown key(s) {unknown}; a per-quantity estimator config holds only "
            f"{list(QUANTITIES)}, each a node with a _target_ (or use one estimator for all: estimator=kde)"
        )
    needed = ["I_XT", "I_TY"] + (["I_Z1Z2"] if need_views else [])
    for q in needed:
        if q not in estimator:
            raise ValueError(f"estimator.{q}: missing; the per-quantity form needs {needed}")
        if not hasattr(estimator[q], "estimate_with_info"):
            raise ValueError(f"estimator.{q}: must be an MI estimator node with a _target_, got {estimator[q]!r}")
        if q != "I_TY" and estimator[q].labels_only:
            raise ValueError(
                f"estimator.{q}: '{estimator[q].name}' estimates I(T;Y) from class labels only; "
                f"{q} needs a continuous-pair estimator (e.g. pca_ksg, ksg, kde)"
            )
    return {q: estimator[q] for q in QUANTITIES if q in estimator}


def lift_advice(quantity: str, ceiling: Ceiling, estimator: MIEstimator, config_key: str, n_probe: int) -> str:
    """What would lift ``ceiling``: a sentence for the saturation warning."""
    name = estimator.name
    if ceiling.source == "estimator":
        if name == "infonce":
            return (
                f"InfoNCE cannot report more than log(batch) = {ceiling.value:.3f} nats: raise "
                f"{config_key}.batch_size or use another estimator for {LABELS[quantity]}"
            )
        return (
            f"the {name} estimator cannot report more: choose another estimator for {LABELS[quantity]} ({config_key})"
        )
    if ceiling.source == "H_Y":
        what = "the layer determines the probe labels as far as this estimator can tell"
        fix = {
            "binning": f"with {name}, every sample in a bin of its own also gives this: "
            f"fewer bins ({config_key}.n_bins)",
            "kde": f"with {name}, kernels narrower than the layer's spread also give this: a scale-free noise "
            f"setting or a larger {config_key}.noise_var",
        }.get(name, f"a held-out classifier bound on {LABELS[quantity]} would tell a real fit from an artefact")
        return f"{what}; {fix}"
    fix = f"a larger probe set (datamodule.probe_size, now {n_probe}, up to 8,192) raises log N"
    if name == "binning":
        fix += f"; an injective layer fills one bin per sample: fewer bins ({config_key}.n_bins)"
    elif name == "kde":
        fix += (
            f"; kernels narrower than the layer's spread put every sample on its own: a scale-free "
            f"noise setting or a larger {config_key}.noise_var"
        )
    elif name == "renyi":
        fix += f"; a wider kernel ({config_key}.kernel_width)"
    return fix


class SaturationWarnings:
    """Warns once per (layer, quantity) when a value reaches its ceiling.

    Args:
        estimators: ``{quantity: estimator}`` as used.
        config_keys: ``{quantity: config key of its estimator}``
            (``estimator`` or ``estimator.I_TY``...), named in the advice.
        tolerance: the saturation tolerance (0.02 = within 2 %).
    """

    def __init__(self, estimators: Mapping[str, MIEstimator], config_keys: Mapping[str, str], tolerance: float) -> None:
        self.estimators = estimators
        self.config_keys = config_keys
        self.tolerance = tolerance
        self.warned: set[tuple[str, str]] = set()

    def check(self, rows: list[dict[str, Any]]) -> list[str]:
        """Warn for each newly saturated (layer, quantity) of ``rows``; return the messages."""
        messages = []
        for row in rows:
            for q, s in QUANTITIES.items():
                if not row.get(f"saturated_{s}") or (row["layer"], q) in self.warned:
                    continue
                self.warned.add((row["layer"], q))
                messages.append(self._message(row, q, s))
                rank_zero_warn(messages[-1])
        return messages

    def _message(self, row: dict[str, Any], q: str, s: str) -> str:
        quantity_bound: CeilingSource = "H_Y" if q == "I_TY" else "H_X"
        value = float(row[f"ceiling_{s}"])
        ceiling = Ceiling(value, "estimator" if value < row[quantity_bound] - 1e-12 else quantity_bound)
        source = ceiling.source
        limit = {
            "H_X": f"log N of the {row['n_probe']} probe inputs"
            if abs(row["H_X"] - row["log_n"]) < 1e-9
            else "H(X) of the probe inputs",
            "H_Y": "H(Y) of the probe labels",
            "estimator": f"the {row[f'estimator_{s}']} estimator's own ceiling",
        }[source]
        advice = lift_advice(q, ceiling, self.estimators[q], self.config_keys[q], int(row["n_probe"]))
        return (
            f"infoplane: layer '{row['layer']}': {LABELS[q]} = {row[q]:.3f} nats at step {row['step']} is within "
            f"{100 * self.tolerance:g} % of its ceiling {ceiling.value:.3f} ({limit}); such points are drawn "
            f"hollow and say nothing about the layer. To lift the ceiling: {advice}. "
            f"(Warned once per layer and quantity; see docs/design.md §3.)"
        )


BAND_TRANSFORMS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"I_XT": TRANSFORMS, "I_TY": ("rotation", "unit_scale"), "I_Z1Z2": ("rotation", "unit_scale")}
)
"""The invariance spread's maps per quantity, as in ``configs/infoplane/default.yaml``: the copula for I(X;T) only,
which keeps the callback within its share of the run (docs/design.md §8)."""


def transforms_per_quantity(transforms: Sequence[str] | Mapping[str, Sequence[str]]) -> dict[str, tuple[str, ...]]:
    """``{quantity: maps}`` of the bands' invariance spread, from ``infoplane.band_transforms``: one list for
    every quantity, or a mapping from quantities (:data:`QUANTITIES`) to lists, where a quantity left out gets
    every map of :data:`~ssl_it.estimators.bands.TRANSFORMS` (each name is checked by the band settings)."""
    key = "infoplane.band_transforms"
    if isinstance(transforms, Mapping):
        unknown = sorted(set(transforms) - set(QUANTITIES))
        if unknown:
            checks.fail(key, f"a list of maps, or a mapping from {list(QUANTITIES)} to lists of maps", unknown)
        return {q: _transform_list(f"{key}.{q}", transforms.get(q, TRANSFORMS)) for q in QUANTITIES}
    chosen = _transform_list(key, transforms)
    return {q: chosen for q in QUANTITIES}


def _transform_list(key: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        checks.fail(key, f"a list of maps among {list(TRANSFORMS)}", value)
    return tuple(value)
