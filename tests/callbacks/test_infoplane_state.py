"""The figure comes from rows held in memory; a resume restores them from the CSV once."""

from __future__ import annotations

import csv
import math

import torch
from torch import nn

from ssl_it.callbacks.infoplane import InformationPlane
from ssl_it.callbacks.infoplane import callback as infoplane_module
from ssl_it.estimators import BinningMI
from ssl_it.run.trajectory import TrajectoryFile
from tests.callbacks.fakes import TinyModel, fake_trainer


def _rows(step: int) -> list[dict]:
    return [
        {
            "step": step,
            "epoch": step / 4,
            "layer": "backbone",
            "I_XT": 1.0 + step,
            "I_TY": 0.5,
            "log_n": math.log(20),
            "H_X": math.log(20),
            "H_Y": math.log(2),
            "n_probe": 20,
            "saturated_XT": 0,
        }
    ]


def test_evaluations_never_reread_the_csv(tmp_path, monkeypatch):
    def forbidden(path):  # noqa: ANN001, ANN202
        raise AssertionError(f"re-read {path}")

    monkeypatch.setattr(infoplane_module, "read_trajectory", forbidden)
    x = torch.randn(20, 3)
    trainer = fake_trainer(x, torch.arange(20) % 2)
    cb = InformationPlane(BinningMI(), str(tmp_path), layers=["backbone"], measure_views=False)
    for step in range(3):
        trainer.global_step = step
        cb._evaluate(trainer, TinyModel(nn.Identity()))
    assert [r["step"] for r in cb.rows] == [0, 1, 2]
    assert len(list(csv.DictReader((tmp_path / "infoplane.csv").open()))) == 3
    assert (tmp_path / "infoplane.png").stat().st_size > 5000


def test_resume_restores_rows_and_warnings_from_the_truncated_csv(tmp_path):
    traj = TrajectoryFile(tmp_path / "infoplane.csv")
    for step in (0, 4, 8):
        traj.append(_rows(step))  # step 8 was written after the checkpoint
    cb = InformationPlane(BinningMI(), str(tmp_path), layers=["backbone"], measure_views=False)
    cb.load_state_dict(
        {"rows_written": 2, "evaluated_steps": [0, 4], "estimators": {}, "warned": [["backbone", "I_XT"]]}
    )
    cb.on_fit_start(fake_trainer(torch.zeros(20, 3), torch.zeros(20, dtype=torch.long)), TinyModel(nn.Identity()))
    assert [r["step"] for r in cb.rows] == [0.0, 4.0] and cb.rows[1]["I_XT"] == 5.0
    assert cb.rows[0]["saturated_XT"] is False
    assert cb.evaluated_steps == [0, 4] and cb.saturation.warned == {("backbone", "I_XT")}
    assert len(list(csv.DictReader((tmp_path / "infoplane.csv").open()))) == 2
    assert cb.state_dict()["warned"] == [("backbone", "I_XT")]
