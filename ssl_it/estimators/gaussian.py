"""Gaussian (log-determinant) mutual information with covariance shrinkage."""

from __future__ import annotations

import math
from typing import Any

import torch

from ssl_it.estimators.base import MIEstimator, Pair, YKind
from ssl_it.estimators.pairwise import standardize

Shrinkage = float | str


def check_shrinkage(shrinkage: Shrinkage) -> None:
    """``shrinkage`` must be ``"ledoit_wolf"`` or a number in [0, 1]."""
    if isinstance(shrinkage, str):
        if shrinkage != "ledoit_wolf":
            raise ValueError(f"shrinkage must be 'ledoit_wolf' or a number in [0, 1], got {shrinkage!r}")
    elif isinstance(shrinkage, bool) or not isinstance(shrinkage, (int, float)) or not 0 <= shrinkage <= 1:
        raise ValueError(f"shrinkage must be 'ledoit_wolf' or a number in [0, 1], got {shrinkage!r}")


def shrunk_covariance(z: torch.Tensor, shrinkage: Shrinkage = "ledoit_wolf") -> tuple[torch.Tensor, float]:
    """Covariance of ``z`` ``(N, d)`` shrunk towards ``mu I`` (``mu`` = mean variance).

    ``S_shrunk = (1 - a) S + a mu I``; with ``"ledoit_wolf"`` the intensity
    ``a = min(b^2, d^2) / d^2`` is the Ledoit & Wolf (2004, J. Multivariate
    Anal. 88:365) estimate, ``d^2 = ||S - mu I||_F^2``,
    ``b^2 = (mean_n ||z_n||^4 - ||S||_F^2) / N``, which keeps the log-det
    finite and less biased when N is close to d.

    Returns:
        ``(covariance (d, d), intensity a)``.
    """
    n, d = z.shape
    zc = z - z.mean(0, keepdim=True)
    s = zc.T @ zc / n
    mu = float(torch.diagonal(s).mean())
    if isinstance(shrinkage, str):
        a = ledoit_wolf_intensity(zc, s, mu)
    else:
        a = float(shrinkage)
    eye = torch.eye(d, dtype=s.dtype, device=s.device)
    return (1 - a) * s + a * mu * eye, a


def ledoit_wolf_intensity(zc: torch.Tensor, s_or_eigenvalues: torch.Tensor, mu: float) -> float:
    """Ledoit–Wolf intensity ``min(b^2, d^2) / d^2`` for centred ``zc`` ``(N, d)``.

    ``s_or_eigenvalues`` is the covariance ``S`` (d x d) or its non-zero
    eigenvalues (1-D): ``||S||_F^2 = sum lambda^2`` and
    ``||S - mu I||_F^2 = ||S||_F^2 - 2 mu tr S + d mu^2``, so both give the
    same intensity.
    """
    n, d = zc.shape
    frob2 = float((s_or_eigenvalues**2).sum())  # same for S and for its spectrum
    d2 = frob2 - d * mu * mu
    b2 = (float((zc.pow(2).sum(1) ** 2).mean()) - frob2) / n
    return 0.0 if d2 <= 0 else min(max(b2, 0.0), d2) / d2


def gaussian_log_densities(t: torch.Tensor, labels: torch.Tensor, shrinkage: Shrinkage) -> torch.Tensor:
    """``log N(t_i; mu_c, Sigma_c)`` for every sample i and class c: ``(N, C)``."""
    classes = torch.unique(labels)
    out = torch.empty(t.shape[0], len(classes), dtype=t.dtype, device=t.device)
    d = t.shape[1]
    for j, c in enumerate(classes):
        members = t[labels == c]
        if members.shape[0] < 2:
            raise ValueError(f"class {int(c)} of y has a single sample; the Gaussian estimator needs >= 2 per class")
        cov, _ = shrunk_covariance(members, shrinkage)
        cov = cov + 1e-9 * torch.eye(d, dtype=t.dtype, device=t.device)
        chol = torch.linalg.cholesky(cov)
        diff = (t - members.mean(0)).T  # (d, N)
        sol = torch.linalg.solve_triangular(chol, diff, upper=False)
        logdet = 2 * torch.log(torch.diagonal(chol)).sum()
        out[:, j] = -0.5 * (sol**2).sum(0) - 0.5 * logdet - 0.5 * d * math.log(2 * math.pi)
    return out


