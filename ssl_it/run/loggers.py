"""Loggers that keep every logged number through a crash, a kill or a resume.

``ResumableCSVLogger`` is Lightning's CSV logger with two changes: it writes
after every logging call (so a kill loses nothing already logged), and on
resume it keeps the rows of the finished epochs instead of deleting the file.

``make_wandb_logger`` builds Lightning's W&B logger, offline when no API key
is configured (unless ``WANDB_MODE=online`` or ``logger.mode=online`` asks
for online: then a missing key is an error, or a warning and an offline run
with ``logger.offline_fallback=true``), and falls back to offline instead of
crashing when the network is unreachable or the key is refused: the online attempt is bounded
by ``init_timeout`` (20 s by default; W&B's own default waits 90 s and then
retries), the half-started run is torn down so the offline run can reuse
its id, and training goes on. Its config is the run's config flattened
with ``/`` (:class:`FlatConfigWandbLogger`), so that it never collides with
the keys a W&B sweep sets.
"""

from __future__ import annotations

import csv
import logging
import os
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

from pytorch_lightning.loggers import CSVLogger, TensorBoardLogger, WandbLogger
from typing_extensions import override

from ssl_it import checks

log = logging.getLogger(__name__)


def run_loggers(
    run_dir: Path,
    run_id: str,
    resumed_epoch: int | None,
    make_logger: Callable[..., Any] | None,
    wandb_names: Mapping[str, Any] | None = None,
) -> list[Any]:
    """The run's loggers: its ``metrics.csv`` (:class:`ResumableCSVLogger`),
    then the ``logger`` group's (``make_logger``: its partial node; ``None``:
    off), given the run folder, the run id and, for W&B, ``wandb_names``
    (``name``, ``tags``, ``group``)."""
    loggers: list[Any] = [ResumableCSVLogger(str(run_dir), keep_until_epoch=resumed_epoch)]
    if make_logger is not None:
        loggers.append(make_logger(save_dir=str(run_dir), run_id=run_id, **(wandb_names or {})))
    return loggers


class ResumableCSVLogger(CSVLogger):
    """``<save_dir>/metrics.csv``, appended after every log call.

    Args:
        save_dir: the run directory.
        keep_until_epoch: on resume, the checkpoint's epoch; rows of later
            (interrupted) epochs are dropped, earlier ones are kept.
    """

    def __init__(self, save_dir: str, keep_until_epoch: int | None = None) -> None:
        super().__init__(save_dir=save_dir, name="", version="", flush_logs_every_n_steps=1)
        self._kept_rows: list[dict[str, str]] = []
        path = Path(save_dir) / "metrics.csv"
        if keep_until_epoch is not None and path.is_file():
            with path.open(newline="") as f:
                self._kept_rows = [r for r in csv.DictReader(f) if _epoch_of(r) <= keep_until_epoch]
            path.rename(path.with_suffix(".csv.before_resume"))

    @property
    @override
    def experiment(self) -> Any:
        fresh = self._experiment is None
        writer = super().experiment
        if fresh and self._kept_rows:
            writer.metrics = list(self._kept_rows)
            self._kept_rows = []
            writer.save()
        return writer

    @override
    def log_metrics(self, metrics: dict[str, Any], step: int | None = None) -> None:
        super().log_metrics(metrics, step)
        self.save()


def _epoch_of(row: dict[str, str]) -> float:
    try:
        return float(row.get("epoch") or -1)
    except ValueError:
        return -1


