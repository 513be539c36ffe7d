"""Binning (histogram plug-in) mutual information."""

from __future__ import annotations

import math
from typing import Any, Literal

import torch
from typing_extensions import override

from ssl_it import checks
from ssl_it.estimators.base import MIEstimator, Pair, YKind, entropy_of_counts, label_entropy
from ssl_it.estimators.pairwise import layer_scale

Strategy = Literal["uniform", "quantile", "layer_std", "absolute"]


def quantise(t: torch.Tensor, n_bins: int, strategy: Strategy = "uniform", bin_width: float = 0.5) -> torch.Tensor:
    """Per-unit bin indices ``(N, d)`` int64.

    ``"uniform"``: ``n_bins`` equal-width bins between each unit's observed min
    and max (never a fixed [-1, 1] that would saturate ReLU units);
    ``"quantile"``: equal-mass bins from each unit's empirical quantiles;
    ``"layer_std"``: bins of width ``bin_width x`` the RMS per-unit std of the
    whole layer, one grid for every unit, anchored at 0 (so a ReLU's zeros
    share one bin and a rescaling of the layer changes nothing);
    ``"absolute"``: bins of width ``bin_width`` in activation units, anchored
    at 0 (the fixed grid of Shwartz-Ziv & Tishby). A constant unit falls in
    a single bin.
    """
    if strategy in ("layer_std", "absolute"):
        width = bin_width * (layer_scale(t, "unit_rms") if strategy == "layer_std" else 1.0)
        codes = torch.floor(t / width)
        return (codes - codes.min(0).values).to(torch.int64)
    if strategy == "uniform":
        lo, hi = t.min(0).values, t.max(0).values
        bin_size = (hi - lo) / n_bins
        safe = torch.where(bin_size > 0, bin_size, torch.ones_like(bin_size))
        codes = torch.floor((t - lo) / safe).clamp_(0, n_bins - 1)
        return torch.where(bin_size > 0, codes, torch.zeros_like(codes)).to(torch.int64)
    probs = torch.linspace(0, 1, n_bins + 1, dtype=t.dtype, device=t.device)[1:-1]
    edges = torch.quantile(t, probs, dim=0).T.contiguous()  # (d, n_bins - 1)
    return torch.searchsorted(edges, t.T.contiguous(), right=True).T.contiguous()


def symbol_ids(codes: torch.Tensor) -> torch.Tensor:
    """Map each row of ``codes`` ``(N, d)`` (or ``(N,)``) to a symbol id ``(N,)``."""
    if codes.ndim == 1:
        return torch.unique(codes, return_inverse=True)[1]
    return torch.unique(codes, dim=0, return_inverse=True)[1]


def plugin_entropy(ids: torch.Tensor, miller_madow: bool = False) -> float:
    """Plug-in entropy ``-sum p log p`` (nats) of symbol ids ``(N,)``.

    With ``miller_madow`` adds ``(m - 1) / (2N)``, m = number of occupied
    symbols (Miller 1955), which removes the first-order downward bias.
    """
    counts = torch.bincount(ids)
    h = float(entropy_of_counts(counts))
    return h + (int((counts > 0).sum()) - 1) / (2.0 * ids.numel()) if miller_madow else h


