"""The DataModule: augmented multi-view training batches, an un-augmented
validation set, and a fixed, seeded, labelled probe set for the callbacks."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any, Literal

import pytorch_lightning as pl
import torch
from torch.utils.data import ConcatDataset, DataLoader, Dataset

from ssl_it.data.sources import DataSource
from ssl_it.data.views import EpochKeySampler, MultiViewDataset, TransformedDataset


PROBE_VIEW_EPOCH = 2**31 - 1  # an epoch key no training epoch reaches

log = logging.getLogger(__name__)


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
        probe_size: size of the fixed probe subset; when the split it is drawn
            from is smaller, the whole split is used, with one warning, and
            :attr:`probe_size_used` (and ``n_probe`` in ``infoplane.csv``)
            records the actual size.
        probe_split: where the probe subset is drawn from: the held-out
            ``val`` split (default) or ``all`` samples (the classic
            information-plane setting, where the plane is measured on the
            whole finite input set).
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
        probe_split: Literal["val", "all"] = "val",
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
        if probe_split not in ("val", "all"):
            raise ValueError(f"datamodule.probe_split must be 'val' or 'all', got '{probe_split}'")
        self.probe_size = probe_size
        self.probe_split = probe_split
        self._probe_base: Dataset | None = None
        self.seed = seed
        self.drop_last = drop_last
        self.train_set: Dataset | None = None
        self.val_set: Dataset | None = None
        self._probe: tuple[torch.Tensor, torch.Tensor] | None = None
        self._probe_index: torch.Tensor | None = None
        self._clamp_warned = False
        self._resume_epoch = 0

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is None:
            self.train_set = MultiViewDataset(self.source.load("train"), self.augmentation, self.seed)
            val_base = self.source.load("val")
            self.val_set = TransformedDataset(val_base, self.eval_transform)
            self._probe_base = val_base if self.probe_split == "val" else ConcatDataset([self.train_set.base, val_base])
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
        # Lightning starts the loader's iterator (and the workers' prefetch) before it sets the
        # sampler's epoch, and on a resume before it restores its loops: start at the right epoch.
        sampler.set_epoch(max(self._resume_epoch, self._epochs_done()))
        return self._loader(self.train_set, batch_size=self.batch_size, sampler=sampler, drop_last=self.drop_last)

    def _epochs_done(self) -> int:
        trainer = self.trainer
        return int(trainer.fit_loop.epoch_progress.current.processed) if trainer is not None else 0

    def state_dict(self) -> dict[str, Any]:
        """The training epoch the next loader starts at (kept in checkpoints)."""
        return {"next_epoch": self._epochs_done()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._resume_epoch = int(state_dict.get("next_epoch", 0))

    def train_eval_dataloader(self) -> DataLoader:
        """The training split, un-augmented (for linear evaluation on frozen features)."""
        assert self.train_set is not None
        plain = TransformedDataset(self.train_set.base, self.eval_transform)
        return DataLoader(plain, batch_size=max(self.batch_size, 256), shuffle=False, num_workers=0)

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
            probe = TransformedDataset(self._probe_base, self.eval_transform)  # type: ignore[arg-type]
            items = [probe[int(i)] for i in self._probe_indices()]
            self._probe = torch.stack([x for x, _ in items]), torch.tensor([y for _, y in items])
        return self._probe

    def probe_views(self) -> list[torch.Tensor]:
        """Augmented views of the probe samples, ``[(n, *shape), ...]`` per view.

        The augmentation draws are fixed (the same views at every call), so
        ``I(Z1;Z2)`` measured over training compares like with like.
        """
        indices = self._probe_indices()
        views_ds = MultiViewDataset(self._probe_base, self.augmentation, self.seed)  # type: ignore[arg-type]
        per_sample = [views_ds[(PROBE_VIEW_EPOCH, int(i))][0] for i in indices]
        return [torch.stack(v) for v in zip(*per_sample)]

    @property
    def probe_size_used(self) -> int:
        """The probe set's actual size: ``probe_size``, or all samples of the
        split when it holds fewer (logged once as a warning)."""
        self.setup()
        total = len(self._probe_base)  # type: ignore[arg-type]
        if self.probe_size > total and not self._clamp_warned:
            self._clamp_warned = True
            hint = "; datamodule.probe_split=all draws from train+val" if self.probe_split == "val" else ""
            log.warning(
                f"datamodule.probe_size={self.probe_size} exceeds the {total} samples of the "
                f"'{self.probe_split}' split: the probe set holds all {total}{hint}"
            )
        return min(self.probe_size, total)

    def _probe_indices(self) -> torch.Tensor:
        if self._probe_index is None:
            n = self.probe_size_used
            total = len(self._probe_base)  # type: ignore[arg-type]
            gen = torch.Generator().manual_seed(self.seed)
            self._probe_index = torch.randperm(total, generator=gen)[:n].sort().values
        return self._probe_index