def make_wandb_logger(
    save_dir: str,
    run_id: str,
    project: str = "ssl_it",
    entity: str | None = None,
    group: str | None = None,
    tags: list[str] | None = None,
    name: str | None = None,
    mode: Literal["auto", "online", "offline", "disabled"] = "auto",
    log_model: bool = False,
    init_timeout: float = 20.0,
    offline_fallback: bool = False,
) -> WandbLogger:
    """Lightning's ``WandbLogger`` with the run id fixed (so a resume continues
    the same W&B run) and offline mode whenever there is no API key.

    ``mode="auto"`` follows ``WANDB_MODE`` when it is set, else means online
    with an API key (``WANDB_API_KEY`` or a netrc login) and offline without.
    Online asked for (``WANDB_MODE=online`` or ``mode="online"``) with no key
    raises ``ValueError`` naming both, unless ``offline_fallback``: then a
    warning, and the run is logged offline. Online, the run is started here, within
    ``init_timeout`` seconds; if that fails (no network, a refused key) the
    run is logged offline instead, under the same id (``wandb sync`` uploads
    it later).
    """
    checks.choice("logger.mode", mode, ("auto", "online", "offline", "disabled"))
    if not init_timeout > 0:
        checks.fail("logger.init_timeout", "a number > 0 (seconds)", init_timeout)
    chosen = _chosen_mode(mode, offline_fallback)
    kwargs: dict[str, Any] = dict(
        save_dir=save_dir,
        id=run_id,
        project=project,
        entity=entity,
        group=group,
        tags=list(tags or []),
        name=name,
        resume="allow",
        log_model=log_model,
    )
    if chosen != "online":
        return FlatConfigWandbLogger(mode=chosen, **kwargs)
    import wandb

    logger = FlatConfigWandbLogger(mode="online", settings=wandb.Settings(init_timeout=init_timeout), **kwargs)
    try:
        _ = logger.experiment
    except Exception as err:  # network down, bad key, server error: keep training, log offline
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        log.warning(f"W&B online start failed ({first_line}); logging offline instead, same run id {run_id}")
        _abandon_online_attempt(Path(save_dir), run_id)
        logger = FlatConfigWandbLogger(mode="offline", **kwargs)
    return logger


def _chosen_mode(mode: str, offline_fallback: bool) -> str:
    """``online``, ``offline`` or ``disabled``, from ``logger.mode``, ``WANDB_MODE`` and the credentials."""
    env = os.environ.get("WANDB_MODE", "").strip().lower()
    asked = f"logger.mode={mode}"
    if mode == "auto" and env in ("online", "offline", "dryrun", "disabled"):
        mode, asked = ("offline" if env == "dryrun" else env), f"WANDB_MODE={env}"
    elif mode == "auto":
        return "online" if _has_wandb_credentials() else "offline"
    if mode != "online" or _has_wandb_credentials():
        return mode
    if not offline_fallback:
        raise ValueError(
            f"{asked}: W&B online logging needs an API key and none is set (WANDB_API_KEY, or `wandb login`); "
            f"set one, unset WANDB_MODE to log offline, or allow an offline run with logger.offline_fallback=true"
        )
    log.warning(
        f"{asked} but no W&B API key is set: logging offline (logger.offline_fallback=true); "
        f"upload later with `wandb sync <run dir>/wandb/offline-run-*`"
    )
    return "offline"


class FlatConfigWandbLogger(WandbLogger):
    """``WandbLogger`` whose run config is the run's config flattened with
    ``/``: ``objective/temperature``, ``estimator/I_XT/k``.

    A W&B sweep sets its parameters in the run config under their own names
    (``objective``, ``objective.sim_coeff``) and locks them. Nested, the
    run's ``objective`` node was dropped as an update of a locked key (the
    swept objective's own settings were lost), and the dotted sweep key
    showed up a second time as ``objective.sim_coeff`` beside the nested
    value. With ``/`` no key of ours is spelled like a sweep key (Hydra
    override keys use dots), so everything is kept; a top-level key the
    sweep sets (``seed``) holds the sweep's value already and is skipped.
    """

    @override
    def log_hyperparams(self, params: Mapping[str, Any] | Any) -> None:
        locked = wandb_sweep_parameters()
        flat = {k: v for k, v in flatten_config(dict(params)).items() if k not in locked}
        super().log_hyperparams(flat)


def flatten_config(node: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a/b/c": value}`` for the leaves of a nested mapping (lists are
    leaves; an empty mapping is kept as ``{}``)."""
    out: dict[str, Any] = {}
    for key, value in node.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(flatten_config(value, f"{name}/"))
        else:
            out[name] = value
    return out


def wandb_sweep_parameters() -> set[str]:
    """The keys a W&B sweep agent set for this run (``WANDB_SWEEP_PARAM_PATH``),
    empty outside a sweep."""
    path = os.environ.get("WANDB_SWEEP_PARAM_PATH")
    if not os.environ.get("WANDB_SWEEP_ID") or not path or not Path(path).is_file():
        return set()
    import yaml  # type: ignore[import-untyped]

    params = yaml.safe_load(Path(path).read_text()) or {}
    return {str(k) for k in params if k != "wandb_version"}


def _abandon_online_attempt(save_dir: Path, run_id: str) -> None:
    """Tear down W&B's service, which still holds the failed run's id (an
    offline run with that id would be refused as "in use"), and remove the
    failed attempt's empty run folder."""
    import wandb

    wandb.teardown()
    for folder in (save_dir / "wandb").glob(f"run-*-{run_id}"):
        shutil.rmtree(folder, ignore_errors=True)


