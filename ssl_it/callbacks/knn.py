"""Weighted k-nearest-neighbour classifier on frozen backbone features.

The monitoring protocol of instance discrimination (Wu et al. 2018,
arXiv:1805.01978) as used by DINO (Caron et al. 2021, arXiv:2104.14294):
features are L2-normalised, each validation sample's ``k`` most similar
training samples (cosine similarity ``s_i``) vote for their label with weight
``exp(s_i / T)``, and the class with the largest total weight wins:

    y_hat(x) = argmax_c  sum_{i in N_k(x)} exp(s_i / T) * 1[y_i = c].

Unlike the online probe it has no parameters to train, so it reads the
geometry of the feature space directly.
"""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from typing_extensions import override

from ssl_it import checks
from ssl_it.callbacks.probe_cache import ProbeCache, probe_data


@torch.no_grad()
def knn_predict(
    bank: torch.Tensor,
    bank_labels: torch.Tensor,
    queries: torch.Tensor,
    num_classes: int,
    k: int = 20,
    temperature: float = 0.07,
    chunk_size: int = 1024,
) -> torch.Tensor:
    """Weighted kNN vote (cosine similarity, weights ``exp(sim / T)``).

    Args:
        bank: ``(n_bank, dim)`` training features (normalised here).
        bank_labels: ``(n_bank,)`` integer labels in ``[0, num_classes)``.
        queries: ``(n_query, dim)`` features to classify (normalised here).
        num_classes: number of classes.
        k: neighbours per query (capped at ``n_bank``).
        temperature: ``T`` of the vote weights.
        chunk_size: queries per similarity block, so memory stays
            ``O(chunk_size * n_bank)``.

    Returns:
        ``(n_query, num_classes)`` class scores (summed vote weights); the
        prediction is their ``argmax``.
    """
    bank = F.normalize(bank.float(), dim=1)
    queries = F.normalize(queries.float(), dim=1).to(bank.device)
    bank_labels = bank_labels.to(bank.device).long()
    k = min(k, bank.shape[0])
    scores = []
    for chunk in queries.split(chunk_size):
        sim = chunk @ bank.T  # (chunk, n_bank)
        top_sim, top_idx = sim.topk(k, dim=1)  # (chunk, k)
        weights = (top_sim / temperature).exp()
        votes = torch.zeros(chunk.shape[0], num_classes, device=bank.device)
        scores.append(votes.scatter_add_(1, bank_labels[top_idx], weights))
    return torch.cat(scores)


class KNNClassifier(pl.Callback):
    """Logs ``val/knn_acc``: weighted kNN accuracy of the frozen backbone.

    Each validation epoch the validation features returned by
    ``validation_step`` are classified against a bank of features of the
    un-augmented training subset (the ``train_eval`` source of
    :class:`~ssl_it.data.probe_data.ProbeData`: a stratified subset of
    ``datamodule.eval_size`` samples, read by the loader's workers, eval mode,
    no gradients). The bank is computed once per step and shared with the
    final linear evaluation (:mod:`ssl_it.callbacks.probe_cache`).

    Under DDP only rank 0 computes and logs (every rank's validation loop
    sees the whole validation split, so rank 0 holds every query): no
    collective, so no rank can wait in one the others never reach.

    Args:
        k: neighbours (DINO reports 20 and 200).
        temperature: vote temperature ``T`` (0.07 in Wu et al. and DINO).
        chunk_size: validation samples per similarity block.
        num_classes: ``None`` infers ``max(label) + 1`` from the bank.
        probe_cache: the run's shared :class:`~ssl_it.callbacks.probe_cache.ProbeCache`
            (given by ``train.py``); ``None``: a cache of its own.
    """

    classifies_labels = True

    def __init__(
        self,
        k: int = 20,
        temperature: float = 0.07,
        chunk_size: int = 1024,
        num_classes: int | None = None,
        probe_cache: ProbeCache | None = None,
    ) -> None:
        checks.integer("callbacks.knn.k", k)
        checks.positive("callbacks.knn.temperature", temperature)
        checks.integer("callbacks.knn.chunk_size", chunk_size)
        if num_classes is not None:
            checks.integer("callbacks.knn.num_classes", num_classes, minimum=2)
        self.k = k
        self.temperature = temperature
        self.chunk_size = chunk_size
        self.num_classes = num_classes
        self.probe_cache = ProbeCache() if probe_cache is None else probe_cache
        self._feats: list[torch.Tensor] = []
        self._labels: list[torch.Tensor] = []
        self.last_accuracy: float | None = None

    @override
    def on_validation_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._feats, self._labels = [], []

    @override
    def on_validation_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        if trainer.is_global_zero and not trainer.sanity_checking:
            self._feats.append(outputs["features"].detach().float())
            self._labels.append(outputs["labels"].detach())

    @override
    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking or not trainer.is_global_zero or not self._feats:
            return
        cache = self.probe_cache
        bank = cache.representations(trainer, pl_module, "train_eval", ["backbone"])["backbone"]
        bank_labels = cache.labels(trainer, pl_module, "train_eval")
        queries, query_labels = torch.cat(self._feats), torch.cat(self._labels)
        self._feats, self._labels = [], []
        if len(query_labels) == probe_data(trainer).probe_count("val"):  # the whole split: linear evaluation reuses it
            cache.store(trainer, pl_module, "val", {"backbone": queries.cpu()}, query_labels.cpu())
        device = queries.device
        bank_t, labels_t = bank.to(device), bank_labels.to(device)
        n_cls = self.num_classes or int(max(int(bank_labels.max()), int(query_labels.max()))) + 1
        scores = knn_predict(bank_t, labels_t, queries, n_cls, self.k, self.temperature, self.chunk_size)
        acc = (scores.argmax(1) == query_labels.to(device)).float().mean()
        self.last_accuracy = float(acc)
        pl_module.log("val/knn_acc", acc, rank_zero_only=True)

    def results(self) -> dict[str, float]:
        """``final/knn_acc``: the last validation's accuracy (rank 0)."""
        return {} if self.last_accuracy is None else {"final/knn_acc": self.last_accuracy}
