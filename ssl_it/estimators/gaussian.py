"""Gaussian (log-determinant) mutual information with covariance shrinkage."""

from __future__ import annotations

import math
from typing import Any

import torch
from typing_extensions import override

from ssl_it import checks
from ssl_it.estimators.base import MIEstimator, Pair, YKind
from ssl_it.estimators.pairwise import standardize
from ssl_it.estimators.reduction import principal_scores

Shrinkage = float | str


def check_shrinkage(shrinkage: Shrinkage) -> None:
    """``shrinkage`` must be ``"ledoit_wolf"`` or a number in [0, 1]."""
    number = isinstance(shrinkage, (int, float)) and not isinstance(shrinkage, bool)
    if shrinkage != "ledoit_wolf" and not (number and 0 <= float(shrinkage) <= 1):
        checks.fail("shrinkage", "ledoit_wolf or a number in [0, 1]", shrinkage)


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

    Regime. The log-det estimate has no ceiling: with ``dx + dy`` close to
    N the sample canonical correlations approach 1 and the value grows
    without bound (9-37 nats for I(X;T) at N = 512 with 64 + 2,048 dims,
    against log N = 6.2), its upward bias for independent data being about
    ``dx dy / (2N)``; through a nonlinearity the Gaussian surrogate's MI is
    not a bound on the true MI either. ``max_dim`` keeps each side's top
    principal axes (computed per side from that side alone) before the
    log-dets, which makes the value finite and meaningful for
    low-dimensional dependence; ``diagnostics["bias_if_independent"]``
    states ``dx dy / (2N)`` for the dimensions used, and
    ``diagnostics["regime"]`` says "outside" when it exceeds 0.1 nats.
    With labels the QDA plug-in is at most H(Y) (its ceiling); with
    class sizes close to d it can be far below 0 (resubstitution with
    per-class shrinkage), which ``max_dim`` also prevents.

    Shapes: x ``(N, dx)``, y ``(N, dy)`` or ``(N,)`` labels. Units: nats.
    Cost: O(N d^2 + d^3), on the input's device.

    Args:
        shrinkage: ``"ledoit_wolf"`` or a fixed intensity in [0, 1].
        seed: seed of the randomised PCA (``max_dim``); otherwise unused.
        y_kind: see :class:`~ssl_it.estimators.base.MIEstimator`.
        max_dim: principal axes kept per side (``None``: all columns).
    """

    name = "gaussian"
    bound = "point"

    def __init__(
        self, shrinkage: Shrinkage = "ledoit_wolf", seed: int = 0, y_kind: YKind = "auto", max_dim: int | None = None
    ) -> None:
        super().__init__(seed=seed, y_kind=y_kind)
        check_shrinkage(shrinkage)
        if max_dim is not None:
            checks.integer("max_dim", max_dim)
        self.shrinkage = shrinkage
        self.max_dim = max_dim

    @property
    @override
    def min_samples(self) -> int:
        return 3

    @override
    def settings(self) -> dict[str, Any]:
        return {"shrinkage": self.shrinkage, "max_dim": self.max_dim, "seed": self.seed, "y_kind": self.y_kind}

    def _reduce(self, t: torch.Tensor, offset: int) -> torch.Tensor:
        if self.max_dim is not None and t.shape[1] > self.max_dim:
            t = principal_scores(t, self.max_dim, self.seed + offset)[0]
        return _informative(t)

    def _estimate(self, pair: Pair) -> tuple[float, dict[str, Any]]:
        x = self._reduce(pair.x, 0)
        if pair.labels:
            if x.shape[1] == 0:
                return 0.0, {"dropped_all_constant": True}
            logp = gaussian_log_densities(x, pair.y, self.shrinkage)
            classes, idx, counts = torch.unique(pair.y, return_inverse=True, return_counts=True)
            log_prior = (counts.to(x.dtype) / pair.n).log()
            marg = torch.logsumexp(logp + log_prior, 1)
            own = logp.gather(1, idx[:, None])[:, 0]
            return float((own - marg).mean()), {"variant": "qda_plugin", "n_classes": len(classes)}
        y = self._reduce(pair.y, 1)
        if x.shape[1] == 0 or y.shape[1] == 0:
            return 0.0, {"dropped_all_constant": True}
        cov, a = shrunk_covariance(torch.cat([x, y], 1), self.shrinkage)
        dx = x.shape[1]
        ld = torch.linalg.slogdet
        value = 0.5 * (ld(cov[:dx, :dx])[1] + ld(cov[dx:, dx:])[1] - ld(cov)[1])
        bias = dx * y.shape[1] / (2 * pair.n)
        return float(value), {
            "shrinkage_intensity": a,
            "dims": [dx, int(y.shape[1])],
            "bias_if_independent": bias,
            "regime": "outside" if bias > 0.1 else "inside",
        }


def _informative(t: torch.Tensor) -> torch.Tensor:
    """Standardised columns of ``t`` with the constant ones removed."""
    keep = t.std(0) > 0
    return standardize(t[:, keep]) if bool(keep.any()) else t[:, keep]
