"""Folders of JPEGs: size read from the data, upsampling warned, crops of the
original image, batched decoding, and train.py end to end at toy size."""

from __future__ import annotations

import csv
import math
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.io import read_file

from ssl_it.data import ImageFolder
from ssl_it.data.folder import decode, decode_batch
from ssl_it.data.views import EncodedBatch, KeyedImages, collate_keyed
from ssl_it.run.config_checks import ConfigError
from ssl_it.train import train


def make_folder(root: Path, per_class: int = 12, size: tuple[int, int] = (12, 14), classes: int = 3) -> Path:
    """``root/{train,val}/c<k>/<i>.jpg``: class k is a bright square in corner k over noise."""
    rng = np.random.default_rng(0)
    for split in ("train", "val"):
        for k in range(classes):
            d = root / split / f"c{k}"
            d.mkdir(parents=True)
            for i in range(per_class):
                img = rng.integers(0, 90, (*size, 3), dtype=np.uint8)
                top, left = (k % 2) * (size[0] // 2), (k // 2) * (size[1] // 2)
                img[top : top + size[0] // 2, left : left + size[1] // 2] = 230
                Image.fromarray(img).save(d / f"{i}.jpg", quality=95)
    return root


def test_size_comes_from_the_data_and_upsampling_warns(tmp_path):
    root = make_folder(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        src = ImageFolder(str(root / "train"), str(root / "val"))
    assert src.input_shape == (3, 12, 12) and src.base_size == 12 and src.num_classes == 3
    with pytest.warns(UserWarning, match=r"data\.image_size=24 upsamples the 12 px images"):
        ImageFolder(str(root / "train"), str(root / "val"), image_size=24)
    with pytest.raises(
        ValueError, match=r"^data\.base_size: must be null or an integer >= data\.image_size=12; got 10$"
    ):
        ImageFolder(str(root / "train"), str(root / "val"), image_size=12, base_size=10)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"channels": 2}, "data.channels: must be one of 1, 3; got 2"),
        ({"std": (0.2, 0.2)}, "data.std: must be 3 values (data.channels); got (0.2, 0.2)"),
        ({"image_size": 4}, "data.image_size: must be an integer >= 8; got 4"),
    ],
)
def test_bad_folder_settings_get_the_standard_wording(tmp_path, kwargs, message):
    root = make_folder(tmp_path)
    with pytest.raises(ValueError) as err:
        ImageFolder(str(root / "train"), str(root / "val"), **kwargs)
    assert str(err.value) == message


def test_samples_are_the_original_images_and_batched_decoding_matches_the_workers(tmp_path):
    root = make_folder(tmp_path)
    src = ImageFolder(str(root / "train"), str(root / "val"), image_size=8)
    x, y = src.load("train")[13]
    assert x.shape == (3, 12, 14) and y == 1 and 0 <= x.min() and x.max() <= 1  # uncropped, unresized
    base = src.base_size  # round(8 * 8 / 7) = 9
    images = torch.stack([src.load_images("train")[i][0] for i in range(5)])
    files = [src.load_encoded("train")[i][0] for i in range(5)]
    assert base == 9 and images.shape == (5, 3, 9, 9) and images.dtype == torch.uint8
    torch.testing.assert_close(decode_batch(files, 3, base, torch.device("cpu")), images, atol=1, rtol=0)


def test_a_batch_of_encoded_files_leaves_the_loader_workers_as_two_tensors(tmp_path):
    # read_file's tensors map their file and close its descriptor: a worker cannot hand one to the main
    # process (os.dup: Bad file descriptor), and the loader waited forever on a GPU machine
    root = make_folder(tmp_path)
    src = ImageFolder(str(root / "train"), str(root / "val"), image_size=8)
    encoded = src.load_encoded("train")
    loader = torch.utils.data.DataLoader(
        KeyedImages(encoded), batch_size=5, num_workers=2, collate_fn=collate_keyed, timeout=60
    )
    batch = next(iter(loader))["encoded"]
    assert isinstance(batch, EncodedBatch) and len(batch) == 5
    assert [t for t in vars(batch).values() if isinstance(t, torch.Tensor)] == [batch.data, batch.lengths]
    assert all(torch.equal(f, encoded[i][0]) for i, f in enumerate(batch.files))
    assert {f.untyped_storage().data_ptr() for f in batch.files} == {batch.data.untyped_storage().data_ptr()}
    images = torch.stack([src.load_images("train")[i][0] for i in range(5)])
    torch.testing.assert_close(decode_batch(batch.files, 3, src.base_size, torch.device("cpu")), images, atol=1, rtol=0)


