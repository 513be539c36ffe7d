"""Folders of images in class sub-folders (``train_dir/<class>/*.jpg``).

Files are decoded with ``torchvision.io`` (libjpeg-turbo for JPEG, on the CPU
in the loader workers, or batched on the GPU with ``decode_jpeg(device=...)``
when the views are made there) rather than PIL. The image size is read from
the data unless given: a folder of 32 px images is trained at 32 px, and
asking for more warns that the images will be upsampled.

Three views of a split:

- :meth:`ImageFolder.load`: float images in [0, 1] at their original size
  (the evaluation transform resizes them to ``image_size``);
- :meth:`ImageFolder.load_images`: uint8 images resized (shorter side) and
  centre-cropped to ``base_size``, from which the views are made (in the
  loader workers or on the accelerator);
- :meth:`ImageFolder.load_encoded`: the undecoded file bytes, for decoding
  on the GPU.
"""

from __future__ import annotations

import io
import logging
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset
from torchvision import datasets
from torchvision.io import ImageReadMode, decode_image, decode_jpeg, read_file
from torchvision.transforms.v2 import functional as TF
from typing_extensions import override

from ssl_it import checks
from ssl_it.data.sources import DataSource, Split

log = logging.getLogger(__name__)
SIZE_SAMPLE = 64  # files whose headers are read to find the image size


def decode(data: torch.Tensor, channels: int) -> torch.Tensor:
    """uint8 ``(channels, H, W)`` image from encoded bytes.

    ``torchvision.io`` decodes JPEG, PNG, WEBP and GIF; the other formats a
    class folder may hold (BMP, TIFF, PPM/PGM), and images it cannot give in
    ``channels`` channels, go through PIL. 16-bit PNGs
    are scaled to 8 bits, so every image reaches the views in [0, 255].
    """
    try:
        image = decode_image(data, mode=ImageReadMode.RGB if channels == 3 else ImageReadMode.GRAY)
    except RuntimeError:
        image = decode_with_pil(data, channels)
    if image.ndim != 3 or image.shape[0] != channels:  # GIF frames; WEBP ignores GRAY
        image = decode_with_pil(data, channels)
    if image.dtype != torch.uint8:
        image = TF.to_dtype(image, torch.uint8, scale=True)
    return image


def decode_with_pil(data: torch.Tensor, channels: int) -> torch.Tensor:
    """uint8 ``(channels, H, W)`` through PIL, for formats ``torchvision.io`` lacks."""
    with Image.open(io.BytesIO(data.numpy().tobytes())) as im:
        array = np.asarray(im.convert("RGB" if channels == 3 else "L"))
    image = torch.from_numpy(array.copy())
    return image.permute(2, 0, 1) if image.ndim == 3 else image.unsqueeze(0)


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
        try:
            with Image.open(files[i]) as im:
                sides.append(min(im.size))
        except OSError as error:
            raise ValueError(f"data.train_dir: cannot read the image '{files[i]}': {error}") from error
    return int(np.median(sides))


@dataclass
class ClassFolders:
    """The images of ``root/<class>/...``: class names (sorted), their indices and ``(path, label)`` samples."""

    root: Path
    classes: list[str]
    class_to_idx: dict[str, int]
    samples: list[tuple[str, int]]

    def counts(self) -> str:
        """``"a 16, b 16"``: images per class (the first 20 classes)."""
        per_class = np.bincount([label for _, label in self.samples], minlength=len(self.classes))
        shown = ", ".join(f"{name} {int(n)}" for name, n in zip(self.classes[:20], per_class[:20]))
        return shown + (f", ... ({len(self.classes)} classes)" if len(self.classes) > 20 else "")


def _images_under(class_dir: Path, tree: Path, key: str) -> list[str]:
    """Image files under ``class_dir``, following symlinked folders except
    those that lead back into ``tree`` (or above it) or to a folder already
    listed: a loop such as ``a/loop -> ..`` is skipped with a warning."""
    files: list[str] = []
    seen = {class_dir.resolve()}
    for dirpath, dirnames, filenames in os.walk(class_dir, followlinks=True):
        for name in list(dirnames):
            link = Path(dirpath) / name
            if not link.is_symlink():
                continue
            target = link.resolve()
            back = target == tree or tree in target.parents or target in tree.parents
            if back or target in seen:
                dirnames.remove(name)
                warnings.warn(
                    f"data.{key}: skipped the symlink '{link}' -> '{target}': it leads back into "
                    f"the image tree (a loop, or images of another class)",
                    stacklevel=2,
                )
            else:
                seen.add(target)
        files += [
            os.path.join(dirpath, f)
            for f in sorted(filenames)
            if datasets.folder.has_file_allowed_extension(f, datasets.folder.IMG_EXTENSIONS)
        ]
    return sorted(files)


def class_folders(folder: Path, key: str) -> ClassFolders:
    """The images of ``folder/<class>/``, or an error naming ``data.<key>``."""
    tree = folder.resolve()
    classes = sorted(e.name for e in os.scandir(folder) if e.is_dir())
    if not classes:
        raise ValueError(f"data.{key}: no class folders in '{folder}' (the layout is '{folder}/<class>/<image>')")
    class_to_idx = {name: i for i, name in enumerate(classes)}
    samples = [(path, class_to_idx[name]) for name in classes for path in _images_under(folder / name, tree, key)]
    if not samples:
        raise ValueError(
            f"data.{key}: no images in the class folders of '{folder}' "
            f"(extensions: {', '.join(datasets.folder.IMG_EXTENSIONS)})"
        )
    return ClassFolders(folder, classes, class_to_idx, samples)