class BinningMI(MIEstimator):
    """Binning (histogram) plug-in MI: ``I = H(X_b) + H(Y_b) - H(X_b, Y_b)``.

    Each unit of x and y (integer labels are kept as they are) is quantised
    into ``n_bins`` bins whose edges come from the observed range (or
    quantiles) of that unit; a bin pattern across units is one symbol, and
    the three entropies are plug-in (optionally Miller–Madow corrected)
    entropies of the symbols (Shwartz-Ziv & Tishby 2017, arXiv:1703.00810).

    The finite quantity reported (docs/design.md §2): for the information plane,
    ``estimate(x_repr, t)`` with distinct inputs gives
    ``I(X; T_bin) = H(T_bin) <= log N``: the entropy of the quantised
    representation, not the (infinite) MI of the continuous network; and
    ``estimate(t, labels) = I(T_bin; Y) <= H(Y)`` exactly (plug-in). The value
    depends strongly on ``n_bins`` (or ``bin_width``) and saturates at
    log N in high dimension: with d units, even 2 occupied bins per unit
    give 2^d possible patterns, so N distinct inputs fall in N distinct
    patterns once d is more than a few tens.

    Scale: ``"uniform"`` and ``"quantile"`` take each unit's own range
    (invariant to rescaling any unit); ``"layer_std"`` a common width
    relative to the layer's spread (invariant to rescaling the layer);
    ``"absolute"`` fixed activation units. None is rotation-invariant.

    Shapes: x ``(N, dx)``, y ``(N, dy)`` or ``(N,)`` labels. Units: nats.
    Cost: O(N d log N) (a sort of the bin patterns), on the input's device.

    Args:
        n_bins: bins per unit (>= 2).
        strategy: ``"uniform"`` (equal width over each unit's observed
            range: the default, used by the classic tanh/ReLU experiments),
            ``"quantile"`` (equal mass), ``"layer_std"`` or ``"absolute"``
            (fixed width, see :func:`quantise`).
        miller_madow: add the Miller–Madow correction to each entropy.
        seed: unused (binning is deterministic); kept for a uniform interface.
        y_kind: see :class:`~ssl_it.estimators.base.MIEstimator`.
        bin_width: bin width for ``"layer_std"`` (in RMS per-unit stds) and
            ``"absolute"`` (in activation units); unused otherwise.
    """

    name = "binning"
    bound = "plugin"

    def __init__(
        self,
        n_bins: int = 30,
        strategy: Strategy = "uniform",
        miller_madow: bool = False,
        seed: int = 0,
        y_kind: YKind = "auto",
        bin_width: float = 0.5,
    ) -> None:
        super().__init__(seed=seed, y_kind=y_kind)
        checks.integer("n_bins", n_bins, minimum=2)
        checks.choice("strategy", strategy, ("uniform", "quantile", "layer_std", "absolute"))
        checks.positive("bin_width", bin_width)
        self.bin_width = float(bin_width)
        checks.flag("miller_madow", miller_madow)
        self.n_bins = n_bins
        self.strategy: Strategy = strategy
        self.miller_madow = miller_madow

    @override
    def settings(self) -> dict[str, Any]:
        return {
            "n_bins": self.n_bins,
            "strategy": self.strategy,
            "bin_width": self.bin_width,
            "miller_madow": self.miller_madow,
            "seed": self.seed,
            "y_kind": self.y_kind,
        }

    def ceiling(self, n_samples: int, labels: Any | None = None) -> float | None:
        """log N (+ the Miller-Madow term) for a continuous pair; the plug-in H(Y) (+ its term) for labels."""
        if labels is None:
            return math.log(n_samples) + ((n_samples - 1) / (2 * n_samples) if self.miller_madow else 0.0)
        lab = torch.as_tensor(labels)
        h_y = label_entropy(lab)
        occupied = len(torch.unique(lab))
        return h_y + ((occupied - 1) / (2 * n_samples) if self.miller_madow else 0.0)

    def _estimate(self, pair: Pair) -> tuple[float, dict[str, Any]]:
        x_ids = symbol_ids(quantise(pair.x, self.n_bins, self.strategy, self.bin_width))
        y_ids = symbol_ids(pair.y if pair.labels else quantise(pair.y, self.n_bins, self.strategy, self.bin_width))
        joint = symbol_ids(torch.stack([x_ids, y_ids], 1))
        h_x = plugin_entropy(x_ids, self.miller_madow)
        h_y = plugin_entropy(y_ids, self.miller_madow)
        h_xy = plugin_entropy(joint, self.miller_madow)
        diag = {
            "H_x": h_x,
            "H_y": h_y,
            "H_xy": h_xy,
            "occupied_x": int(x_ids.max()) + 1,
            "occupied_y": int(y_ids.max()) + 1,
        }
        return h_x + h_y - h_xy, diag
