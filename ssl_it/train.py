"""Hydra entry point: compose -> validate -> instantiate -> fit -> report.

The only module that imports Hydra. ``train(cfg)`` wires the config groups
in dependency order, each instantiated once, and returns the final
validation accuracy of a linear classifier on the frozen features (the
metric sweepers optimise; the online probe's accuracy when linear
evaluation is switched off).
"""

from __future__ import annotations

import inspect
import logging
import os
import sys
import warnings
from pathlib import Path
from typing import Any

import hydra
import pytorch_lightning as pl
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.callbacks import ProgressBar
from pytorch_lightning.loggers import WandbLogger

from ssl_it.callbacks import InformationPlane, LinearEvaluation, OnlineLinearProbe
from ssl_it.config_checks import ConfigError, validate_config
from ssl_it.loggers import ResumableCSVLogger
from ssl_it.module import SSLModule
from ssl_it.resume import RunState, resolve_resume

log = logging.getLogger(__name__)
CONFIG_DIR = os.environ.get("SSL_IT_CONFIG_DIR", str(Path(__file__).resolve().parents[1] / "configs"))


def enabled(node: Any) -> bool:
    """An optional group (logger, infoplane) is off when null; an experiment
    preset's settings merged onto a null option leave a node with no
    ``_target_``, which means off too."""
    return node is not None and "_target_" in node


def build_objective(cfg: DictConfig, in_dim: int, num_classes: int) -> Any:
    factory = instantiate(cfg)
    kwargs: dict[str, Any] = {"in_dim": in_dim}
    if "num_classes" in inspect.signature(factory).parameters:
        kwargs["num_classes"] = num_classes
    return factory(**kwargs)


def build_callbacks(cfg: DictConfig) -> list[pl.Callback]:
    """Every non-null entry of ``cfg.callbacks`` (Lightning's checkpoint,
    LR-monitor and progress-bar callbacks by default); a progress bar only
    when the trainer shows one."""
    callbacks = [instantiate(c) for c in (cfg.get("callbacks") or {}).values() if c is not None]
    show_bar = cfg.trainer.get("enable_progress_bar", True)
    return [c for c in callbacks if show_bar or not isinstance(c, ProgressBar)]


def sweep_group() -> str | None:
    """The multirun sweep's directory name (jobs of one sweep share a W&B group)."""
    if not HydraConfig.initialized():
        return None
    hydra_cfg = HydraConfig.get()
    return Path(hydra_cfg.sweep.dir).name if hydra_cfg.mode == RunMode.MULTIRUN else None


def build_loggers(cfg: DictConfig, state: RunState) -> list[Any]:
    loggers: list[Any] = [ResumableCSVLogger(str(state.run_dir), keep_until_epoch=state.resumed_epoch)]
    if enabled(cfg.logger):
        extra = {}
        if "group" in cfg.logger and cfg.logger.group is None and (group := sweep_group()):
            extra["group"] = group
        loggers.append(instantiate(cfg.logger)(save_dir=str(state.run_dir), run_id=state.run_id, **extra))
    return loggers


def finish_loggers(trainer: pl.Trainer, summary: dict[str, float], failed: bool) -> None:
    """Write the final numbers and close W&B runs, so the run file is complete
    (and the next multirun job in this process starts a run of its own)."""
    for lg in trainer.loggers:
        if not isinstance(lg, WandbLogger) or lg._experiment is None:
            continue
        for key, value in summary.items():
            lg.experiment.summary[key] = value
        lg.experiment.finish(exit_code=1 if failed else 0)


def trainer_overrides(trainer_cfg: DictConfig) -> dict[str, Any]:
    """Settings that cannot work on the chosen hardware, switched off with a
    log line: synchronised batch norm needs CUDA (``trainer=ddp`` on CPUs
    runs over gloo, where SyncBatchNorm raises)."""
    accelerator = str(trainer_cfg.get("accelerator", "auto"))
    on_cpu = accelerator == "cpu" or (accelerator == "auto" and not torch.cuda.is_available())
    if trainer_cfg.get("sync_batchnorm") and on_cpu:
        log.info("ssl_it: trainer.sync_batchnorm=true needs CUDA; turned off for this CPU (gloo) run")
        return {"sync_batchnorm": False}
    return {}


