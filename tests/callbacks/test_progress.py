"""The progress bar shows the loss, and reads it only on logging steps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pytorch_lightning.callbacks import RichProgressBar

from ssl_it.callbacks import LossProgressBar
from ssl_it.run.resume import resolve_resume
from ssl_it.train import build


def test_loss_shown_and_read_on_logging_steps_only(make_cfg, monkeypatch):
    fresh: list[tuple[bool, int]] = []
    parent = RichProgressBar.get_metrics

    def spy(self: RichProgressBar, trainer: Any, pl_module: Any) -> dict[str, Any]:
        fresh.append((trainer.training, trainer.global_step))
        return parent(self, trainer, pl_module)

    monkeypatch.setattr(RichProgressBar, "get_metrics", spy)
    cfg = make_cfg(
        "trainer.log_every_n_steps=2",
        "trainer.enable_progress_bar=true",
        "callbacks.progress_bar={_target_: ssl_it.callbacks.LossProgressBar}",
        "infoplane=none",
        "callbacks.linear_eval=null",
        "callbacks.knn=null",
        "callbacks.diagnostics=null",
    )
    state = resolve_resume(cfg, Path(cfg.paths.output_dir), Path(cfg.paths.outputs_root))
    trainer, module, datamodule, callbacks = build(cfg, state)
    bar = next(c for c in callbacks if isinstance(c, LossProgressBar))
    trainer.fit(module, datamodule=datamodule)
    assert trainer.global_step == 4
    assert "train/loss_step" in trainer.progress_bar_metrics
    assert "train/loss_step" in bar.get_metrics(trainer, module)
    train_reads = [step for training, step in fresh if training]
    assert train_reads[0] == 1  # the first batch fills the bar
    assert sorted(set(train_reads[1:])) == [2, 4]  # then logging steps only (log_every_n_steps=2)
