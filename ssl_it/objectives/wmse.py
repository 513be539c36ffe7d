"""W-MSE: mean squared error between whitened, normalised views."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from typing_extensions import override

from ssl_it import checks
from ssl_it.objectives.base import ViewPairObjective, check_embeddings, full_precision, mean_over_view_pairs
from ssl_it.objectives.distributed import broadcast
from ssl_it.objectives.heads import MLPHead


@full_precision
def whiten(z: torch.Tensor, eps: float = 0.0) -> torch.Tensor:
    """Cholesky whitening ``w = (z - zbar) L^{-T}`` with ``L L^T = (1 - eps) C
    + eps I``, ``C`` the unbiased batch covariance; the whitened batch has
    identity covariance. Computed in float64.

    Ermolov, Siarohin, Sangineto & Sebe (2021), "Whitening for
    Self-Supervised Representation Learning", arXiv:2007.06346.

    Args:
        z: ``(batch, dim)`` with ``batch > dim`` (else ``C`` is singular).
        eps: shrinkage towards the identity, in [0, 1) (authors: 0).

    Returns:
        ``(batch, dim)`` float32.
    """
    n, d = z.shape
    if n <= d:
        raise ValueError(f"z: whitening needs batch > dim, got batch {n} and dim {d}")
    z = z.double()
    zc = z - z.mean(dim=0)
    cov = zc.T @ zc / (n - 1)
    cov = (1 - eps) * cov + eps * torch.eye(d, dtype=z.dtype, device=z.device)
    chol = torch.linalg.cholesky(cov)
    # solve L W^T = Zc^T, i.e. W = Zc L^{-T}
    w = torch.linalg.solve_triangular(chol, zc.T, upper=False).T
    return w.float()


@full_precision
def normalized_mse(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``1/N sum_i ||a_i/|a_i| - b_i/|b_i|||^2 = 2 - 2 mean_i cos(a_i, b_i)``.
    Shapes ``(batch, dim)``."""
    check_embeddings(a, b, min_batch=1)
    return 2 - 2 * F.cosine_similarity(a.float(), b.float(), dim=1).mean()


def wmse_loss(z1: torch.Tensor, z2: torch.Tensor, eps: float = 0.0) -> torch.Tensor:
    """W-MSE of one (sub-)batch: ``normalized_mse(whiten(z1), whiten(z2))``,
    each view whitened on its own, as in the authors' code.

    Ermolov et al. (2021), arXiv:2007.06346. Shapes ``(batch, dim)``,
    batch > dim.
    """
    check_embeddings(z1, z2)
    return normalized_mse(whiten(z1, eps), whiten(z2, eps))


class WMSE(ViewPairObjective):
    """W-MSE with sub-batch whitening, averaged over pairs of views.

    The (global) batch is split into ``w_iter`` random partitions of
    sub-batches of ``w_size`` rows (a trailing remainder joins the last
    sub-batch), each view whitened within each sub-batch.

    Args:
        in_dim: backbone feature width.
        hidden_dims: projector hidden widths (paper [1024]).
        out_dim: embedding width (paper 64).
        w_size: whitening sub-batch size, > out_dim (paper 128).
        w_iter: number of random partitions per step (paper 1).
        w_eps: shrinkage of the covariance towards I (paper 0).
    """

    def __init__(
        self,
        in_dim: int,
        hidden_dims: Sequence[int] = (1024,),
        out_dim: int = 64,
        w_size: int = 128,
        w_iter: int = 1,
        w_eps: float = 0.0,
    ) -> None:
        super().__init__()
        checks.integer("w_size", w_size)
        checks.integer("w_iter", w_iter)
        checks.number("w_eps", w_eps, 0.0, 1.0, open_high=True)
        checks.integer("w_size", w_size, minimum=out_dim + 1)  # whitening needs more samples than dimensions
        self.w_size, self.w_iter, self.w_eps = w_size, w_iter, w_eps
        self.projector: MLPHead = MLPHead(in_dim, hidden_dims, out_dim)

    @property
    def min_batch_size(self) -> int:  # type: ignore[override]
        """Whitening needs a (global) batch wider than the embedding."""
        return self.projector.out_dim + 1

    def _sub_batches(self, n: int, device: torch.device) -> list[torch.Tensor]:
        if n <= self.w_size:
            return [torch.arange(n, device=device)]
        # every rank must whiten the same sub-batches of the gathered batch
        perm = broadcast(torch.randperm(n, device=device))
        chunks = list(perm.split(self.w_size))
        if len(chunks[-1]) < self.w_size:
            last = chunks.pop()
            chunks[-1] = torch.cat([chunks[-1], last])
        return chunks

    @override
    def views_loss(self, z: list[torch.Tensor]) -> dict[str, torch.Tensor]:
        if z[0].shape[0] <= self.projector.out_dim:
            raise ValueError(
                f"WMSE: the (global) batch size ({z[0].shape[0]}) must exceed out_dim "
                f"({self.projector.out_dim}) to whiten: use a larger batch or a smaller out_dim"
            )
        losses = [  # every sub-batch holds the same number of pairs: the mean of means is the mean
            mean_over_view_pairs([v[idx] for v in z], lambda a, b: wmse_loss(a, b, self.w_eps))
            for _ in range(self.w_iter)
            for idx in self._sub_batches(z[0].shape[0], z[0].device)
        ]
        loss = torch.stack(losses).mean()
        return {"loss": loss, "wmse": loss.detach()}