def labels_of_train_classes(val: ClassFolders, class_to_idx: dict[str, int]) -> list[tuple[str, int]]:
    """Validation samples labelled by the training split's class indices.

    torchvision numbers the classes of each folder on its own, so a validation
    folder that lacks one class would shift every later label by one."""
    unknown = sorted(set(val.classes) - set(class_to_idx))
    if unknown:
        known = ", ".join(sorted(class_to_idx)[:10]) + (", ..." if len(class_to_idx) > 10 else "")
        raise ValueError(
            f"data.val_dir: classes {unknown[:10]} of '{val.root}' have no folder in data.train_dir "
            f"(its classes: {known})"
        )
    return [(path, class_to_idx[val.classes[label]]) for path, label in val.samples]


class ImageFolder(DataSource):
    """Images in class sub-folders, decoded with ``torchvision.io``.

    Args:
        train_dir: folder of the training split (one sub-folder per class).
        val_dir: folder of the validation split (the same class names).
        image_size: side of the views and of the evaluation inputs;
            ``None`` reads it from the data (median shorter side). A value
            above the images' own size upsamples them, with a warning.
        base_size: side of the uint8 images the views are made from
            (shorter side resized, centre-cropped); ``None``:
            ``image_size * 8 / 7`` (256 for 224 views) when the images are
            that large, else the images' own size, at least ``image_size``.
        channels: 3 (RGB) or 1 (grayscale); images are converted.
        mean: per-channel normalisation means.
        std: per-channel normalisation standard deviations.

    Raises:
        ValueError: a missing folder, a folder without class sub-folders or
            images, a validation class the training split lacks, a bad size
            or channel count.
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
        checks.choice("data.channels", channels, (1, 3))
        for key, values in (("data.mean", mean), ("data.std", std)):
            if len(values) != channels:
                checks.fail(key, f"{channels} values (data.channels)", values)
        self.train_dir, self.val_dir = Path(train_dir), Path(val_dir)
        train = class_folders(self.train_dir, "train_dir")
        self.classes: list[str] = list(train.classes)
        self._samples: dict[Split, list[tuple[str, int]]] = {
            "train": list(train.samples),
            "val": labels_of_train_classes(class_folders(self.val_dir, "val_dir"), train.class_to_idx),
        }
        log.info(f"data.train_dir: {len(train.samples)} images in {len(self.classes)} classes: {train.counts()}")
        files = [path for path, _ in self._samples["train"]]
        self.native_size = native_size(files)
        size = self.native_size if image_size is None else image_size
        if size < 8:
            checks.fail("data.image_size", "an integer >= 8", size)
        if size > self.native_size:
            warnings.warn(
                f"data.image_size={size} upsamples the {self.native_size} px images of '{train_dir}' "
                "(set data.image_size=null to train at their own size)",
                stacklevel=2,
            )
        if base_size is not None and base_size < size:
            checks.fail("data.base_size", f"null or an integer >= data.image_size={size}", base_size)
        self._base_size = base_size or max(size, min(self.native_size, round(size * 8 / 7)))
        self.input_shape = (channels, size, size)
        self.mean, self.std = tuple(mean), tuple(std)
        self.num_classes = len(self.classes)

    @property
    @override
    def base_size(self) -> int:
        return self._base_size

    def _files(self, split: Split, transform: Callable[[torch.Tensor], torch.Tensor]) -> Dataset:
        return EncodedFiles(self._samples[split], transform)

    @override
    def load(self, split: Split) -> Dataset:
        return self._files(split, partial(decode_float, channels=self.input_shape[0]))

    @override
    def load_images(self, split: Split) -> Dataset:
        return self._files(split, partial(decode_resized, channels=self.input_shape[0], size=self.base_size))

    def load_encoded(self, split: Split) -> Dataset:
        """The files' bytes (uint8 1-D tensors) and labels, undecoded."""
        return self._files(split, _identity)

    @property
    def all_jpeg(self) -> bool:
        """Whether every training file is a JPEG (GPU decoding needs it)."""
        return all(Path(p).suffix.lower() in (".jpg", ".jpeg") for p, _ in self._samples["train"])


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
        try:
            return self.transform(read_file(path)), label
        except (RuntimeError, OSError, ValueError) as error:
            raise RuntimeError(f"data: cannot read or decode the image '{path}': {error}") from error


def decode_batch(files: list[torch.Tensor], channels: int, size: int, device: torch.device) -> torch.Tensor:
    """uint8 ``(B, channels, size, size)`` on ``device``: the JPEG files decoded
    in one batched ``decode_jpeg`` call (nvJPEG on a GPU), each resized
    (shorter side) and centre-cropped to ``size``."""
    mode = ImageReadMode.RGB if channels == 3 else ImageReadMode.GRAY
    try:
        images = decode_jpeg(files, mode=mode, device=device)
    except RuntimeError:  # a JPEG nvJPEG refuses (CMYK, progressive, ...): decoded one by one on the CPU
        images = [decode(data, channels).to(device) for data in files]
    return torch.stack([resize_uint8(image, size) for image in images])
