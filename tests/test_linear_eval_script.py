"""scripts/linear_eval.py on a tiny trained run: accuracies, kNN agreement, random-init baseline."""

from __future__ import annotations

import csv
import importlib.util
import json
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from ssl_it.train import train

ROOT = Path(__file__).resolve().parents[1]


def _script():
    spec = importlib.util.spec_from_file_location("linear_eval_script", ROOT / "scripts" / "linear_eval.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def test_checkpoint_and_random_init_evaluations(make_cfg, tmp_path):
    train(make_cfg())
    run = tmp_path / "run"
    script = _script()
    trained = script.main([str(run), "--out", str(tmp_path / "trained.json")])
    assert 0.0 <= trained["top1"] <= 1.0 and 0.0 <= trained["top5"] <= 1.0 and trained["top5"] >= trained["top1"]
    # 96 samples, split by the source
    assert (trained["n_train"], trained["n_val"], trained["feature_dim"]) == (76, 20, 128)
    assert json.loads((tmp_path / "trained.json").read_text())["top1"] == trained["top1"]
    # same backbone, bank and vote as the KNNClassifier callback of the run's last validation epoch
    with (run / "metrics.csv").open(newline="") as f:
        logged = [float(r["val/knn_acc"]) for r in csv.DictReader(f) if r.get("val/knn_acc")]
    assert trained["knn_acc"] == pytest.approx(logged[-1])
    via_ckpt = script.main([str(run / "checkpoints" / "last.ckpt")])
    assert via_ckpt["top1"] == trained["top1"]
    random = script.main([str(run), "--random-init"])
    assert random["random_init"] is True and 0.0 <= random["top1"] <= 1.0
    assert (random["top1"], random["knn_acc"]) != (trained["top1"], trained["knn_acc"])


def test_other_data_config_and_bad_inputs(make_cfg, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    OmegaConf.save(make_cfg(), run / "config.yaml", resolve=True)  # a run dir without checkpoints
    script = _script()
    other = script.main([str(run), "--random-init", "data=synthetic", "data.n_samples=64", "data.seed=3"])
    assert other["n_train"] + other["n_val"] == 64 and 0.0 <= other["top1"] <= 1.0
    same_data = script.main([str(run), "--random-init", "data.n_samples=64", "data.seed=3"])
    assert same_data["top1"] == other["top1"]  # keys of the run's own data config, same samples
    with pytest.raises(SystemExit, match="input shape"):
        script.main([str(run), "--random-init", "data=digits"])  # 8x8 digits vs the run's 28x28 inputs
    with pytest.raises(SystemExit, match="not found"):
        script.main([str(run)])
    with pytest.raises(SystemExit, match="neither a run directory"):
        script.main([str(tmp_path / "nothing.txt")])


def test_a_trajectory_checkpoint_is_found_with_its_run_config(tmp_path):
    (tmp_path / "config.yaml").write_text("seed: 0\n")
    ckpt = tmp_path / "checkpoints" / "trajectory" / "step_100.ckpt"
    ckpt.parent.mkdir(parents=True)
    ckpt.write_bytes(b"")
    assert _script().locate(ckpt) == (tmp_path / "config.yaml", ckpt)
    assert _script().locate(tmp_path / "checkpoints" / "last.ckpt") == (
        tmp_path / "config.yaml",
        tmp_path / "checkpoints" / "last.ckpt",
    )
