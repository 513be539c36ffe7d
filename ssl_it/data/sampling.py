"""Which samples, in which order: stratified orders and the labels they need.

A stratified order interleaves the classes so that every prefix has the class
proportions of the whole set (to within one sample per class). Its first
``n`` items are a stratified subset (the probe set, the kNN / linear-
evaluation subset); a loader that reads it in order gives every class in the
first batches, so ``limit_val_batches`` on a class-sorted folder measures
all classes rather than the first one.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import ConcatDataset, Dataset, Subset, TensorDataset


def dataset_labels(dataset: Dataset) -> np.ndarray | None:
    """Integer labels of every sample without loading the samples, or
    ``None`` when the dataset does not expose them (``targets``/``labels``
    of torchvision datasets, a ``TensorDataset``'s second tensor, and
    ``Subset`` / ``ConcatDataset`` / this package's wrappers of those)."""
    if isinstance(dataset, TensorDataset) and len(dataset.tensors) > 1:
        return dataset.tensors[1].numpy().astype(np.int64)
    if isinstance(dataset, Subset):
        inner = dataset_labels(dataset.dataset)
        return None if inner is None else inner[np.asarray(dataset.indices)]
    if isinstance(dataset, ConcatDataset):
        parts = [dataset_labels(d) for d in dataset.datasets]
        return None if any(p is None for p in parts) else np.concatenate(parts)  # type: ignore[arg-type]
    base = getattr(dataset, "base", None)  # the wrappers of ssl_it.data keep their dataset in `base`
    if isinstance(base, Dataset):
        return dataset_labels(base)
    for attr in ("targets", "labels"):
        values = getattr(dataset, attr, None)
        if values is not None:
            return np.asarray(values.numpy() if isinstance(values, torch.Tensor) else values, dtype=np.int64)
    return None


def stratified_order(labels: np.ndarray, seed: int) -> np.ndarray:
    """A seeded permutation of ``range(len(labels))`` whose every prefix is
    stratified.

    Within each class the samples are shuffled; sample ``i``, the ``r``-th
    of its class of size ``n_c``, gets the position key ``(r + u_i) / n_c``
    with ``u_i`` uniform in [0, 1), and the order sorts by that key. A
    prefix of length ``m`` then holds ``m n_c / N`` samples of class ``c``
    to within one.
    """
    rng = np.random.default_rng(seed)
    keys = np.empty(len(labels), dtype=np.float64)
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        keys[members] = (np.arange(len(members)) + rng.random(len(members))) / len(members)
    return np.argsort(keys, kind="stable")


def sample_order(dataset: Dataset, seed: int) -> np.ndarray:
    """The stratified order of ``dataset`` when its labels are known, else a
    seeded random permutation."""
    labels = dataset_labels(dataset)
    if labels is None or len(labels) != len(dataset):  # type: ignore[arg-type]
        return np.random.default_rng(seed).permutation(len(dataset))  # type: ignore[arg-type]
    return stratified_order(labels, seed)
