import csv

import pytest

from ssl_it.run.loggers import ResumableCSVLogger, make_wandb_logger


def read(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_csv_written_after_every_log_call(tmp_path):
    logger = ResumableCSVLogger(str(tmp_path))
    logger.log_metrics({"train/loss": 1.5, "epoch": 0}, step=0)
    assert read(tmp_path / "metrics.csv")[0]["train/loss"] == "1.5"  # on disk without finalize
    logger.log_metrics({"val/probe_acc": 0.5, "epoch": 0}, step=1)
    assert [r["step"] for r in read(tmp_path / "metrics.csv")] == ["0", "1"]


def test_resume_keeps_finished_epochs_and_drops_interrupted_one(tmp_path):
    first = ResumableCSVLogger(str(tmp_path))
    for step, epoch in [(0, 0), (1, 0), (2, 1), (3, 2)]:
        first.log_metrics({"train/loss": float(step), "epoch": epoch}, step=step)
    resumed = ResumableCSVLogger(str(tmp_path), keep_until_epoch=1)
    resumed.log_metrics({"train/loss": 9.0, "epoch": 2}, step=3)
    rows = read(tmp_path / "metrics.csv")
    assert [(r["step"], r["train/loss"]) for r in rows] == [("0", "0.0"), ("1", "1.0"), ("2", "2.0"), ("3", "9.0")]


def test_wandb_logger_offline_without_key(tmp_path, monkeypatch):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "none"))
    logger = make_wandb_logger(save_dir=str(tmp_path), run_id="abc123")
    assert logger._wandb_init["mode"] == "offline" and logger._wandb_init["id"] == "abc123"
    with pytest.raises(
        ValueError, match=r"^logger\.mode: must be one of auto, online, offline, disabled; got 'sometimes'$"
    ):
        make_wandb_logger(save_dir=str(tmp_path), run_id="x", mode="sometimes")
    with pytest.raises(ValueError, match=r"^logger\.init_timeout: must be a number > 0 \(seconds\); got 0$"):
        make_wandb_logger(save_dir=str(tmp_path), run_id="x", init_timeout=0)