def _has_wandb_credentials() -> bool:
    if os.environ.get("WANDB_API_KEY"):
        return True
    netrc = Path(os.environ.get("NETRC", Path.home() / ".netrc"))
    return netrc.is_file() and "api.wandb.ai" in netrc.read_text(errors="ignore")


def make_tensorboard_logger(save_dir: str, run_id: str, name: str = "tensorboard") -> Any:
    """Lightning's TensorBoard logger in ``<run dir>/<name>/<run id>`` (needs
    ``tensorboard``: ``pip install -e ".[tensorboard]"``, part of ``dev``),
    with the information-plane figure as an image and the final metric as
    ``hp_metric`` (see :class:`FigureTensorBoardLogger`)."""
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        try:
            import tensorboardX  # noqa: F401
        except ImportError:
            raise ValueError(
                "logger=tensorboard needs the tensorboard package: pip install -e '.[tensorboard]' (part of '.[dev]')"
            ) from None
    return FigureTensorBoardLogger(save_dir=save_dir, name=name, version=run_id, default_hp_metric=False)


class FigureTensorBoardLogger(TensorBoardLogger):
    """TensorBoard logger that also shows the information-plane figure and
    the run's final numbers.

    - Whenever ``infoplane/...`` metrics are logged, ``infoplane.png`` in the
      run directory (redrawn by the information-plane callback just before)
      is added as the image ``infoplane/figure`` at that step, once per
      redraw.
    - ``hp_metric`` is not set to -1 at the start; :meth:`log_final` writes
      the hyperparameters with the final metrics, so TensorBoard's HParams
      tab shows the value the run returns (``hp_metric``) beside every
      ``final/...`` number.
    """

    FIGURE = "infoplane.png"

    def __init__(self, save_dir: str, **kwargs: Any) -> None:
        super().__init__(save_dir=save_dir, **kwargs)
        self._figure = Path(save_dir) / self.FIGURE
        self._figure_mtime: float | None = None

    @override
    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        super().log_metrics(metrics, step)
        if any(k.startswith("infoplane/") for k in metrics):
            self._log_figure(step)

    def _log_figure(self, step: int | None) -> None:
        if not self._figure.is_file() or self._figure.stat().st_mtime == self._figure_mtime:
            return
        import numpy as np
        from matplotlib.image import imread

        image = np.asarray(imread(self._figure))[..., :3]  # (H, W, RGB) floats in [0, 1]
        self.experiment.add_image("infoplane/figure", image, global_step=step, dataformats="HWC")
        self._figure_mtime = self._figure.stat().st_mtime

    def log_final(self, metrics: dict[str, float | None], step: int | None = None) -> None:
        """Hyperparameters (as logged at the start) with the final metrics;
        ``metrics`` should hold ``hp_metric``."""
        self.log_hyperparams(self.hparams, metrics=metrics, step=step)
        self.experiment.flush()


def finish_loggers(
    loggers: list[Any], summary: dict[str, float], step: int, failed: bool, hp_metric: float | None = None
) -> None:
    """Write the final numbers and close W&B runs, so the run file is complete
    (and the next multirun job in this process starts a run of its own);
    TensorBoard gets them with ``hp_metric``, the value the run returns."""
    for lg in loggers:
        if isinstance(lg, FigureTensorBoardLogger) and not failed:
            lg.log_final({"hp_metric": hp_metric, **summary}, step=step)
        if not isinstance(lg, WandbLogger) or lg._experiment is None:
            continue
        for key, value in summary.items():
            lg.experiment.summary[key] = value
        lg.experiment.finish(exit_code=1 if failed else 0)
