"""Folders of images in class sub-folders (``train_dir/<class>/*.jpg``).

Files are decoded with ``torchvision.io`` (libjpeg-turbo for JPEG, on the CPU
in the loader workers, or batched on the GPU with ``decode_jpeg(device=...)``
when the views are made there) rather than PIL. The image size is read from
the data unless given: a folder of 32 px images is trained at 32 px, and
asking for more warns that the images will be upsampled.

Three views of a split:

- :meth:`ImageFolder.load`: float images in [0, 1] at their original size
  (the per-sample view pipelines crop the original image; the evaluation
  transform resizes to ``image_size``);
- :meth:`ImageFolder.load_images`: uint8 images resized (shorter side) and
  centre-cropped to ``base_size``, for views made on the accelerator;
- :meth:`ImageFolder.load_encoded`: the undecoded file bytes, for decoding
  on the GPU.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset
from torchvision import datasets
from torchvision.io import ImageReadMode, decode_image, decode_jpeg, read_file
from torchvision.transforms.v2 import functional as TF

from ssl_it.data.sources import DataSource, Split

SIZE_SAMPLE = 64  # files whose headers are read to find the image size


def decode(data: torch.Tensor, channels: int) -> torch.Tensor:
    """uint8 ``(channels, H, W)`` image from encoded bytes (JPEG, PNG, ...)."""
    return decode_image(data, mode=ImageReadMode.RGB if channels == 3 else ImageReadMode.GRAY)


def resize_uint8(image: torch.Tensor, size: int) -> torch.Tensor:
    """Shorter side to ``size`` (bilinear, antialiased, uint8 in and out),
    then a centre crop to ``size x size``."""
    if tuple(image.shape[-2:]) != (size, size):
        image = TF.resize(image, [size], antialias=True)
        image = TF.center_crop(image, [size, size])
    return image


def decode_float(data: torch.Tensor, channels: int) -> torch.Tensor:
    """Float ``(channels, H, W)`` image in [0, 1] at the file's own size."""
    return decode(data, channels).float().div_(255.0)


def decode_resized(data: torch.Tensor, channels: int, size: int) -> torch.Tensor:
    """uint8 ``(channels, size, size)``: decoded, shorter side resized, centre-cropped."""
    return resize_uint8(decode(data, channels), size)


def _identity(data: torch.Tensor) -> torch.Tensor:
    return data


def native_size(files: list[str]) -> int:
    """Median shorter side of up to ``SIZE_SAMPLE`` evenly spread files
    (headers only)."""
    picks = np.unique(np.linspace(0, len(files) - 1, min(SIZE_SAMPLE, len(files))).astype(int))
    sides = []
    for i in picks:
        with Image.open(files[i]) as im:
            sides.append(min(im.size))
    return int(np.median(sides))


class ImageFolder(DataSource):
    """Images in class sub-folders, decoded with ``torchvision.io``.

    Args:
        train_dir: folder of the training split (one sub-folder per class).
        val_dir: folder of the validation split (the same class names).
        image_size: side of the views and of the evaluation inputs;
            ``None`` reads it from the data (median shorter side). A value
            above the images' own size upsamples them, with a warning.
        base_size: side of the uint8 images handed to views made on the
            accelerator (shorter side resized, centre-cropped); ``None``:
            ``image_size * 8 / 7`` (256 for 224 views) when the images are
            that large, else the images' own size, at least ``image_size``.
        channels: 3 (RGB) or 1 (grayscale); images are converted.
        mean, std: per-channel normalisation statistics.

    Raises:
        ValueError: a missing folder, an empty folder, a bad size or channel count.
    """

    def __init__(
        self,
        train_dir: str,
        val_dir: str,
        image_size: int | None = None,
        base_size: int | None = None,
        channels: int = 3,
        mean: tuple[float, ...] = (0.485, 0.456, 0.406),
        std: tuple[float, ...] = (0.229, 0.224, 0.225),
    ) -> None:
        for key, folder in (("train_dir", train_dir), ("val_dir", val_dir)):
            if not Path(folder).is_dir():
                raise ValueError(f"data.{key}: no directory at '{folder}'")
        if channels not in (1, 3):
            raise ValueError(f"data.channels must be 1 or 3, got {channels}")
        if len(mean) != channels or len(std) != channels:
            raise ValueError(f"data.mean and data.std need {channels} values each")
        self.train_dir, self.val_dir = Path(train_dir), Path(val_dir)
        self._folders: dict[Split, datasets.ImageFolder] = {}
        files = [path for path, _ in self._folder("train").samples]
        if not files:
            raise ValueError(f"data.train_dir: no images under '{train_dir}'")
        self.native_size = native_size(files)
        size = self.native_size if image_size is None else image_size
        if size < 8:
            raise ValueError(f"data.image_size must be >= 8, got {size}")
        if size > self.native_size:
            warnings.warn(
                f"data.image_size={size} upsamples the {self.native_size} px images of '{train_dir}' "
                "(set data.image_size=null to train at their own size)",
                stacklevel=2,
            )
        if base_size is not None and base_size < size:
            raise ValueError(f"data.base_size must be >= data.image_size={size} or null, got {base_size}")
        self._base_size = base_size or max(size, min(self.native_size, round(size * 8 / 7)))
        self.input_shape = (channels, size, size)
        self.mean, self.std = tuple(mean), tuple(std)
        self.num_classes = len(self._folder("train").classes)

    @property
    def base_size(self) -> int:
        return self._base_size

    def _folder(self, split: Split) -> datasets.ImageFolder:
        if split not in self._folders:
            folder = self.train_dir if split == "train" else self.val_dir
            self._folders[split] = datasets.ImageFolder(str(folder), loader=read_file)
        return self._folders[split]

    def _files(self, split: Split, transform: Callable[[torch.Tensor], torch.Tensor]) -> Dataset:
        folder = self._folder(split)
        return EncodedFiles(folder.samples, transform)

    def load(self, split: Split) -> Dataset:
        return self._files(split, partial(decode_float, channels=self.input_shape[0]))

    def load_images(self, split: Split) -> Dataset:
        return self._files(split, partial(decode_resized, channels=self.input_shape[0], size=self.base_size))

    def load_encoded(self, split: Split) -> Dataset:
        """The files' bytes (uint8 1-D tensors) and labels, undecoded."""
        return self._files(split, _identity)

    @property
    def all_jpeg(self) -> bool:
        """Whether every training file is a JPEG (GPU decoding needs it)."""
        return all(Path(p).suffix.lower() in (".jpg", ".jpeg") for p, _ in self._folder("train").samples)


class EncodedFiles(Dataset):
    """``(transform(file bytes), label)`` for a list of ``(path, label)``."""

    def __init__(self, samples: list[tuple[str, int]], transform: Callable[[torch.Tensor], torch.Tensor]) -> None:
        self.samples = samples
        self.targets = [label for _, label in samples]
        self.transform = transform

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        path, label = self.samples[index]
        return self.transform(read_file(path)), label


def decode_batch(files: list[torch.Tensor], channels: int, size: int, device: torch.device) -> torch.Tensor:
    """uint8 ``(B, channels, size, size)`` on ``device``: the JPEG files decoded
    in one batched ``decode_jpeg`` call (nvJPEG on a GPU), each resized
    (shorter side) and centre-cropped to ``size``."""
    mode = ImageReadMode.RGB if channels == 3 else ImageReadMode.GRAY
    images = decode_jpeg(files, mode=mode, device=device)
    return torch.stack([resize_uint8(image, size) for image in images])
