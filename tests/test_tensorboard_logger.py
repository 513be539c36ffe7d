"""logger=tensorboard: the information-plane figure as images, the bands as scalars, the final metric as hp_metric."""

from __future__ import annotations

import csv

import pytest

from ssl_it.train import train

pytest.importorskip("tensorboard")


def test_tensorboard_gets_the_figure_and_the_final_metric(make_cfg, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = train(make_cfg("logger=tensorboard"))
    run = tmp_path / "run"
    (log_dir,) = [p for p in (run / "tensorboard").iterdir() if p.is_dir()]
    events = EventAccumulator(str(log_dir), size_guidance={"images": 0, "scalars": 0, "tensors": 0})
    events.Reload()
    with (run / "infoplane.csv").open(newline="") as f:
        steps = sorted({int(r["step"]) for r in csv.DictReader(f)})
    figures = events.Images("infoplane/figure")
    assert [im.step for im in figures] == steps  # one image per evaluation, at its step
    assert figures[-1].width > 300 and figures[-1].height > 300
    assert [s.value for s in events.Scalars("hp_metric")] == [pytest.approx(acc)]
    lo, hi = (events.Scalars(f"infoplane/projector/I_XT_{end}") for end in ("lo", "hi"))
    assert [s.step for s in lo] == [s.step for s in hi] == steps  # the band beside every value
    assert all(a.value <= b.value for a, b in zip(lo, hi))
    hparams = events.PluginTagToContent("hparams")  # the HParams tab: config values and final metrics
    assert b"hp_metric" in hparams["_hparams_/experiment"] and b"optimizer/lr" in hparams["_hparams_/experiment"]
