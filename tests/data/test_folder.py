"""Folders of JPEGs: size read from the data, upsampling warned, crops of the
original image, batched decoding, and train.py end to end at toy size."""

from __future__ import annotations

import csv
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ssl_it.data import ImageFolder
from ssl_it.data.folder import decode_batch
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
                img[top:top + size[0] // 2, left:left + size[1] // 2] = 230
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
    with pytest.raises(ValueError, match=r"data\.base_size"):
        ImageFolder(str(root / "train"), str(root / "val"), image_size=12, base_size=10)


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


@pytest.mark.parametrize("on_device", [False, True], ids=["views-in-workers", "views-and-decoding-on-device"])
def test_train_on_a_jpeg_folder_with_resnet18_and_simclr(make_cfg, tmp_path, on_device):
    root = make_folder(tmp_path / "data", per_class=16)
    cfg = make_cfg(
        "data=imagefolder", f"data.train_dir={root / 'train'}", f"data.val_dir={root / 'val'}",
        "backbone=resnet18", "augmentation=simclr", "+trainer.limit_train_batches=2", "datamodule.batch_size=12",
        f"datamodule.views_on_device={str(on_device).lower()}", f"datamodule.decode_on_device={str(on_device).lower()}",
        "datamodule.eval_size=24", "datamodule.probe_size=24",
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
        "experiment=vicreg_cifar10", "data=imagefolder", f"data.train_dir={root / 'train'}",
        f"data.val_dir={root / 'val'}", "trainer.accelerator=cpu", "trainer.precision=32-true",
        "trainer.max_epochs=1", "+trainer.limit_train_batches=1", "datamodule.batch_size=12", "infoplane=none",
    )
    assert cfg.optimizer.lr == 0.3 and cfg.augmentation.blur_prob == [0.0, 0.0] and cfg.objective.out_dim == 2048
    assert 0.0 <= train(cfg) <= 1.0
