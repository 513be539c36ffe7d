"""Keyed samples and the collates that turn them into views, reproducibly.

Augmentation randomness is a pure function of ``(seed, epoch, index)``: the
sampler hands ``(epoch, index)`` keys to the dataset, the batch carries them,
and :class:`~ssl_it.augmentation.batched.BatchedViews` draws each sample's
parameters from its key, in the loader workers (:class:`ViewCollate`) or on
the accelerator. A resumed run, a run with another number of workers,
another batch size or another device therefore sees the same views.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import torch
import torch.distributed as dist
from torch.utils.data import Dataset, Sampler

from ssl_it.augmentation.batched import BatchedViews

SampleKey = tuple[int, int]


class EpochKeySampler(Sampler[SampleKey]):
    """Shuffles indices with a generator seeded by ``(seed, epoch)`` and yields
    ``(epoch, index)`` keys. Shards by rank under ``torch.distributed`` (so
    Lightning's own distributed sampler must be off: ``use_distributed_sampler=False``)."""

    def __init__(self, n_samples: int, seed: int, shuffle: bool = True) -> None:
        self.n_samples = n_samples
        self.seed = seed
        self.shuffle = shuffle
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch that seeds the next shuffle and goes into the keys."""
        self.epoch = epoch

    def _shard(self) -> tuple[int, int]:
        if dist.is_available() and dist.is_initialized():
            return dist.get_rank(), dist.get_world_size()
        return 0, 1

    def __len__(self) -> int:
        return math.ceil(self.n_samples / self._shard()[1])

    def __iter__(self) -> Iterator[SampleKey]:
        if self.shuffle:
            gen = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
            order = torch.randperm(self.n_samples, generator=gen).tolist()
        else:
            order = list(range(self.n_samples))
        rank, world = self._shard()
        per_rank = len(self)
        order = (order + order[: per_rank * world - len(order)])[rank::world]
        return iter((self.epoch, i) for i in order)


class TransformedDataset(Dataset):
    """Applies a deterministic transform (normalisation) to each sample."""

    def __init__(self, base: Dataset, transform: Callable[[torch.Tensor], torch.Tensor]) -> None:
        self.base = base
        self.transform = transform

    def __len__(self) -> int:
        return len(self.base)  # type: ignore[arg-type]

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        sample, label = self.base[index]
        return self.transform(sample), int(label)


class KeyedImages(Dataset):
    """Item ``(epoch, i)``: ``{"image": uint8 (C, H, W), encoded bytes or a
    float vector (D,), "key": (epoch, i), "label": y}``; the batch carries
    its keys, from which the views' random parameters are drawn."""

    def __init__(self, base: Dataset) -> None:
        self.base = base

    def __len__(self) -> int:
        return len(self.base)  # type: ignore[arg-type]

    def __getitem__(self, key: SampleKey | int) -> dict[str, torch.Tensor | int]:
        epoch, index = key if isinstance(key, tuple) else (0, key)
        image, label = self.base[index]
        return {"image": image, "key": torch.tensor([epoch, index]), "label": int(label)}


class EncodedBatch:
    """Undecoded files of a batch, packed: their bytes end to end in one 1-D
    uint8 tensor, and their lengths. Not a tensor nor a collection, so
    Lightning's transfer leaves it on the host, where ``decode_jpeg(...,
    device=...)`` wants it.

    Packed into fresh memory because ``read_file``'s tensors map their file
    and close its descriptor: a loader worker cannot hand such a tensor to
    the main process (``os.dup``: Bad file descriptor), and the loader then
    waited forever for the batch. Every GPU run on a JPEG folder with loader
    workers did (docs/results/gpu-check.md). Packed, a batch is also two
    tensors to share instead of one per file."""

    def __init__(self, files: list[torch.Tensor]) -> None:
        self.data = torch.cat(files) if files else torch.empty(0, dtype=torch.uint8)
        self.lengths = torch.tensor([len(f) for f in files], dtype=torch.int64)

    @property
    def files(self) -> list[torch.Tensor]:
        """Each file's bytes: 1-D uint8 views into :attr:`data`."""
        return list(torch.split(self.data, self.lengths.tolist()))

    def __len__(self) -> int:
        return len(self.lengths)


def collate_keyed(items: list[dict[str, torch.Tensor | int]]) -> dict[str, object]:
    """Stack images (or vectors), keys and labels; encoded files (1-D uint8) are packed in an :class:`EncodedBatch`."""
    images: list[torch.Tensor] = [it["image"] for it in items]  # type: ignore[misc]
    batch: dict[str, object] = {
        "keys": torch.stack([it["key"] for it in items]),  # type: ignore[misc]
        "labels": torch.tensor([it["label"] for it in items]),
    }
    if images[0].dim() == 1 and images[0].dtype == torch.uint8:
        batch["encoded"] = EncodedBatch(images)
    else:
        batch["images"] = torch.stack(images)
    return batch


class ViewCollate:
    """The collate of the CPU placement: stacks a batch of keyed samples and
    makes its views there, in the loader worker. Returns ``(views, labels)``.

    Args:
        views: the batched view pipeline (the one the accelerator would run).
    """

    def __init__(self, views: BatchedViews) -> None:
        self.views = views

    def __call__(self, items: list[dict[str, torch.Tensor | int]]) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Collate keyed samples and make their views: ``(views, labels)``."""
        batch = collate_keyed(items)
        images, keys, labels = batch["images"], batch["keys"], batch["labels"]
        assert isinstance(images, torch.Tensor) and isinstance(keys, torch.Tensor) and isinstance(labels, torch.Tensor)
        return self.views(images, keys), labels
