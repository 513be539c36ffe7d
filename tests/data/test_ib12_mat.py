"""The published 12-bit task file format (.mat with F, y) and the generator's own rule."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from scipy.io import savemat

from ssl_it.data import IB12Mat
from ssl_it.data.ib12 import load_12bit_mat, make_12bit_task
from ssl_it.train import train


def _write(path, n_bits: int = 6, **extra) -> tuple[np.ndarray, np.ndarray]:
    """All 2^n_bits patterns, labelled by a threshold on the active bits (as the published file)."""
    x = ((np.arange(2**n_bits)[:, None] >> np.arange(n_bits)) & 1).astype(np.uint8)
    y = (x.sum(1) > n_bits // 2).astype(np.uint8)
    savemat(path, {"F": x, "y": y[None, :], **extra})
    return x, y


def test_loader_reads_f_and_y_in_the_published_layout(tmp_path):
    x, y = _write(tmp_path / "var_u.mat")
    got_x, got_y = load_12bit_mat(tmp_path / "var_u.mat")
    assert got_x.dtype == np.float32 and got_x.shape == (64, 6) and got_y.dtype == np.int64 and got_y.shape == (64,)
    assert np.array_equal(got_x, x) and np.array_equal(got_y, y)


def test_source_splits_by_class_85_15(tmp_path):
    _, y = _write(tmp_path / "var_u.mat", n_bits=8)
    source = IB12Mat(str(tmp_path / "var_u.mat"))
    assert source.input_shape == (8,) and source.num_classes == 2
    train_set, val_set = source.load("train"), source.load("val")
    assert len(train_set) + len(val_set) == 256
    assert len(val_set) == sum(round(c * 0.15) for c in np.bincount(y))
    xs = np.stack([s[i][0].numpy() for s in (train_set, val_set) for i in range(len(s))])
    assert len(np.unique(xs, axis=0)) == 256  # every pattern once


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: None, "no .mat file"),
        (lambda p: p.write_text("not a mat file"), "not a readable MATLAB"),
        (lambda p: savemat(p, {"X": np.zeros((4, 2))}), r"must hold 'F' \(inputs\) and 'y'"),
        (lambda p: savemat(p, {"F": np.zeros((4, 2)), "y": np.zeros((1, 5))}), "N = len"),
        (lambda p: savemat(p, {"F": np.full((4, 2), 3), "y": np.zeros((1, 4))}), "only 0 and 1"),
    ],
)
def test_bad_files_name_data_path(tmp_path, make, message):
    path = tmp_path / "task.mat"
    make(path)
    with pytest.raises(ValueError, match=rf"data\.path.*{message}"):
        IB12Mat(str(path))


def test_generator_is_its_own_rule_not_the_published_labels():
    # the published labels are ~ a threshold on the active bits; the generator's are not
    x, y = make_12bit_task()
    active = x.sum(1)
    assert y[active <= 4].mean() > 0.05 and y[active >= 8].mean() < 0.95
    assert 0.45 < y.mean() < 0.55


def test_classic_preset_trains_on_a_published_format_file(make_cfg, tmp_path):
    _write(tmp_path / "var_u.mat", n_bits=8)
    cfg = make_cfg(
        "experiment=ib_tanh",
        "data=ib12_mat",
        f"data.path={tmp_path / 'var_u.mat'}",
        "logger=none",
        "trainer.max_epochs=2",
        "trainer.check_val_every_n_epoch=1",
        "infoplane.every_n_epochs=1",
        "infoplane.log_spaced_evals=0",
        fast=False,
    )
    acc = train(cfg)
    assert 0.0 <= acc <= 1.0
    rows = list(csv.DictReader((tmp_path / "run" / "infoplane.csv").open()))
    assert {r["layer"] for r in rows} == {f"backbone.layer{i}" for i in range(1, 6)} | {"objective.classifier"}
    assert {r["n_probe"] for r in rows} == {"256"}  # probe_split=all: every pattern
    assert all(r["estimator"] == "binning" and float(r["ceiling_XT"]) == pytest.approx(np.log(256)) for r in rows)
