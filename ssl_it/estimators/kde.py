"""Gaussian-noise KDE (pairwise-distance) mutual information."""

from __future__ import annotations

import math
from typing import Any

import torch
from typing_extensions import override

from ssl_it import checks
from ssl_it.estimators.base import MIEstimator, Pair, YKind
from ssl_it.estimators.pairwise import Scale, layer_scale, row_chunks, sq_dists


def mixture_entropy_bounds(
    t: torch.Tensor, noise_var: float, groups: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """Pairwise-distance bounds on the entropy of ``T + N(0, s^2 I)`` minus the noise entropy.

    For the mixture ``p = 1/N sum_i N(t_i, s^2 I)`` (Kolchinsky & Tracey 2017,
    arXiv:1706.02419), with ``D_ij = ||t_i - t_j||^2``::

        H(p) - H(N(0, s^2 I)) <= -1/N sum_i log 1/N sum_j exp(-D_ij / (2 s^2))   (KL)
        H(p) - H(N(0, s^2 I)) >= -1/N sum_i log 1/N sum_j exp(-D_ij / (8 s^2))   (Bhattacharyya)

    Computed in row chunks (no ``(N, N)`` matrix). With ``groups`` ``(N,)``
    the same pass also gives the per-group terms (inner sums over j in i's
    group only), used for ``H(T_s | Y)``.

    Returns:
        ``(upper, lower, upper_within, lower_within)``: per-sample terms ``(N,)``
        whose means are the bounds; the last two are ``None`` without groups.
    """
    n = t.shape[0]
    upper, lower = torch.empty(n, dtype=t.dtype, device=t.device), torch.empty(n, dtype=t.dtype, device=t.device)
    up_in = torch.empty_like(upper) if groups is not None else None
    lo_in = torch.empty_like(upper) if groups is not None else None
    log_n = math.log(n)
    log_size = torch.bincount(groups).to(t.dtype).log()[groups] if groups is not None else None
    for rows in row_chunks(n, n, n_blocks=3):
        d2 = sq_dists(t[rows], t)  # (chunk, N)
        upper[rows] = log_n - torch.logsumexp(-d2 / (2 * noise_var), 1)
        lower[rows] = log_n - torch.logsumexp(-d2 / (8 * noise_var), 1)
        if groups is not None:
            assert up_in is not None and lo_in is not None and log_size is not None
            d2 = d2.masked_fill_(groups[rows, None] != groups[None, :], math.inf)
            up_in[rows] = log_size[rows] - torch.logsumexp(-d2 / (2 * noise_var), 1)
            lo_in[rows] = log_size[rows] - torch.logsumexp(-d2 / (8 * noise_var), 1)
    return upper, lower, up_in, lo_in


class KDEMI(MIEstimator):
    """KDE / pairwise-distance estimate of the MI of a noisy representation.

    The finite quantity reported (docs/design.md §2; Saxe et al. 2018,
    arXiv:1801.09668; Kolchinsky & Tracey 2017, arXiv:1706.02419): the
    continuous representation gets additive noise ``T_s = T + N(0, s^2 I)``,
    ``s^2 = noise_var``, and

    * continuous ``y`` (the information-plane call ``estimate(x_repr, t)``):
      ``y`` is T, assumed a deterministic function of distinct inputs x, so
      ``I(X; T_s) = H(T_s) - H(T_s | X) = H(T_s) - d/2 log(2 pi e s^2)``,
      reported with the KL pairwise *upper* bound on ``H(T_s)``; x is used
      only to align the samples. This is not a general MI estimator between
      two noisy variables. Ceiling: log N.
    * labels ``y`` (``estimate(t, labels)``): ``x`` is T and
      ``I(T_s; Y) = H(T_s) - sum_c p_c H(T_s | Y=c)``, each entropy by its KL
      upper bound; a difference of bounds is not itself a bound, but it never
      exceeds the plug-in ``H(Y)``.

    The Bhattacharyya lower bound of the same quantity is in
    ``diagnostics["lower"]``. The value depends on ``noise_var`` relative to
    the scale of T, set by ``scale``:

    * ``"absolute"``: raw activations, ``s^2 = noise_var`` (Saxe et al.'s
      setting; the value then moves with any rescaling of the layer, which
      training does by orders of magnitude);
    * ``"unit_rms"``: T divided by the RMS of its per-unit std first, so
      ``s^2`` is a fraction of the mean per-unit variance;
    * ``"total"``: T divided by ``sqrt(tr Cov T)`` first, so ``s^2`` is a
      fraction of the total variance: a signal-to-noise ratio
      ``1 / noise_var`` that does not grow with the width d.

    The two relative modes are exactly invariant to rescaling and rotation
    of T (not to general linear maps). The divisor is in
    ``diagnostics["scale"]``.

    Shapes: x ``(N, dx)``, y ``(N, dy)`` or ``(N,)`` labels. Units: nats.
    Cost: O(N^2 d) time, O(chunk * N) memory, on the input's device.

    Ceiling: log N (continuous pair), the plug-in H(Y) (labels).

    Args:
        noise_var: variance ``s^2`` of the added Gaussian noise (> 0), in
            the units chosen by ``scale``.
        seed: unused (deterministic); kept for a uniform interface.
        y_kind: see :class:`~ssl_it.estimators.base.MIEstimator`.
        scale: ``"absolute"`` (default, Saxe et al.), ``"unit_rms"`` or
            ``"total"``; see above.
    """

    name = "kde"
    bound = "upper"

    def __init__(
        self, noise_var: float = 0.1, seed: int = 0, y_kind: YKind = "auto", scale: Scale = "absolute"
    ) -> None:
        super().__init__(seed=seed, y_kind=y_kind)
        checks.positive("noise_var", noise_var)
        checks.choice("scale", scale, ("absolute", "unit_rms", "total"))
        self.noise_var = float(noise_var)
        self.scale: Scale = scale

    @override
    def settings(self) -> dict[str, Any]:
        return {"noise_var": self.noise_var, "scale": self.scale, "seed": self.seed, "y_kind": self.y_kind}

    @override
    def ceiling(self, n_samples: int, labels: Any | None = None) -> float | None:
        return math.log(n_samples) if labels is None else super().ceiling(n_samples, labels)

    def _estimate(self, pair: Pair) -> tuple[float, dict[str, Any]]:
        t = pair.x if pair.labels else pair.y
        divisor = layer_scale(t, self.scale)
        t = t / divisor
        if not pair.labels:
            upper, lower, _, _ = mixture_entropy_bounds(t, self.noise_var)
            return float(upper.mean()), {"lower": float(lower.mean()), "quantity": "I(X;Y+noise)", "scale": divisor}
        groups = torch.unique(pair.y, return_inverse=True)[1]
        up_all, lo_all, up_cond, lo_cond = mixture_entropy_bounds(t, self.noise_var, groups)
        assert up_cond is not None and lo_cond is not None
        diag = {
            "lower": float((lo_all - lo_cond).mean()),
            "quantity": "I(X+noise;Y)",
            "H_upper_minus_noise": float(up_all.mean()),
            "scale": divisor,
        }
        return float((up_all - up_cond).mean()), diag
