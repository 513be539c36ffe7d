"""Embedding diagnostics each validation epoch: collapse, rank, alignment, uniformity.

On the DataModule's fixed probe set, for the backbone features and the
projector embedding (``pl_module.objective.projector(features)``), it logs
``diagnostics/<layer>/<name>``:

- ``std``: mean per-dimension std of the L2-normalised embedding
  (:func:`embedding_std`; ``~1/sqrt(d)`` when spread, 0 when collapsed);
- ``collapsed``: 1.0 when ``std < collapse_threshold / sqrt(d)``, else 0.0;
  a warning is emitted too (rule: a tenth of the isotropic value by default);
- ``effective_rank``: RankMe (Garrido et al. 2023, arXiv:2210.02885);
- ``uniformity``: Wang & Isola (2020) with ``t = 2``, on the clean probe set;
- ``alignment``: Wang & Isola (2020) with ``alpha = 2``, between the first two
  (fixed) augmented views of the probe samples.

The representations come from the probe pass shared with the information
plane (:mod:`ssl_it.callbacks.probe_cache`: one forward pass per step for
both callbacks, and one effective rank). Under DDP the pass and the metrics
run on rank 0 only, with no collective, and are logged with
``rank_zero_only=True``.
"""

from __future__ import annotations

import functools
import math

import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities import rank_zero_warn
from typing_extensions import override

from ssl_it import checks
from ssl_it.callbacks.embedding_metrics import alignment, embedding_std, uniformity
from ssl_it.callbacks.probe_cache import ProbeCache
from ssl_it.estimators import effective_rank

LAYERS = ("backbone", "projector")


def diagnose(
    z: torch.Tensor, z1: torch.Tensor | None = None, z2: torch.Tensor | None = None, rank: float | None = None
) -> dict[str, float]:
    """``{"std", "effective_rank", "uniformity"[, "alignment"]}`` of ``z`` ``(n, d)``
    (alignment only when the two view embeddings ``z1``, ``z2`` are given;
    ``rank``: the effective rank of ``z`` when already computed)."""
    rank = effective_rank(z) if rank is None else rank
    out = {"std": embedding_std(z), "effective_rank": rank, "uniformity": uniformity(z)}
    if z1 is not None and z2 is not None:
        out["alignment"] = alignment(z1, z2)
    return out


class EmbeddingDiagnostics(pl.Callback):
    """Logs collapse / rank / alignment / uniformity of backbone and projector.

    Args:
        collapse_threshold: warn (and log ``collapsed = 1``) when the mean
            per-dimension std of the normalised embedding falls below
            ``collapse_threshold / sqrt(d)``.
        every_n_epochs: run on every n-th validation epoch.
        probe_cache: the run's shared :class:`~ssl_it.callbacks.probe_cache.ProbeCache`
            (given by ``train.py``); ``None``: a cache of its own.
    """

    def __init__(
        self, collapse_threshold: float = 0.1, every_n_epochs: int = 1, probe_cache: ProbeCache | None = None
    ) -> None:
        checks.number("callbacks.diagnostics.collapse_threshold", collapse_threshold, 0.0, 1.0, open_low=True)
        checks.integer("callbacks.diagnostics.every_n_epochs", every_n_epochs)
        self.collapse_threshold = collapse_threshold
        self.every_n_epochs = every_n_epochs
        self.probe_cache = ProbeCache() if probe_cache is None else probe_cache
        self.last: dict[str, float] = {}

    @override
    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        cache = self.probe_cache
        cache.register("probe", LAYERS)
        cache.register("views", LAYERS)

    @override
    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking or (trainer.current_epoch + 1) % self.every_n_epochs != 0:
            return
        if not trainer.is_global_zero:
            return
        cache = self.probe_cache
        reps = cache.representations(trainer, pl_module, "probe", list(LAYERS))
        view_reps = [cache.representations(trainer, pl_module, s, list(LAYERS)) for s in cache.view_sources(trainer)]
        metrics: dict[str, float] = {}
        for layer in LAYERS:
            z = reps[layer]
            z1, z2 = (view_reps[0][layer], view_reps[1][layer]) if view_reps else (None, None)
            rank = cache.derived("probe", layer, "effective_rank", functools.partial(effective_rank, z))
            values = diagnose(z, z1, z2, rank=rank)
            limit = self.collapse_threshold / math.sqrt(z.shape[1])
            values["collapsed"] = float(values["std"] < limit)
            if values["collapsed"]:
                rank_zero_warn(
                    f"diagnostics: {layer} embedding collapsed at epoch {trainer.current_epoch}: "
                    f"mean std of the normalised embedding {values['std']:.3g} < "
                    f"{self.collapse_threshold}/sqrt({z.shape[1]}) = {limit:.3g}"
                )
            metrics.update({f"diagnostics/{layer}/{k}": v for k, v in values.items()})
        self.last = metrics
        pl_module.log_dict(metrics, rank_zero_only=True)