class GaussianMI(MIEstimator):
    """MI under a joint-Gaussian assumption, from log-determinants.

    Continuous y (Cover & Thomas, eq. 8.56; the information-theoretic view
    of VICReg, Shwartz-Ziv et al. 2023, arXiv:2303.00633)::

        I(X;Y) = 1/2 [log det R_x + log det R_y - log det R_xy]

    on the correlation matrix of the standardised columns, shrunk towards the
    identity (Ledoit–Wolf by default) so N close to d stays finite. Exact for
    Gaussians (up to shrinkage bias, which is downward); for other
    distributions it is the MI of the Gaussian with the same covariance
    (a lower bound on MI for a Gaussian channel, not in general).

    Labels y: the plug-in MI of the fitted class-conditional Gaussian model
    (QDA) ``p(t|c) = N(mu_c, Sigma_c)``, evaluated on the samples::

        I(T;Y) = mean_i [ log p(t_i | y_i) - log sum_c pi_c p(t_i | c) ]

    which never exceeds the plug-in ``H(Y)`` (resubstitution: biased upward
    when N_c is close to d).

    Constant columns carry no information and are dropped (a fully
    collapsed representation gives exactly 0).

    Shapes: x ``(N, dx)``, y ``(N, dy)`` or ``(N,)`` labels. Units: nats.
    Cost: O(N d^2 + d^3), on the input's device.

    Args:
        shrinkage: ``"ledoit_wolf"`` or a fixed intensity in [0, 1].
        seed: unused (deterministic); kept for a uniform interface.
        y_kind: see :class:`~ssl_it.estimators.base.MIEstimator`.
    """

    name = "gaussian"
    bound = "point"

    def __init__(self, shrinkage: Shrinkage = "ledoit_wolf", seed: int = 0, y_kind: YKind = "auto") -> None:
        super().__init__(seed=seed, y_kind=y_kind)
        check_shrinkage(shrinkage)
        self.shrinkage = shrinkage

    @property
    def min_samples(self) -> int:
        return 3

    def settings(self) -> dict[str, Any]:
        return {"shrinkage": self.shrinkage, "seed": self.seed, "y_kind": self.y_kind}

    def _estimate(self, pair: Pair) -> tuple[float, dict[str, Any]]:
        x = _informative(pair.x)
        if pair.labels:
            if x.shape[1] == 0:
                return 0.0, {"dropped_all_constant": True}
            logp = gaussian_log_densities(x, pair.y, self.shrinkage)
            classes, idx, counts = torch.unique(pair.y, return_inverse=True, return_counts=True)
            log_prior = (counts.to(x.dtype) / pair.n).log()
            marg = torch.logsumexp(logp + log_prior, 1)
            own = logp.gather(1, idx[:, None])[:, 0]
            return float((own - marg).mean()), {"variant": "qda_plugin", "n_classes": len(classes)}
        y = _informative(pair.y)
        if x.shape[1] == 0 or y.shape[1] == 0:
            return 0.0, {"dropped_all_constant": True}
        cov, a = shrunk_covariance(torch.cat([x, y], 1), self.shrinkage)
        dx = x.shape[1]
        ld = torch.linalg.slogdet
        value = 0.5 * (ld(cov[:dx, :dx])[1] + ld(cov[dx:, dx:])[1] - ld(cov)[1])
        return float(value), {"shrinkage_intensity": a}


def _informative(t: torch.Tensor) -> torch.Tensor:
    """Standardised columns of ``t`` with the constant ones removed."""
    keep = t.std(0) > 0
    return standardize(t[:, keep]) if bool(keep.any()) else t[:, keep]
