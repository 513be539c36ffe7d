"""Multi-view information bottleneck (MIB) with a Gaussian encoder head."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from typing_extensions import override

from ssl_it import checks
from ssl_it.objectives.base import Objective, check_embeddings, full_precision, mean_over_view_pairs
from ssl_it.objectives.distributed import gather
from ssl_it.objectives.heads import GaussianHead
from ssl_it.objectives.infonce import CRITICS, Critic, info_nce_views


@full_precision
def gaussian_kl(mu1: torch.Tensor, sigma1: torch.Tensor, mu2: torch.Tensor, sigma2: torch.Tensor) -> torch.Tensor:
    """Per-sample ``KL(N(mu1, sigma1^2) || N(mu2, sigma2^2))`` of diagonal
    Gaussians, summed over dimensions:

        sum_d [ log(s2/s1) + (s1^2 + (m1 - m2)^2) / (2 s2^2) - 1/2 ]

    Shapes ``(batch, dim) -> (batch,)``; nats.
    """
    mu1, sigma1, mu2, sigma2 = (t.float() for t in (mu1, sigma1, mu2, sigma2))
    var1, var2 = sigma1.pow(2), sigma2.pow(2)
    kl = torch.log(sigma2 / sigma1) + (var1 + (mu1 - mu2).pow(2)) / (2 * var2) - 0.5
    return kl.sum(dim=1)


def symmetric_kl(mu1: torch.Tensor, sigma1: torch.Tensor, mu2: torch.Tensor, sigma2: torch.Tensor) -> torch.Tensor:
    """``D_SKL = 1/N sum_i [KL(p1_i || p2_i) + KL(p2_i || p1_i)] / 2`` between
    the two views' diagonal Gaussian encoders (closed form; the authors' code
    uses its one-sample Monte Carlo estimate).

    Federici, Dutta, Forré, Kushman & Akata (2020), "Learning Robust
    Representations via Multi-View Information Bottleneck", arXiv:2002.07017,
    Eq. 7. Shapes ``(batch, dim)``; nats.
    """
    check_embeddings(mu1, mu2, min_batch=1)
    return ((gaussian_kl(mu1, sigma1, mu2, sigma2) + gaussian_kl(mu2, sigma2, mu1, sigma1)) / 2).mean()


def beta_schedule(progress: torch.Tensor, beta_start: float, beta: float, warmup_fraction: float) -> torch.Tensor:
    """Exponential ramp ``beta_start (beta / beta_start)^{min(p / w, 1)}``, as
    the authors raise beta from 1e-3 to its final value during training."""
    if warmup_fraction <= 0:
        return torch.full_like(progress, beta)
    frac = torch.clamp(progress / warmup_fraction, max=1.0)
    return beta_start * (beta / beta_start) ** frac


def mib_loss(
    mu1: torch.Tensor,
    sigma1: torch.Tensor,
    mu2: torch.Tensor,
    sigma2: torch.Tensor,
    z1: torch.Tensor,
    z2: torch.Tensor,
    beta: float | torch.Tensor,
    critic: Critic = "cosine",
    temperature: float = 0.1,
) -> dict[str, torch.Tensor]:
    """MIB loss ``L = -I_hat(z1; z2) + beta D_SKL(p(z1|v1) || p(z2|v2))`` with
    the InfoNCE bound as ``I_hat`` (its loss replaces ``-I_hat`` up to the
    constant ``log N``).

    Federici et al. (2020), arXiv:2002.07017, Eq. 7.

    Args:
        mu1: ``(batch, dim)`` mean of encoder 1.
        sigma1: ``(batch, dim)`` standard deviation of encoder 1.
        mu2: ``(batch, dim)`` mean of encoder 2.
        sigma2: ``(batch, dim)`` standard deviation of encoder 2.
        z1: ``(batch, dim)`` sample from encoder 1 (candidates of
            InfoNCE: pass the global batch).
        z2: ``(batch, dim)`` sample from encoder 2.
        beta: KL weight >= 0.
        critic: InfoNCE critic (see ``critic_scores``).
        temperature: the critic's temperature.

    Returns:
        ``{"loss", "info_nce", "skl"}``, nats.
    """
    nce = info_nce_views(z1, z2, critic, temperature)
    skl = symmetric_kl(mu1, sigma1, mu2, sigma2)
    return {"loss": nce + beta * skl, "info_nce": nce, "skl": skl}


class MIB(Objective):
    """Multi-view information bottleneck with a stochastic Gaussian head.

    ``projector`` is the Gaussian head; calling it returns the mean, the
    deterministic embedding. In training the loss uses reparameterised
    samples, in eval the means. Beyond two views, the loss averages over
    pairs.

    Args:
        in_dim: backbone feature width.
        hidden_dims: Gaussian head hidden widths (config [512]).
        out_dim: latent width (authors' MNIST: 64).
        beta: final KL weight (authors' MNIST: 1.0).
        beta_start: initial KL weight (authors: 1e-3).
        beta_warmup_fraction: fraction of training over which beta rises (0.5).
        critic: InfoNCE critic (``cosine``, ``dot``, ``neg_l2``).
        temperature: InfoNCE temperature (0.1).
    """

    projector: GaussianHead

    def __init__(
        self,
        in_dim: int,
        hidden_dims: Sequence[int] = (512,),
        out_dim: int = 64,
        beta: float = 1.0,
        beta_start: float = 1e-3,
        beta_warmup_fraction: float = 0.5,
        critic: Critic = "cosine",
        temperature: float = 0.1,
    ) -> None:
        super().__init__()
        checks.positive("beta", beta)
        checks.number("beta_start", beta_start, 0.0, beta)
        checks.positive("beta_start", beta_start)
        checks.number("beta_warmup_fraction", beta_warmup_fraction, 0.0, 1.0)
        checks.choice("critic", critic, tuple(c for c in CRITICS if c != "bilinear"))
        checks.positive("temperature", temperature)
        self.beta, self.beta_start, self.beta_warmup_fraction = beta, beta_start, beta_warmup_fraction
        self.critic, self.temperature = critic, temperature
        self.projector = GaussianHead(in_dim, hidden_dims, out_dim)

    @property
    def current_beta(self) -> torch.Tensor:
        """beta at the current ``progress`` (0-d tensor)."""
        return beta_schedule(self.progress, self.beta_start, self.beta, self.beta_warmup_fraction)

    @override
    def loss(
        self,
        features: list[torch.Tensor],
        views: list[torch.Tensor],
        labels: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        params = [self.projector.distribution(f) for f in features]
        samples = [mu + sigma * torch.randn_like(sigma) if self.training else mu for mu, sigma in params]
        # Gather here: the InfoNCE candidates are the global batch (the KL is per sample).
        z = [gather(s) for s in samples]
        beta = self.current_beta
        out = mean_over_view_pairs(
            [(mu, sigma, zi) for (mu, sigma), zi in zip(params, z)],
            lambda a, b: mib_loss(a[0], a[1], b[0], b[1], a[2], b[2], beta, self.critic, self.temperature),
        )
        out["nce_mi_lower_bound"] = math.log(z[0].shape[0]) - out["info_nce"].detach()
        return out
