"""Standard image datasets through torchvision (real download code for users).

Samples are converted to float tensors in [0, 1] per item, so nothing larger
than the raw dataset is held in memory. ``download=False`` with missing files,
and a download that fails (no network), stop before training with the keys
to change.
"""

from __future__ import annotations

from http.client import HTTPException
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset
from torchvision import datasets
from torchvision.transforms import v2
from typing_extensions import override

from ssl_it.data.sources import DataSource, Split


def _to_image(channels: int, dtype: torch.dtype = torch.float32) -> v2.Compose:
    """PIL image -> tensor with ``channels`` channels: float in [0, 1] or uint8."""
    steps: list[Any] = [v2.ToImage(), v2.RGB() if channels == 3 else v2.Grayscale(num_output_channels=1)]
    steps.append(v2.ToDtype(dtype, scale=True))
    steps.append(v2.ToPureTensor())
    return v2.Compose(steps)


SPLITS: tuple[Split, ...] = ("train", "val")


class TorchvisionSource(DataSource):
    """Base of the torchvision datasets: ``root``, ``download`` and the split names."""

    dataset_cls: type
    split_arg: dict[Split, dict[str, Any]] = {"train": {"train": True}, "val": {"train": False}}

    def __init__(self, root: str = "data", download: bool = True) -> None:
        self.root = Path(root).expanduser()
        self.download = download

    @override
    def load(self, split: Split) -> Dataset:
        return self._dataset(split, torch.float32)

    @override
    def load_images(self, split: Split) -> Dataset:
        return self._dataset(split, torch.uint8)

    def _dataset(self, split: Split, dtype: torch.dtype) -> Dataset:
        return self.dataset_cls(
            str(self.root),
            download=self.download,
            transform=_to_image(self.input_shape[0], dtype),
            **self.split_arg[split],
        )

    def check_available(self) -> None:
        """Both splits are under ``root``, or (``download=true``) are downloaded
        now, before training; a failure names ``data.root``/``data.download``."""
        try:
            for split in SPLITS:
                self.dataset_cls(str(self.root), download=False, **self.split_arg[split])
            return
        except (RuntimeError, FileNotFoundError) as err:
            if not self.download:
                raise ValueError(
                    f"data.download=false but {type(self).__name__} is not under data.root='{self.root}' "
                    f"({err}); set data.download=true or point data.root at the files"
                ) from None
        try:
            for split in SPLITS:
                self.dataset_cls(str(self.root), download=True, **self.split_arg[split])
        except (OSError, RuntimeError, HTTPException) as err:  # URLError is an OSError
            reason = str(getattr(err, "reason", "") or err).strip().splitlines()[0][:200]
            folder = getattr(self.dataset_cls, "base_folder", None)
            layout = f"'{folder}' inside it, " if isinstance(folder, str) else ""
            raise ValueError(
                f"data.download=true: {type(self).__name__} is not under data.root='{self.root}' and cannot be "
                f"downloaded ({reason}); without network, copy the dataset from a machine that has it (torchvision's "
                f"layout: {layout}as its download writes it) and give data.root=<that folder> data.download=false"
            ) from None


class MNIST(TorchvisionSource):
    """MNIST handwritten digits (torchvision): 28x28 greyscale, 10 classes."""

    dataset_cls = datasets.MNIST
    input_shape = (1, 28, 28)
    num_classes = 10
    mean = (0.1307,)
    std = (0.3081,)


class FashionMNIST(TorchvisionSource):
    """Fashion-MNIST clothing images (torchvision): 28x28 greyscale, 10 classes."""

    dataset_cls = datasets.FashionMNIST
    input_shape = (1, 28, 28)
    num_classes = 10
    mean = (0.2860,)
    std = (0.3530,)


class CIFAR10(TorchvisionSource):
    """CIFAR-10 (torchvision): 32x32 colour, 10 classes."""

    dataset_cls = datasets.CIFAR10
    input_shape = (3, 32, 32)
    num_classes = 10
    mean = (0.4914, 0.4822, 0.4465)
    std = (0.2470, 0.2435, 0.2616)


class CIFAR100(TorchvisionSource):
    """CIFAR-100 (torchvision): 32x32 colour, 100 fine classes."""

    dataset_cls = datasets.CIFAR100
    input_shape = (3, 32, 32)
    num_classes = 100
    mean = (0.5071, 0.4865, 0.4409)
    std = (0.2673, 0.2564, 0.2762)


class STL10(TorchvisionSource):
    """STL-10 labelled splits (train 5k / test 8k) at 96 px."""

    dataset_cls = datasets.STL10
    split_arg = {"train": {"split": "train"}, "val": {"split": "test"}}
    input_shape = (3, 96, 96)
    num_classes = 10
    mean = (0.4467, 0.4398, 0.4066)
    std = (0.2603, 0.2566, 0.2713)


class SVHN(TorchvisionSource):
    """SVHN house numbers (torchvision; its ``test`` split is ``val``): 32x32 colour, 10 classes."""

    dataset_cls = datasets.SVHN
    split_arg = {"train": {"split": "train"}, "val": {"split": "test"}}
    input_shape = (3, 32, 32)
    num_classes = 10
    mean = (0.4377, 0.4438, 0.4728)
    std = (0.1980, 0.2010, 0.1970)