@pytest.mark.timeout(600)  # a hang guard, not a speed check: a loader that cannot share a batch waits forever
@pytest.mark.parametrize("on_device", [False, True], ids=["views-in-workers", "views-and-decoding-on-device"])
def test_train_on_a_jpeg_folder_with_resnet18_and_simclr(make_cfg, tmp_path, on_device):
    root = make_folder(tmp_path / "data", per_class=16)
    cfg = make_cfg(
        "data=imagefolder",
        f"data.train_dir={root / 'train'}",
        f"data.val_dir={root / 'val'}",
        "backbone=resnet18",
        "augmentation=simclr",
        "+trainer.limit_train_batches=2",
        "datamodule.batch_size=12",
        f"datamodule.views_on_device={str(on_device).lower()}",
        f"datamodule.decode_on_device={str(on_device).lower()}",
        f"datamodule.num_workers={int(on_device)}",  # encoded files through a loader worker, as on a GPU machine
        "datamodule.eval_size=24",
        "datamodule.probe_size=24",
    )
    acc = train(cfg)
    assert 0.0 <= acc <= 1.0
    with (tmp_path / "run" / "infoplane.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert {r["layer"] for r in rows} == {"backbone", "projector", "views"}
    assert {int(r["n_probe"]) for r in rows} == {24}
    assert re.match(r"\d", rows[0]["I_XT"])


def test_vicreg_cifar10_experiment_runs_on_a_jpeg_folder(make_cfg, tmp_path):
    root = make_folder(tmp_path / "data", per_class=12)
    cfg = make_cfg(
        "experiment=vicreg_cifar10",
        "data=imagefolder",
        f"data.train_dir={root / 'train'}",
        f"data.val_dir={root / 'val'}",
        "trainer.accelerator=cpu",
        "trainer.precision=32-true",
        "trainer.max_epochs=1",
        "+trainer.limit_train_batches=1",
        "datamodule.batch_size=12",
        "infoplane=none",
    )
    assert cfg.optimizer.lr == 0.3 and cfg.augmentation.blur_prob == [0.0, 0.0] and cfg.objective.out_dim == 2048
    assert 0.0 <= train(cfg) <= 1.0


def save_in_every_format(folder: Path) -> dict[str, np.ndarray]:
    """One 20x24 image per format a class folder may hold; returns PIL's RGB reading of each."""
    rng = np.random.default_rng(1)
    folder.mkdir(parents=True)
    rgb = lambda: Image.fromarray(rng.integers(0, 255, (20, 24, 3), dtype=np.uint8))  # noqa: E731
    images = {
        "rgb.jpg": rgb(),
        "upper.JPG": rgb(),
        "gray.jpg": rgb().convert("L"),
        "cmyk.jpg": rgb().convert("CMYK"),
        "rgba.png": rgb().convert("RGBA"),
        "palette.png": rgb().convert("P"),
        "gray.png": rgb().convert("L"),
        "bitmap.bmp": rgb(),
        "scan.tiff": rgb(),
        "pixmap.ppm": rgb(),
        "photo.webp": rgb(),
        "anim.gif": rgb(),
    }
    for name, image in images.items():
        image.save(folder / name, **({"lossless": True} if name.endswith(".webp") else {}))
    Image.fromarray(rng.integers(0, 65535, (20, 24)).astype(np.uint16)).save(folder / "deep16.png")
    reference = {}
    for path in folder.iterdir():
        with Image.open(path) as im:
            if im.mode.startswith("I"):  # 16 bit: the top byte
                gray = (np.asarray(im).astype(np.int64) >> 8).astype(np.uint8)
                reference[path.name] = np.stack([gray] * 3, -1)
            else:
                reference[path.name] = np.asarray(im.convert("RGB"))
    return reference


@pytest.mark.parametrize("channels", [3, 1])
def test_every_image_format_decodes_to_uint8_with_the_asked_channels(tmp_path, channels):
    reference = save_in_every_format(tmp_path / "a")
    for name, rgb in reference.items():
        image = decode(read_file(str(tmp_path / "a" / name)), channels)
        assert image.dtype == torch.uint8 and image.shape == (channels, 20, 24), name
        if channels == 3:
            torch.testing.assert_close(image, torch.from_numpy(rgb.copy()).permute(2, 0, 1), atol=0, rtol=0, msg=name)
        else:  # luma: libjpeg's own greyscale decoding differs from PIL's conversion by a few levels
            luma = torch.from_numpy(np.asarray(Image.fromarray(rgb).convert("L")).copy())[None]
            tolerance = 16 if name.lower().endswith(".jpg") else 1
            assert (image.int() - luma.int()).abs().max() <= tolerance, name


def test_a_folder_of_mixed_formats_trains_from_every_file(tmp_path):
    save_in_every_format(tmp_path / "train" / "a")
    save_in_every_format(tmp_path / "val" / "a")
    make_folder(tmp_path / "more", per_class=4, size=(20, 20), classes=1)
    (tmp_path / "more" / "train" / "c0").rename(tmp_path / "train" / "b")
    (tmp_path / "more" / "val" / "c0").rename(tmp_path / "val" / "b")
    src = ImageFolder(str(tmp_path / "train"), str(tmp_path / "val"))
    formats = {Path(path).suffix.lower() for path, _ in src.load_encoded("train").samples}
    assert formats == {".jpg", ".png", ".bmp", ".tiff", ".ppm", ".webp"}  # torchvision lists no GIFs
    for dataset in (src.load("train"), src.load_images("train"), src.load("val")):
        for i in range(len(dataset)):
            x, _ = dataset[i]
            assert x.shape[0] == 3 and (x.dtype == torch.uint8 or 0.0 <= float(x.min()) <= float(x.max()) <= 1.0)


def test_validation_labels_follow_the_training_classes(tmp_path):
    root = make_folder(tmp_path, per_class=2, classes=3)
    for path in (root / "val" / "c0").iterdir():  # validation lacks class c0
        path.unlink()
    (root / "val" / "c0").rmdir()
    src = ImageFolder(str(root / "train"), str(root / "val"))
    val = src.load_encoded("val")
    assert src.num_classes == 3
    assert [(Path(path).parent.name, label) for path, label in val.samples] == [("c1", 1)] * 2 + [("c2", 2)] * 2
    (root / "val" / "dog").mkdir()
    Image.fromarray(np.zeros((12, 12, 3), np.uint8)).save(root / "val" / "dog" / "0.png")
    with pytest.raises(ValueError, match=r"data\.val_dir: classes \['dog'\] .* no folder in data\.train_dir"):
        ImageFolder(str(root / "train"), str(root / "val"))


def test_folders_without_classes_and_unreadable_files_are_named(tmp_path):
    flat = tmp_path / "flat"
    flat.mkdir()
    Image.fromarray(np.zeros((12, 12, 3), np.uint8)).save(flat / "0.jpg")
    with pytest.raises(ValueError, match=r"data\.train_dir: .*class folder.*<class>/<image>"):
        ImageFolder(str(flat), str(flat))
    root = make_folder(tmp_path / "data", per_class=2, classes=2)
    (root / "val" / "c1" / "1.jpg").write_bytes(b"not a jpeg at all")
    src = ImageFolder(str(root / "train"), str(root / "val"))
    with pytest.raises(RuntimeError, match=r"cannot read or decode the image '.*val/c1/1\.jpg'"):
        src.load("val")[3]
    (root / "train" / "c1" / "1.jpg").write_bytes(b"not a jpeg at all")  # read for the image size
    with pytest.raises(ValueError, match=r"data\.train_dir: cannot read the image '.*train/c1/1\.jpg'"):
        ImageFolder(str(root / "train"), str(root / "val"))


def test_batched_decoding_falls_back_to_one_by_one_for_files_libjpeg_refuses(tmp_path):
    root = make_folder(tmp_path, per_class=2, classes=2)
    Image.fromarray(np.full((12, 14, 3), 200, np.uint8)).save(root / "train" / "c1" / "1.jpg", format="PNG")
    src = ImageFolder(str(root / "train"), str(root / "val"))
    files = [src.load_encoded("train")[i][0] for i in range(4)]
    images = decode_batch(files, 3, src.base_size, torch.device("cpu"))
    assert images.shape == (4, 3, 12, 12) and int(images[3].min()) == int(images[3].max()) == 200
    torch.testing.assert_close(images, torch.stack([src.load_images("train")[i][0] for i in range(4)]))


def test_a_single_class_folder_fails_before_training_naming_the_label_classifiers(make_cfg, tmp_path):
    root = make_folder(tmp_path / "data", per_class=24, classes=1)
    folder = (
        "data=imagefolder",
        f"data.train_dir={root / 'train'}",
        f"data.val_dir={root / 'val'}",
        "datamodule.batch_size=12",
        "datamodule.probe_size=24",
        "datamodule.eval_size=24",
    )
    with pytest.raises(
        ConfigError,
        match=r"data: the training split has 1 label class; OnlineLinearProbe, "
        r"KNNClassifier, LinearEvaluation classify the labels",
    ):
        train(make_cfg(*folder))
    assert not (tmp_path / "run").exists()
    acc = train(
        make_cfg(
            *folder,
            "callbacks.online_probe=null",
            "callbacks.knn=null",
            "callbacks.linear_eval=null",
            "callbacks.best_checkpoint=null",
            "+trainer.limit_train_batches=2",
        )
    )
    assert (tmp_path / "run" / "checkpoints" / "last.ckpt").is_file()
    assert math.isnan(acc)  # no label classifier ran, so there is no accuracy to report
    with (tmp_path / "run" / "infoplane.csv").open(newline="") as f:
        tapped = [r for r in csv.DictReader(f) if r["layer"] != "views"]
    assert tapped and all(float(r["H_Y"]) == 0.0 and float(r["I_TY"]) == 0.0 for r in tapped)  # I(T;Y) <= H(Y) = 0
