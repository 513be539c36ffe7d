"""The DataModule: augmented multi-view training batches, an un-augmented
validation set, a fixed, seeded, stratified probe set for the callbacks, and
a stratified subset of the training split for kNN and linear evaluation.

Views are made by one implementation,
:class:`ssl_it.augmentation.batched.BatchedViews`, in one of two places
(``views_on_device``). Either way the loader workers decode each sample and
resize it to a fixed base size in uint8 (so images of different sizes stack),
and the batch carries its ``(epoch, index)`` keys, from which each sample's
random parameters are drawn (they depend on ``(seed, epoch, index)`` only):

- in the loader workers (the CPU placement): the worker's collate makes the
  views of its batch (:class:`~ssl_it.data.views.ViewCollate`);
- on the accelerator: after the batch reaches the device,
  :meth:`SSLDataModule.on_after_batch_transfer` makes them there.

The two placements draw the same views for a key (up to the float kernels of
the device), and the LightningModule receives ``(views, labels)`` either way.

This file is near 350 lines: it serves both placements with the same
loaders and probe sets, and implements the measurements'
:class:`~ssl_it.data.probe_data.ProbeData`.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities import rank_zero_info
from torch.utils.data import ConcatDataset, DataLoader, Dataset, Subset
from typing_extensions import override

from ssl_it import checks
from ssl_it.augmentation import EvalTransform, MultiView
from ssl_it.augmentation.batched import BatchedViews
from ssl_it.data.folder import decode_batch
from ssl_it.data.probe_data import VIEW_SOURCES, Batches, Source, two_views
from ssl_it.data.sampling import sample_order
from ssl_it.data.sources import DataSource
from ssl_it.data.views import EpochKeySampler, KeyedImages, TransformedDataset, ViewCollate, collate_keyed
from ssl_it.threads import threads

PROBE_VIEW_EPOCH = 2**31 - 1  # an epoch key no training epoch reaches
Auto = Literal["auto"] | bool

log = logging.getLogger(__name__)


def default_num_workers() -> int:
    """One loader worker per spare core, at most 8 (0 on a single core)."""
    return max(0, min(8, (os.cpu_count() or 1) - 1))


def _auto(value: Auto, key: str) -> Auto:
    if not (value == "auto" or isinstance(value, bool)):
        checks.fail(f"datamodule.{key}", "auto, true or false", value)
    return value


class SSLDataModule(pl.LightningDataModule):
    """Multi-view training data plus a fixed probe set and evaluation subsets.

    Args:
        source: where the samples come from (shapes, statistics, splits).
        augmentation: the view pipeline (its recipe; the views are made in batches).
        eval_transform: maps one sample to its un-augmented tensor; ``None``
            builds :class:`EvalTransform` from the source (normalisation,
            resizing to ``source.image_size``).
        batch_size: training batch size per process.
        num_workers: loader worker processes; ``None`` picks one per spare core.
        pin_memory: ``None`` pins only when CUDA is available (the transfer
            to the GPU is then asynchronous).
        probe_size: size of the fixed probe subset (stratified by label), an
            upper bound: when the split it is drawn from is smaller, the
            whole split is used, said once at INFO, and
            :attr:`probe_size_used` (and ``n_probe`` in ``infoplane.csv``)
            records the actual size.
        probe_split: where the probe subset is drawn from: the held-out
            ``val`` split (default) or ``all`` samples (the classic
            information-plane setting, where the plane is measured on the
            whole finite input set).
        seed: seeds shuffling, augmentation and every subset.
        drop_last: drop the last incomplete training batch (batch statistics
            of the SSL losses are meaningless on tiny batches).
        views_on_device: make the training views on the accelerator rather
            than in the loader workers (``auto``: when the trainer runs on a
            GPU); the views are the same either way.
        decode_on_device: for folders of JPEGs with views on the device,
            decode the files there too, in one ``decode_jpeg`` call per
            batch (``auto``: when the device is a GPU).
        eval_size: samples of the training split (a stratified subset) on
            which kNN and linear evaluation compute frozen features;
            ``None``: the whole split.
    """

    def __init__(
        self,
        source: DataSource,
        augmentation: MultiView,
        eval_transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
        batch_size: int = 256,
        num_workers: int | None = None,
        pin_memory: bool | None = None,
        probe_size: int = 1000,
        probe_split: Literal["val", "all"] = "val",
        seed: int = 0,
        drop_last: bool = True,
        views_on_device: Auto = "auto",
        decode_on_device: Auto = "auto",
        eval_size: int | None = 10_000,
    ) -> None:
        super().__init__()
        checks.integer("datamodule.batch_size", batch_size)
        checks.integer("datamodule.probe_size", probe_size)
        checks.choice("datamodule.probe_split", probe_split, ("val", "all"))
        if eval_size is not None:
            checks.integer("datamodule.eval_size", eval_size)
        if num_workers is not None:
            checks.integer("datamodule.num_workers", num_workers, minimum=0)
        self.source = source
        self.augmentation = augmentation
        self.batched_views = BatchedViews(augmentation, seed)
        self.eval_transform = eval_transform or EvalTransform(source.mean, source.std, size=source.image_size)
        self.batch_size = batch_size
        self.num_workers = default_num_workers() if num_workers is None else num_workers
        self.pin_memory = torch.cuda.is_available() if pin_memory is None else pin_memory
        self.probe_size, self.probe_split = probe_size, probe_split
        self.seed = seed
        self.drop_last = drop_last
        self.views_on_device = _auto(views_on_device, "views_on_device")
        self.decode_on_device = _auto(decode_on_device, "decode_on_device")
        self.eval_size = eval_size
        self.on_device = False
        self._decode = False
        self._bases: dict[tuple[str, str], Dataset] = {}
        self._orders: dict[str, np.ndarray] = {}
        self._eval_loader: DataLoader | None = None
        self._probe: tuple[torch.Tensor, torch.Tensor] | None = None
        self._probe_pair: list[torch.Tensor] | None = None
        self.train_set: Dataset | None = None
        self.val_set: Dataset | None = None
        self._clamp_warned = False
        self._resume_epoch = 0

    # ----------------------------------------------------------------- data
    def _base(self, split: Literal["train", "val", "all"], kind: str = "float") -> Dataset:
        """A split (``train``, ``val`` or ``all``) as float samples, uint8
        base-size images or encoded files; each built once."""
        if (split, kind) not in self._bases:
            if split == "all":
                data: Dataset = ConcatDataset([self._base("train", kind), self._base("val", kind)])
            else:
                load = {
                    "float": self.source.load,
                    "uint8": self.source.load_images,
                    "encoded": getattr(self.source, "load_encoded", None),
                }[kind]
                data = load(split)  # type: ignore[misc]
            self._bases[split, kind] = data
        return self._bases[split, kind]

    def _order(self, split: Literal["train", "val", "all"]) -> np.ndarray:
        """The split's seeded stratified order (random when labels are unknown)."""
        if split not in self._orders:
            self._orders[split] = sample_order(self._base(split), self.seed)
        return self._orders[split]

    def _view_kind(self) -> str:
        """What the views are made from: uint8 base-size images, or float vectors."""
        return "float" if self.source.image_size is None else "uint8"

    def _device(self) -> torch.device:
        trainer = self.trainer
        return trainer.strategy.root_device if trainer is not None else torch.device("cpu")

    @override
    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        device = self._device()
        on_device = self.views_on_device if isinstance(self.views_on_device, bool) else device.type == "cuda"
        if on_device and self.source.image_size is None:
            if self.views_on_device is True:
                raise ValueError("datamodule.views_on_device=true needs image data; this source holds vectors")
            on_device = False
        self.on_device = on_device
        if on_device:
            can_decode = getattr(self.source, "all_jpeg", False)
            want = self.decode_on_device if isinstance(self.decode_on_device, bool) else device.type == "cuda"
            if want and not can_decode and self.decode_on_device is True:
                raise ValueError("datamodule.decode_on_device=true needs a folder of JPEG files (data=imagefolder)")
            self._decode = bool(want and can_decode)
            rank_zero_info(
                f"ssl_it: training views made on {device} in batches{' (JPEGs decoded there)' if self._decode else ''}"
            )
        self.train_set = KeyedImages(self._base("train", "encoded" if self._decode else self._view_kind()))
        self.val_set = TransformedDataset(self._base("val"), self.eval_transform)
        if len(self.train_set) < self.batch_size and self.drop_last:
            raise ValueError(
                f"datamodule.batch_size={self.batch_size} exceeds the {len(self.train_set)} training samples"
            )

    # -------------------------------------------------------------- loaders
    def _loader(self, dataset: Dataset, persistent: bool = True, **kwargs: Any) -> DataLoader:
        return DataLoader(
            dataset,
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
            persistent_workers=persistent and self.num_workers > 0,
            **kwargs,
        )

    @override
    def train_dataloader(self) -> DataLoader:
        assert self.train_set is not None
        sampler = EpochKeySampler(len(self.train_set), seed=self.seed)  # type: ignore[arg-type]
        # Lightning starts the loader's iterator (and the workers' prefetch) before it sets the
        # sampler's epoch, and on a resume before it restores its loops: start at the right epoch.
        sampler.set_epoch(max(self._resume_epoch, self._epochs_done()))
        collate = collate_keyed if self.on_device else ViewCollate(self.batched_views)
        return self._loader(
            self.train_set, batch_size=self.batch_size, sampler=sampler, drop_last=self.drop_last, collate_fn=collate
        )

    def _epochs_done(self) -> int:
        trainer = self.trainer
        if trainer is None:
            return 0
        return int(trainer.fit_loop.epoch_progress.current.processed)  # type: ignore[attr-defined]  # typed as its base class

    def state_dict(self) -> dict[str, Any]:
        """The training epoch the next loader starts at (kept in checkpoints)."""
        return {"next_epoch": self._epochs_done()}

    @override
    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._resume_epoch = int(state_dict.get("next_epoch", 0))

    def val_dataloader(self) -> DataLoader:
        """The validation split in a fixed stratified order, so a
        ``limit_val_batches`` prefix holds every class."""
        self.setup()
        data = Subset(self.val_set, self._order("val").tolist())  # type: ignore[arg-type]
        return self._loader(data, batch_size=max(self.batch_size, 256), shuffle=False)

    def train_eval_dataloader(self) -> DataLoader:
        """The un-augmented training split, or its stratified ``eval_size``
        subset (kNN bank, linear evaluation); one loader, kept."""
        if self._eval_loader is None:
            self.setup()
            order = self._order("train")[: self.eval_size]
            data = Subset(TransformedDataset(self._base("train"), self.eval_transform), order.tolist())
            self._eval_loader = self._loader(data, batch_size=max(self.batch_size, 256), shuffle=False)
        return self._eval_loader

    # ----------------------------------------------------- views on device
    @override
    def on_before_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        if self.on_device and isinstance(batch, dict) and "keys" in batch:
            size = self.source.base_size
            batch["plans"] = self.batched_views.plan(batch["keys"], size, size)  # type: ignore[arg-type]
        return batch

    @override
    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        if not (self.on_device and isinstance(batch, dict) and "plans" in batch):
            return batch
        images = batch.get("images")
        if images is None:
            images = decode_batch(
                batch["encoded"].files,
                self.source.channels,
                self.source.base_size,  # type: ignore[arg-type]
                batch["labels"].device,
            )
        return self.batched_views.apply(images, batch["plans"]), batch["labels"]

    # ------------------------------------------------------------ probe set
    def _per_sample_threads(self) -> contextlib.AbstractContextManager[None]:
        """One intra-op thread while samples are transformed in this process
        (``num_workers=0``): tiny per-sample ops on several threads beside
        other work oversubscribe the cores (docs: results/jpeg-folder.md).
        Loader workers use one thread already."""
        return threads(1 if self.num_workers == 0 else None)

    def _probe_indices(self) -> np.ndarray:
        """The first ``probe_size`` samples of the stratified order, sorted."""
        return np.sort(self._order(self.probe_split)[: self.probe_size_used])

    def probe_set(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The fixed probe subset: un-augmented inputs and labels.

        Drawn from the probe split by ``seed``, stratified by label; the same
        samples at every call. Built once, in batches, on the loader's
        workers. Returns ``(inputs (n, *input_shape), labels (n,))``.
        """
        if self._probe is None:
            self.setup()
            data = Subset(
                TransformedDataset(self._base(self.probe_split), self.eval_transform), self._probe_indices().tolist()
            )
            with self._per_sample_threads():
                xs, ys = zip(*self._loader(data, persistent=False, batch_size=256))
            self._probe = torch.cat(xs), torch.cat(ys)
        return self._probe

    def probe_views(self) -> list[torch.Tensor]:
        """Augmented views of the probe samples, ``[(n, *shape), ...]`` per view.

        The augmentation draws are fixed (the same views at every call), so
        ``I(Z1;Z2)`` measured over training compares like with like. Made the
        way the training views are made (in batches, by the same pipeline, on
        the device the training views are made on), returned on the CPU.
        """
        self.setup()
        keys = [(PROBE_VIEW_EPOCH, int(i)) for i in self._probe_indices()]
        data = KeyedImages(self._base(self.probe_split, self._view_kind()))
        collate = collate_keyed if self.on_device else ViewCollate(self.batched_views)
        loader = self._loader(data, persistent=False, batch_size=256, sampler=keys, collate_fn=collate)
        if not self.on_device:
            batches = [views for views, _ in loader]
        else:
            device = self._device()
            batches = [
                [v.cpu() for v in self.batched_views(b["images"].to(device), b["keys"])]  # type: ignore[union-attr]
                for b in loader
            ]
        return [torch.cat(per_view) for per_view in zip(*batches)]

    # -------------------------------------------- the ProbeData protocol
    @property
    def num_classes(self) -> int:
        """The number of label classes of the data source."""
        return int(self.source.num_classes)

    def probe_batches(self, source: Source) -> Batches:
        """``(inputs, labels)`` batches of a measurement source
        (:class:`~ssl_it.data.probe_data.ProbeData`); the probe set and its
        two views are one in-memory batch each (the views drawn once)."""
        if source == "train_eval":
            return self.train_eval_dataloader()
        if source == "val":
            return self.val_dataloader()
        inputs, labels = self.probe_set()
        if source == "probe":
            return [(inputs, labels)]
        pair = self._two_probe_views()
        if not pair or source not in VIEW_SOURCES:
            raise ValueError(f"probe source '{source}': the augmentation gives no two views of one shape")
        return [(pair[VIEW_SOURCES.index(source)], labels)]

    def probe_count(self, source: Source) -> int:
        """How many samples ``source`` holds (0 for views it cannot give)."""
        if source == "train_eval":
            return len(self.train_eval_dataloader().dataset)  # type: ignore[arg-type]
        if source == "val":
            self.setup()
            return len(self.val_set)  # type: ignore[arg-type]
        if source in VIEW_SOURCES and not self._two_probe_views():
            return 0
        return self.probe_size_used

    def _two_probe_views(self) -> list[torch.Tensor]:
        if self._probe_pair is None:
            self._probe_pair = two_views(self.probe_views())
        return self._probe_pair

    @property
    def probe_size_used(self) -> int:
        """The probe set's actual size: ``probe_size``, or all samples of the
        split when it holds fewer (said once, at INFO: ``probe_size`` is an
        upper bound, and the size used is recorded as ``probe_size_used`` and
        ``n_probe``; the default 512 exceeds the 359 validation digits of
        ``data=digits``, where using all of them is the intended behaviour)."""
        self.setup()
        total = len(self._base(self.probe_split))  # type: ignore[arg-type]
        if self.probe_size > total and not self._clamp_warned:
            self._clamp_warned = True
            hint = "; datamodule.probe_split=all draws from train+val" if self.probe_split == "val" else ""
            log.info(
                f"datamodule.probe_size={self.probe_size} exceeds the {total} samples of the "
                f"'{self.probe_split}' split: the probe set holds all {total}{hint}"
            )
        return min(self.probe_size, total)
