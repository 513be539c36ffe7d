"""The neural MI estimators: MINE, NWJ, InfoNCE, JS, SMILE (lower/point) and CLUB (upper).

Defaults (``steps=300``, ``batch_size=128``, separable critic 2x128 -> 32)
are sized for a per-epoch information-plane callback: a few seconds on a
2-core CPU at N = 1,000 and d = 64 + 784. They under-train high MI (several
nats): use more steps, a wider critic and warm starts for accuracy, at a
proportional cost in time.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn
from typing_extensions import override

from ssl_it import checks
from ssl_it.estimators.neural import bounds
from ssl_it.estimators.neural.base import NeuralMIEstimator
from ssl_it.estimators.neural.critics import CategoricalConditional, ConcatCritic, GaussianConditional, SeparableCritic
from ssl_it.linalg import off_diagonal


class CriticEstimator(NeuralMIEstimator):
    """Shared part of the critic-based bounds: a critic ``f(x, y)`` scored on all batch pairs."""

    def _build(self, dx: int, dy: int, n_classes: int) -> nn.Module:
        if self.critic == "separable":
            return SeparableCritic(dx, dy, self.hidden, self.layers, self.embed_dim)
        return ConcatCritic(dx, dy, self.hidden, self.layers)

    def _objective(self, scores: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(quantity to maximise, bound value)`` on one training batch."""
        joint, marginal = torch.diagonal(scores), off_diagonal(scores)
        value = self._pooled(joint, marginal, [scores])
        return value, value

    def _pooled(self, joint: torch.Tensor, marginal: torch.Tensor, batches: list[torch.Tensor]) -> torch.Tensor:
        """The reported bound from all held-out joint / marginal scores."""
        raise NotImplementedError

    def _train_loss(self, module: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, float]:
        objective, value = self._objective(module(x, y))
        return -objective, float(value.detach())

    def _evaluate(self, module: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
        b = min(self.batch_size, x.shape[0])
        batches = [module(x[s : s + b], y[s : s + b]) for s in range(0, x.shape[0] - b + 1, b)]
        joint = torch.cat([torch.diagonal(s) for s in batches])
        marginal = torch.cat([off_diagonal(s) for s in batches])
        value = float(self._pooled(joint, marginal, batches))
        return value, value


class MINE(CriticEstimator):
    """MINE: Donsker–Varadhan lower bound with the moving-average gradient correction.

    ``I(X;Y) >= E_p[f] - log E_{p(x)p(y)}[e^f]`` (Belghazi et al. 2018,
    arXiv:1801.04062). The gradient of the log-partition is biased on
    mini-batches; MINE replaces its denominator ``E[e^f]`` by an exponential
    moving average (rate ``ema_rate``). Reported: the DV bound on the
    held-out split, pooling all held-out pairs. High variance when MI is
    large (the partition term is dominated by rare pairs).

    Shapes: x ``(N, dx)``, y ``(N, dy)`` or ``(N,)`` labels (one-hot). Units: nats.

    Args:
        ema_rate: moving-average rate in (0, 1].
        **kwargs: see :class:`~ssl_it.estimators.neural.base.NeuralMIEstimator`.
    """

    name, bound = "mine", "lower"

    def __init__(self, ema_rate: float = 0.01, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ema_rate = float(checks.number("ema_rate", ema_rate, 0.0, 1.0, open_low=True))
        self._ema: float | None = None

    @override
    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "ema_rate": self.ema_rate}

    def _extra_state(self) -> dict[str, Any]:
        return {"ema": self._ema}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        self._ema = state.get("ema")

    def _pooled(self, joint: torch.Tensor, marginal: torch.Tensor, batches: list[torch.Tensor]) -> torch.Tensor:
        return bounds.dv_bound(joint, marginal)

    def _objective(self, scores: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        joint, marginal = torch.diagonal(scores), off_diagonal(scores)
        mean_exp = torch.exp(bounds.log_mean_exp(marginal))
        now = float(mean_exp.detach())
        if math.isfinite(now):  # a non-finite batch would stay in the average for good
            self._ema = now if self._ema is None else (1 - self.ema_rate) * self._ema + self.ema_rate * now
        if self._ema is None:
            self._ema = now
        # gradient of -(E_p f - E_q e^f / ema) = bias-corrected DV gradient
        return joint.mean() - mean_exp / self._ema, bounds.dv_bound(joint, marginal)


class NWJ(CriticEstimator):
    """NWJ (f-divergence, "MINE-f") lower bound ``E_p[f] - E_q[e^(f-1)]``.

    Nguyen, Wainwright & Jordan 2010 (arXiv:0809.0853); Poole et al. 2019
    (arXiv:1905.06922). Unbiased mini-batch gradients, variance growing as
    e^MI. Reported on the held-out split, pooling all held-out pairs.
    Shapes and args: see :class:`CriticEstimator`. Units: nats.
    """

    name, bound = "nwj", "lower"

    def _pooled(self, joint: torch.Tensor, marginal: torch.Tensor, batches: list[torch.Tensor]) -> torch.Tensor:
        return bounds.nwj_bound(joint, marginal)


class InfoNCEBound(CriticEstimator):
    """InfoNCE (CPC) lower bound, capped at ``log(batch)``.

    ``I >= mean_i [f(x_i, y_i) - log 1/B sum_j e^{f(x_i, y_j)}]``
    (van den Oord, Li & Vinyals 2018, arXiv:1807.03748; Poole et al. 2019).
    Low variance but it can never exceed ``log B`` with B the held-out batch
    size, ``min(batch_size, n_test)``: :meth:`ceiling` reports it. Reported:
    the mean over full held-out batches.
    Shapes and args: see :class:`CriticEstimator`. Units: nats.
    """

    name, bound = "infonce", "lower"

    @override
    def ceiling(self, n_samples: int, labels: Any | None = None) -> float | None:
        cap = math.log(self.eval_batch(n_samples))
        h_y = None if labels is None else super().ceiling(n_samples, labels)
        return cap if h_y is None else min(cap, h_y)

    def _pooled(self, joint: torch.Tensor, marginal: torch.Tensor, batches: list[torch.Tensor]) -> torch.Tensor:
        return torch.stack([bounds.infonce_bound(s) for s in batches]).mean()


class JSMI(CriticEstimator):
    """Jensen–Shannon (DIM) critic read through the NWJ bound.

    The critic maximises the JS objective ``E_p[-sp(-f)] - E_q[sp(f)]``
    (Hjelm et al. 2019, arXiv:1808.06670), stable but not itself an MI
    bound; the MI is reported as the NWJ lower bound of ``f + 1`` on the
    held-out split (Poole et al. 2019, arXiv:1905.06922), exact at the JS
    optimum ``f* = log p(x,y)/(p(x)p(y))``.
    Shapes and args: see :class:`CriticEstimator`. Units: nats.
    """

    name, bound = "js", "lower"

    def _pooled(self, joint: torch.Tensor, marginal: torch.Tensor, batches: list[torch.Tensor]) -> torch.Tensor:
        return bounds.nwj_bound(joint + 1.0, marginal + 1.0)

    def _objective(self, scores: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        joint, marginal = torch.diagonal(scores), off_diagonal(scores)
        return bounds.js_objective(joint, marginal), self._pooled(joint, marginal, [scores])


class SMILE(CriticEstimator):
    """SMILE: DV with the partition's ``e^f`` clipped to ``[e^-clip, e^clip]``.

    ``E_p[f] - log E_q[clip(e^f, e^-tau, e^tau)]`` (Song & Ermon 2020,
    arXiv:1910.06222). As in the paper, the critic is trained with the JS
    objective (the clipped DV alone is unbounded in f on the joint) and the
    clipped DV is the read-out. Clipping trades the bound guarantee for much
    lower variance, so this is a point estimate (biased, not a bound).

    Args:
        clip: tau > 0 (5 in the paper).
        **kwargs: see :class:`~ssl_it.estimators.neural.base.NeuralMIEstimator`.
    """

    name, bound = "smile", "point"

    def __init__(self, clip: float = 5.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        checks.positive("clip", clip)
        self.clip = float(clip)

    @override
    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "clip": self.clip}

    def _pooled(self, joint: torch.Tensor, marginal: torch.Tensor, batches: list[torch.Tensor]) -> torch.Tensor:
        return bounds.smile_estimate(joint, marginal, self.clip)

    def _objective(self, scores: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        joint, marginal = torch.diagonal(scores), off_diagonal(scores)
        return bounds.js_objective(joint, marginal), self._pooled(joint, marginal, [scores])


class CLUB(NeuralMIEstimator):
    """CLUB: contrastive log-ratio upper bound with a variational ``q(y|x)``.

    ``I_CLUB = mean_i [log q(y_i|x_i) - mean_j log q(y_j|x_i)]`` (Cheng et
    al. 2020, arXiv:2006.12013), with q a diagonal Gaussian (continuous y)
    or a softmax classifier (labels) trained by maximum likelihood on the
    training split; early stopping on the held-out log-likelihood. It is an
    upper bound when q is close to p(y|x); with a poor q it can fall below
    the MI. The ``critic`` and ``embed_dim`` fields are unused.
    Shapes and args: see :class:`~ssl_it.estimators.neural.base.NeuralMIEstimator`. Units: nats.
    """

    name, bound = "club", "upper"

    def _build(self, dx: int, dy: int, n_classes: int) -> nn.Module:
        if n_classes:
            return CategoricalConditional(dx, n_classes, self.hidden, self.layers)
        return GaussianConditional(dx, dy, self.hidden, self.layers)

    def _terms(self, module: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(log q(y_i|x_i) (B,), mean_j log q(y_j|x_i) (B,))``, the latter in closed form (O(B d))."""
        if isinstance(module, CategoricalConditional):
            logq = module(x)  # (B, C)
            return (logq * y).sum(1), logq @ y.mean(0)
        mu, logvar = module(x)
        const = 0.5 * (logvar + math.log(2 * math.pi))
        positive = (-0.5 * (y - mu) ** 2 / logvar.exp() - const).sum(1)
        # mean_j (y_j - mu_i)^2 = var(y) + (mean(y) - mu_i)^2
        spread = y.var(0, unbiased=False) + (y.mean(0) - mu) ** 2
        return positive, (-0.5 * spread / logvar.exp() - const).sum(1)

    def _train_loss(self, module: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, float]:
        positive, negative = self._terms(module, x, y)
        return -positive.mean(), float((positive - negative).mean().detach())

    def _evaluate(self, module: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
        positive, negative = self._terms(module, x, y)
        return float((positive - negative).mean()), float(positive.mean())
