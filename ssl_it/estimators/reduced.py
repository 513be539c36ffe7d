"""Any estimator applied to the top principal components of each side (high-dimensional pairs)."""

from __future__ import annotations

from typing import Any

import torch

from ssl_it import checks
from ssl_it.estimators.base import BoundKind, MIEstimator, Pair, YKind
from ssl_it.estimators.reduction import principal_scores


class PCAReducedMI(MIEstimator):
    """``I(P_x X; P_y Y)`` with ``P`` the projection on each side's top ``dim`` principal axes, whitened.

    Built for the information plane's continuous pairs, ``I(X;T)`` between a
    64-d projection of the input and a 64-2,048 wide layer, and ``I(Z1;Z2)``
    between two views' embeddings: k-NN and density estimators fail there
    (KSG's bias grows with the ambient dimension, KDE and binning reach
    log N, the Gaussian log-det overfits), while the dependence of interest
    usually lives in a few directions. Each side is centred and replaced by
    its coordinates on its top ``dim`` principal axes (axes with less than
    1e-9 of the top variance are dropped, so a rank-k embedding gives k
    columns), each scaled to unit variance; the inner ``estimator`` (KSG
    with the Euclidean metric in ``configs/estimator/pca_ksg.yaml``) then
    sees at most ``dim + dim`` dimensions. With labels only x is reduced.

    What it reports: by the data-processing inequality
    ``I(P_x X; P_y Y) <= I(X;Y)``, so for a consistent inner estimator the
    target is a lower bound of the MI, exact when the dependence is carried
    by the kept axes (a Gaussian channel of k <= dim latent dimensions,
    embedded linearly or by an injective map whose leading principal axes
    span the latent directions). The axes come from each side alone, never
    from the pair, so they cannot manufacture dependence. A discussion of
    the same idea with learned rather than principal axes: latent MI, Gowri,
    Lun, Klein & Yin 2024 (NeurIPS, arXiv:2409.02732).

    Invariances: exact under rescaling of either side and (exact PCA path)
    under rotations (the scores change by column signs, which Euclidean and
    max-norm distances ignore); not under general invertible linear maps,
    which change the principal axes.

    Ceiling and bound: the inner estimator's (``psi(N) - psi(k)`` for KSG).

    Shapes: x ``(N, dx)``, y ``(N, dy)`` or ``(N,)`` labels. Units: nats.
    Cost: a randomised PCA per side, O(N d (dim + 10)), then the inner
    estimator on ``dim``-wide inputs.

    Args:
        estimator: the inner estimator (any :class:`MIEstimator`).
        dim: principal axes kept per side (>= 1).
        seed: seed of the randomised PCA.
        y_kind: see :class:`~ssl_it.estimators.base.MIEstimator`.
    """

    bound: BoundKind = "point"

    def __init__(self, estimator: MIEstimator, dim: int = 16, seed: int = 0, y_kind: YKind = "auto") -> None:
        super().__init__(seed=seed, y_kind=y_kind)
        if not isinstance(estimator, MIEstimator):
            raise ValueError(f"estimator must be an MIEstimator, got {type(estimator).__name__}")
        checks.integer("dim", dim)
        self.estimator, self.dim = estimator, dim
        self.name = f"pca_{estimator.name}"
        self.bound = estimator.bound

    @property
    def min_samples(self) -> int:
        return max(3, self.estimator.min_samples)

    def settings(self) -> dict[str, Any]:
        return {"dim": self.dim, "seed": self.seed, "y_kind": self.y_kind,
                "estimator": {"name": self.estimator.name, **self.estimator.settings()}}

    def ceiling(self, n_samples: int, labels: Any | None = None) -> float | None:
        return self.estimator.ceiling(n_samples, labels)

    def _whitened(self, t: torch.Tensor, offset: int) -> torch.Tensor:
        if t.shape[1] > self.dim:
            scores, var = principal_scores(t, self.dim, self.seed + offset)
        else:
            scores, var = principal_scores(t, t.shape[1], self.seed + offset)
        if scores.shape[1] == 0:  # a constant side carries no information
            return torch.zeros(t.shape[0], 1, dtype=t.dtype, device=t.device)
        return scores / var.sqrt()

    def _estimate(self, pair: Pair) -> tuple[float, dict[str, Any]]:
        x = self._whitened(pair.x, 0)
        y = pair.y if pair.labels else self._whitened(pair.y, 1)
        info = self.estimator.estimate_with_info(x, y)
        dims = [int(x.shape[1])] + ([] if pair.labels else [int(y.shape[1])])
        return info.value, {"dims": dims, **info.diagnostics}