def build(cfg: DictConfig, state: RunState) -> tuple[pl.Trainer, SSLModule, Any, list[pl.Callback]]:
    """Instantiate every group, in dependency order; raises on bad values."""
    pl.seed_everything(cfg.seed, workers=True)
    if cfg.get("torch_threads"):
        torch.set_num_threads(int(cfg.torch_threads))
    source = instantiate(cfg.data)
    source.check_available()
    augmentation = instantiate(cfg.augmentation)(
        image_size=source.image_size, channels=source.channels, mean=source.mean, std=source.std
    )
    datamodule = instantiate(cfg.datamodule)(source=source, augmentation=augmentation, seed=cfg.seed)
    backbone = instantiate(cfg.backbone)(input_shape=source.input_shape)
    objective = build_objective(cfg.objective, backbone.out_dim, source.num_classes)
    if getattr(augmentation, "n_views", 2) < objective.min_views:
        raise ConfigError(
            f"augmentation.n_views={augmentation.n_views}: objective '{type(objective).__name__}' "
            f"needs at least {objective.min_views} views"
        )
    scheduler = instantiate(cfg.scheduler) if cfg.scheduler is not None else None
    module = SSLModule(backbone, objective, optimizer=instantiate(cfg.optimizer), scheduler=scheduler)
    probe = OnlineLinearProbe(num_classes=source.num_classes, **cfg.probe)
    callbacks = [probe, *build_callbacks(cfg)]
    if cfg.get("linear_eval") is not None:
        callbacks.append(LinearEvaluation(**cfg.linear_eval))
    if enabled(cfg.get("infoplane")):
        infoplane: InformationPlane = instantiate(cfg.infoplane)(
            estimator=instantiate(cfg.estimator), run_dir=str(state.run_dir)
        )
        callbacks.append(infoplane)
    trainer = instantiate(cfg.trainer)(
        callbacks=callbacks, logger=build_loggers(cfg, state), default_root_dir=str(state.run_dir),
        **trainer_overrides(cfg.trainer),
    )
    return trainer, module, datamodule, callbacks


def train(cfg: DictConfig) -> float:
    """Run one training job described by ``cfg``; return the final val probe accuracy."""
    warnings.filterwarnings("ignore", message=".*Experiment logs directory.*")
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    try:
        validate_config(cfg)
        state = resolve_resume(cfg, Path(cfg.paths.output_dir), Path(cfg.paths.outputs_root))
        cfg = state.config
        trainer, module, datamodule, callbacks = build(cfg, state)
    except InstantiationException as err:
        cause = err.__cause__
        raise ConfigError(str(cause) if isinstance(cause, ValueError) else str(err)) from cause
    except ConfigError:
        raise
    except ValueError as err:
        raise ConfigError(str(err)) from err
    state.save_config()
    for lg in trainer.loggers:
        lg.log_hyperparams(OmegaConf.to_container(cfg, resolve=True))
    try:
        trainer.fit(module, datamodule=datamodule, ckpt_path=state.checkpoint)
    except BaseException:
        finish_loggers(trainer, {}, failed=True)
        raise
    online = next(c for c in callbacks if isinstance(c, OnlineLinearProbe)).final_val_accuracy
    online = float("nan") if online is None else online
    summary = {"final/val_probe_acc": online}
    evaluation = next((c.result for c in callbacks if isinstance(c, LinearEvaluation)), None)
    if evaluation:
        summary.update({f"final/linear_eval_{k}": v for k, v in evaluation.items()})
    finish_loggers(trainer, summary, failed=False)
    acc = evaluation["top1"] if evaluation else online
    if trainer.is_global_zero:
        print(
            f"ssl_it: final val linear-probe accuracy = {acc:.4f} "
            f"({'frozen-feature logistic regression' if evaluation else 'online probe'}; "
            f"online probe {online:.4f})  run dir: {state.run_dir}"
        )
    return acc


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="train")
def main(cfg: DictConfig) -> float:
    try:
        return train(cfg)
    except ConfigError as err:
        print(f"ssl_it: invalid configuration: {err}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
