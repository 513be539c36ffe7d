"""The DataModule: augmented multi-view training batches, an un-augmented
validation set, and a fixed, seeded, labelled probe set for the callbacks."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset

from ssl_it.data.sources import DataSource
from ssl_it.data.views import EpochKeySampler, MultiViewDataset, TransformedDataset


def default_num_workers() -> int:
    """One loader worker per spare core, at most 8 (0 on a single core)."""
    return max(0, min(8, (os.cpu_count() or 1) - 1))


class SSLDataModule(pl.LightningDataModule):
    """Multi-view training data plus a fixed probe set.

    Args:
        source: where the samples come from (shapes, statistics, splits).
        augmentation: maps one sample to a list of views.
        eval_transform: maps one sample to its normalised, un-augmented tensor.
        batch_size: training batch size per process.
        num_workers: loader worker processes; ``None`` picks one per spare core.
        pin_memory: ``None`` pins only when CUDA is available.
        probe_size: size of the fixed probe subset drawn from the validation split.
        seed: seeds shuffling, augmentation and the probe subset.
        drop_last: drop the last incomplete training batch (batch statistics
            of the SSL losses are meaningless on tiny batches).
    """

    def __init__(
        self,
        source: DataSource,
        augmentation: Callable[[torch.Tensor], list[torch.Tensor]],
        eval_transform: Callable[[torch.Tensor], torch.Tensor],
        batch_size: int = 256,
        num_workers: int | None = None,
        pin_memory: bool | None = None,
        probe_size: int = 1000,
        seed: int = 0,
        drop_last: bool = True,
    ) -> None:
        super().__init__()
        if batch_size < 1:
            raise ValueError(f"datamodule.batch_size must be >= 1, got {batch_size}")
        if probe_size < 1:
            raise ValueError(f"datamodule.probe_size must be >= 1, got {probe_size}")
        self.source = source
        self.augmentation = augmentation
        self.eval_transform = eval_transform
        self.batch_size = batch_size
        self.num_workers = default_num_workers() if num_workers is None else num_workers
        self.pin_memory = torch.cuda.is_available() if pin_memory is None else pin_memory
        self.probe_size = probe_size
        self.seed = seed
        self.drop_last = drop_last
        self.train_set: Dataset | None = None
        self.val_set: Dataset | None = None
        self._probe: tuple[torch.Tensor, torch.Tensor] | None = None

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is None:
            self.train_set = MultiViewDataset(self.source.load("train"), self.augmentation, self.seed)
            self.val_set = TransformedDataset(self.source.load("val"), self.eval_transform)
            if len(self.train_set) < self.batch_size and self.drop_last:
                raise ValueError(
                    f"datamodule.batch_size={self.batch_size} exceeds the {len(self.train_set)} training samples"
                )

    def _loader(self, dataset: Dataset, **kwargs: object) -> DataLoader:
        return DataLoader(
            dataset,
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
            persistent_workers=self.num_workers > 0,
            **kwargs,  # type: ignore[arg-type]
        )

    def train_dataloader(self) -> DataLoader:
        assert self.train_set is not None
        sampler = EpochKeySampler(len(self.train_set), seed=self.seed)  # type: ignore[arg-type]
        return self._loader(self.train_set, batch_size=self.batch_size, sampler=sampler, drop_last=self.drop_last)

    def val_dataloader(self) -> DataLoader:
        assert self.val_set is not None
        return self._loader(self.val_set, batch_size=max(self.batch_size, 256), shuffle=False)

    def probe_set(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The fixed probe subset: normalised un-augmented inputs and labels.

        Drawn from the validation split by ``seed``; the same samples at every
        call. Returns ``(inputs (n, *input_shape), labels (n,))``.
        """
        if self._probe is None:
            self.setup()
            assert self.val_set is not None
            n = min(self.probe_size, len(self.val_set))  # type: ignore[arg-type]
            gen = torch.Generator().manual_seed(self.seed)
            idx = torch.randperm(len(self.val_set), generator=gen)[:n].sort().values  # type: ignore[arg-type]
            items = [self.val_set[int(i)] for i in idx]
            self._probe = torch.stack([x for x, _ in items]), torch.tensor([y for _, y in items])
        return self._probe
