"""Hydra entry point ``ssl-it-measure``: the information plane of saved weights.

What is measured (``configs/measure.yaml``): every checkpoint a run folder
kept, in step order (``run=``); one or more checkpoint files
(``checkpoint=``, with the configuration of the run folder they sit in); or
a model named by config with no checkpoint (any option of the ``backbone``
group, built through its ``_target_``, with random weights or a
``weights=`` file). With a run, the model, data, probe set, estimators and
information-plane settings are the run's own (:func:`effective_config`);
what the command line gives replaces them, so a run can be re-measured with
another estimator, more probe samples or other layers.

The measurement is the information-plane callback's own
(:meth:`~ssl_it.callbacks.InformationPlane.measure`): the same probe pass,
estimators, bands, rows and figure, driven by a Lightning ``Trainer`` that
validates the loaded module (it places the model on the device and attaches
the data) and evaluates the plane once at the start of that pass, at the
checkpoint's step and epoch. Rows say ``source: measure``. Each measurement
writes into its own folder (``outputs/measure/...``, claimed like a run's);
under ``-m`` one job per checkpoint, merged at the end of the multirun
(:class:`MeasureReport`, ``ssl_it.analysis.measured``) or later with
``merge=<sweep dir>``.
"""

from __future__ import annotations

import glob
import logging
import secrets
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hydra
import pytorch_lightning as pl
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig, ListConfig, OmegaConf, open_dict
from typing_extensions import override

from ssl_it.analysis.measured import merge_sweep
from ssl_it.build import build_data_and_model, build_estimator, enabled
from ssl_it.callbacks import InformationPlane
from ssl_it.callbacks.protocols import check_probe_size
from ssl_it.callbacks.taps import check_layers
from ssl_it.module import SSLModule
from ssl_it.run import log_file as run_log
from ssl_it.run import segments as run_segments
from ssl_it.run.config_checks import ConfigError, check_constructor_keys
from ssl_it.run.config_dir import CONFIG_DIR
from ssl_it.run.folder import claim
from ssl_it.run.hydra_errors import one_line_errors
from ssl_it.run.hydra_job import SweepReport, begin_job, config_errors, job_outcome
from ssl_it.run.job import EXIT_CONFIG
from ssl_it.run.relocate import relocate
from ssl_it.run.resume import typed_keys
from ssl_it.run.saved_checkpoints import (
    SavedCheckpoint,
    batches_per_epoch,
    load,
    position,
    run_checkpoints,
    run_config_path,
    run_folder_of,
)
from ssl_it.run.summary import write_summary
from ssl_it.run.trajectory import final_metrics, read_trajectory

log = logging.getLogger(__name__)

MODEL_KEYS = ("backbone", "objective")
"""Taken from the run with run= or checkpoint= (its weights fit only that model)."""
RUN_KEYS = ("data", "augmentation", "datamodule", "estimator", "infoplane", "seed")
"""Taken from the run unless the command line gives them."""
GLOB = ("*", "?", "[")


@dataclass
class Inputs:
    """What one job measures: checkpoints in step order (none: the model as built), their run folder."""

    checkpoints: list[SavedCheckpoint] = field(default_factory=list)
    run_dir: Path | None = None
    weights: Path | None = None


def _expand(entry: str, run_dir: Path | None) -> list[Path]:
    """A checkpoint entry as files: the path itself, or a glob; relative paths also inside the run's
    ``checkpoints/`` and ``checkpoints/trajectory/``."""
    bases = [Path(".")] + ([run_dir / "checkpoints", run_dir / "checkpoints" / "trajectory"] if run_dir else [])
    for base in bases if not Path(entry).is_absolute() else [Path("/")]:
        pattern = str(base / entry) if not Path(entry).is_absolute() else entry
        found = (
            sorted(Path(p) for p in glob.glob(pattern))
            if any(c in entry for c in GLOB)
            else ([Path(pattern)] if Path(pattern).is_file() else [])
        )
        if found:
            return found
    return []


def resolve_inputs(cfg: DictConfig) -> Inputs:
    """Read ``run``, ``checkpoint`` and ``weights``; raises :class:`ConfigError` naming the key."""
    run_dir = None
    if cfg.run is not None:
        run_dir = Path(str(cfg.run)).expanduser()
        if not run_dir.is_dir():
            raise ConfigError(f"run={cfg.run}: no such folder; give a run folder that ssl-it-train wrote")
        if run_config_path(run_dir) is None:
            raise ConfigError(
                f"run={cfg.run}: '{run_dir}' holds no config.yaml (nor .hydra/config.yaml); "
                f"give a run folder that ssl-it-train wrote"
            )
    if cfg.weights is not None and (cfg.run is not None or cfg.checkpoint is not None):
        raise ConfigError(
            f"weights={cfg.weights}: a weights file is for a model named by config; with run= or "
            f"checkpoint= the weights are the checkpoint's"
        )
    entries = (
        list(cfg.checkpoint)
        if isinstance(cfg.checkpoint, ListConfig)
        else ([] if cfg.checkpoint is None else [str(cfg.checkpoint)])
    )
    if not entries:
        weights = Path(str(cfg.weights)).expanduser() if cfg.weights is not None else None
        if weights is not None and not weights.is_file():
            raise ConfigError(f"weights={cfg.weights}: no such file")
        return Inputs(run_checkpoints(run_dir) if run_dir else [], run_dir, weights)
    files = []
    for entry in map(str, entries):
        found = _expand(entry, run_dir)
        if not found:
            where = f" (nor in {run_dir / 'checkpoints'}[/trajectory])" if run_dir else ""
            raise ConfigError(f"checkpoint={entry}: no such checkpoint file{where}")
        files += found
    run_dir = run_dir or run_folder_of(files[0])
    if run_dir is None:
        raise ConfigError(
            f"checkpoint={files[0]}: not inside a run folder (no config.yaml beside its checkpoints/ "
            f"folder); give run=<the folder it came from> as well"
        )
    saved = {c.step: c for c in (position(p, f"checkpoint={p}") for p in files)}
    return Inputs([saved[s] for s in sorted(saved)], run_dir)


def _load_saved(run_dir: Path) -> DictConfig:
    path = run_config_path(run_dir)
    assert path is not None
    try:
        saved = OmegaConf.load(path)
    except Exception as err:
        raise ConfigError(f"run={run_dir}: '{path}' is not readable YAML ({str(err).splitlines()[0]})") from None
    if not isinstance(saved, DictConfig) or any(k not in saved for k in MODEL_KEYS + ("data",)):
        raise ConfigError(
            f"run={run_dir}: '{path}' is not an ssl-it-train configuration (needs backbone, objective and data)"
        )
    relocate(saved, OmegaConf.select(saved, "paths.output_dir", default="") or "", run_dir)
    return saved


def _touched(key: str, typed: dict[str, str]) -> list[str]:
    return [t for k, t in typed.items() if k == key or k.startswith(f"{key}.")]


def effective_config(cfg: DictConfig, inputs: Inputs, overrides: list[str]) -> DictConfig:
    """The configuration measured: ``cfg`` itself for a model named by config; else the run's model
    and, for every key of :data:`RUN_KEYS` the command line does not give, the run's value. Adds
    ``run`` (group choices, as a training run records them) and ``measure`` (what was measured)."""
    typed = typed_keys(overrides)
    config = cfg.copy()
    choices = dict(HydraConfig.get().runtime.choices) if HydraConfig.initialized() else {}
    if inputs.run_dir is not None:
        for key in MODEL_KEYS:
            if _touched(key, typed):
                raise ConfigError(
                    f"{_touched(key, typed)[0]}: with run= or checkpoint= the model is the run's own "
                    f"({key} from its config.yaml); measure another model without run= and checkpoint="
                )
        saved = _load_saved(inputs.run_dir)
        choices.update({k: v for k, v in (OmegaConf.select(saved, "run.choices") or {}).items() if k not in typed})
        with open_dict(config):
            for key in MODEL_KEYS:
                config[key] = saved[key]
            for key in RUN_KEYS:
                inherit = key in saved and not (key in typed or f"{key}@" in " ".join(typed.values()))
                if key == "infoplane" and not enabled(saved.get(key)):
                    inherit = False  # the run measured nothing: the measure config's plane
                if inherit:
                    config[key] = saved[key]
                    for k in typed:
                        if k.startswith(f"{key}."):
                            OmegaConf.update(config, k, OmegaConf.select(cfg, k), force_add=True)
    with open_dict(config):
        config.infoplane.run_dir = str(cfg.paths.output_dir)
        if config.infoplane.get("probe_size") == "auto":
            config.infoplane.probe_size = _logged_probe_size(inputs.run_dir)
        config.run = {
            "choices": {k: v for k, v in choices.items() if v is not None and not k.startswith("hydra/")},
            "overrides": list(overrides),
            "sweep": None,
            "swept": None,
        }
        config.measure = {
            "run": None if inputs.run_dir is None else str(inputs.run_dir.resolve()),
            "checkpoints": [str(c.path.resolve()) for c in inputs.checkpoints],
            "weights": None if inputs.weights is None else str(inputs.weights.resolve()),
        }
        for key in ("checkpoint", "weights", "merge"):
            config.pop(key)
    return config


def _logged_probe_size(run_dir: Path | None) -> int | None:
    """``infoplane.probe_size=auto`` of a run: the size it chose (its last row), else all of the probe set."""
    path = run_dir / "infoplane.csv" if run_dir else None
    rows = read_trajectory(path) if path is not None and path.is_file() else []
    return int(rows[-1]["n_probe"]) if rows and rows[-1].get("n_probe") else None


def _not_trained(params: Any) -> torch.optim.Optimizer:
    raise RuntimeError("ssl-it-measure does not train")


def build(cfg: DictConfig) -> tuple[SSLModule, Any, InformationPlane]:
    """The module, data and information plane of ``cfg``; raises on bad values, before any estimate."""
    _, datamodule, backbone, objective = build_data_and_model(cfg)
    module = SSLModule(backbone, objective, optimizer=_not_trained)
    plane: InformationPlane = instantiate(cfg.infoplane, _partial_=True)(
        estimator=build_estimator(cfg.estimator), source="measure"
    )
    check_layers(module, plane.layers)
    check_probe_size(datamodule.probe_size_used, [plane])
    return module, datamodule, plane


def load_weights(module: SSLModule, path: Path, key: str) -> None:
    """A Lightning checkpoint's weights into the whole module, or a state dict into the backbone."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=False, mmap=True)
        if isinstance(state, dict) and "state_dict" in state:
            module.load_state_dict(state["state_dict"])
        else:
            module.backbone.load_state_dict(state)
    except Exception as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else ""
        raise ConfigError(f"{key}: '{path}' does not load into this model ({type(err).__name__}: {first})") from None


class MeasureAtValidation(pl.Callback):
    """Evaluates the information plane once, as the validation pass starts, at a saved step and epoch.

    Validation runs without gradients; the estimators get them back (neural
    critics and classifier bounds train as they do in the training callback)."""

    def __init__(self, plane: InformationPlane, step: int, epoch: float) -> None:
        self.plane, self.step, self.epoch = plane, step, epoch
        self.rows: list[dict[str, Any]] = []

    @override
    def on_validation_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        with torch.enable_grad():
            self.rows = self.plane.measure(trainer, pl_module, self.step, self.epoch)


def measure_each(cfg: DictConfig, inputs: Inputs, module: SSLModule, datamodule: Any, plane: InformationPlane) -> int:
    """Load and measure every checkpoint in step order (or the model as built); returns the evaluations."""
    per_epoch = batches_per_epoch(inputs.checkpoints, inputs.run_dir)
    targets: list[tuple[Path | None, int, float]] = [
        (c.path, c.step, c.epoch_position(per_epoch)) for c in inputs.checkpoints
    ] or [(inputs.weights, 0, 0.0)]
    for path, step, epoch in targets:
        if path is not None:
            load_weights(module, path, f"checkpoint={path}" if inputs.checkpoints else f"weights={path}")
        plane.probe_cache.clear()  # every fresh Trainer is at step 0: the cache cannot tell the weights apart
        hook = MeasureAtValidation(plane, step, epoch)
        trainer = instantiate(cfg.trainer)(
            callbacks=[plane, hook],
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            limit_val_batches=1,
            inference_mode=False,
            default_root_dir=str(cfg.paths.output_dir),
        )
        trainer.validate(module, datamodule=datamodule, verbose=False)
        layers = "; ".join(
            f"{r['layer']} " + " ".join(f"{q}={r[q]:.3f}" for q in ("I_XT", "I_TY", "I_Z1Z2") if r.get(q) is not None)
            for r in hook.rows
        )
        log.info(f"measured {path or 'the model as built'} (step {step}, epoch {epoch}): {layers}")
    return len(targets)


@dataclass
class Measurement:
    """One prepared measurement: its config, inputs, model, data and plane."""

    config: DictConfig
    inputs: Inputs
    module: SSLModule
    datamodule: Any
    plane: InformationPlane
    started: float


def prepare(cfg: DictConfig, overrides: list[str]) -> Measurement:
    """Validate and build everything, then claim the output folder; :class:`ConfigError` before any work."""
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    started = time.monotonic()
    with config_errors(cfg, also=(RuntimeError,), first_line=True):  # load_state_dict raises RuntimeError
        inputs = resolve_inputs(cfg)
        config = effective_config(cfg, inputs, overrides)
        check_constructor_keys(config)
        module, datamodule, plane = build(config)
        if inputs.weights is not None:
            load_weights(module, inputs.weights, f"weights={inputs.weights}")
        if inputs.checkpoints:  # the first checkpoint must fit the model before anything is written
            module.load_state_dict(load(inputs.checkpoints[0].path)["state_dict"])
    out = Path(str(cfg.paths.output_dir))
    claim(out, secrets.token_hex(4))
    return Measurement(config, inputs, module, datamodule, plane, started)


def run_measurement(m: Measurement, overrides: list[str]) -> float:
    """Measure, write ``config.yaml`` and ``summary.json``; returns the number of evaluations."""
    out = Path(str(m.config.paths.output_dir))
    OmegaConf.save(m.config, out / "config.yaml", resolve=True)
    run_segments.begin(out, overrides)
    try:
        n = measure_each(m.config, m.inputs, m.module, m.datamodule, m.plane)
    except Exception as err:
        write_summary(out, {"error": f"{type(err).__name__}: {err}"}, time.monotonic() - m.started, status="failed")
        raise
    write_summary(out, final_metrics(out / "infoplane.csv"), time.monotonic() - m.started)
    line = f"ssl_it: measured {n} evaluation(s) into {out / 'infoplane.csv'} and {out / 'infoplane.png'}"
    print(line, flush=True)
    run_log.write_to_files(logging.INFO, line)
    return float(n)


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="measure")
def hydra_main(cfg: DictConfig) -> float | tuple[float, ...]:
    """Hydra's task function: one measurement (or one job of a multirun over checkpoints), ended
    like a training job (:func:`~ssl_it.run.hydra_job.job_outcome`)."""
    job, overrides = begin_job(cfg)
    if cfg.merge is not None:
        sweep_dir = Path(str(cfg.merge))
        job.tidy()
        if not sweep_dir.is_dir():
            return job.failed(f"invalid configuration: merge={cfg.merge}: no such folder", EXIT_CONFIG)
        merged = merge_sweep(sweep_dir)
        if not merged.jobs:
            return job.failed(f"invalid configuration: merge={cfg.merge}: no measured job folder in it", EXIT_CONFIG)
        print(merged.report(sweep_dir), flush=True)
        return float(merged.rows)

    def work() -> float:
        measurement = prepare(cfg, overrides)
        job.run_dir = Path(str(cfg.paths.output_dir))
        return run_measurement(measurement, overrides)

    return job_outcome(job, work)


def _quoted(path: str) -> str:
    return "'" + path.replace("\\", "\\\\").replace("'", "\\'") + "'"


def expand_sweep_globs(argv: list[str]) -> list[str]:
    """Under ``-m``, ``checkpoint=<glob>`` becomes the list of matching files (one job each); relative
    patterns are also looked up in the ``run=`` folder's ``checkpoints/`` and ``checkpoints/trajectory/``."""
    if "-m" not in argv and "--multirun" not in argv:
        return argv
    run = next((a.split("=", 1)[1] for a in argv if a.startswith("run=")), None)
    out = []
    for arg in argv:
        value = arg.split("=", 1)[1] if arg.startswith("checkpoint=") else ""
        files = _expand(value, Path(run) if run else None) if any(c in value for c in GLOB) else []
        out.append(f"checkpoint={','.join(_quoted(str(f)) for f in files)}" if files else arg)
    return out


def main() -> None:
    """``ssl-it-measure`` / ``python measure.py``: Hydra's main, errors before a job starts as one line, exit 2."""
    sys.argv = expand_sweep_globs(sys.argv)
    with one_line_errors(CONFIG_DIR):
        hydra_main()


class MeasureReport(SweepReport):
    """Hydra callback: the checks of :class:`~ssl_it.run.hydra_job.SweepReport` before a measure writes;
    at the end of a multirun, the jobs' rows merged into one trajectory and figure, then the sweep
    summary (exit 1 if a job failed; the others' rows are kept)."""

    @override
    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(str(config.hydra.sweep.dir))
        merged = merge_sweep(sweep_dir)
        print(merged.report(sweep_dir), flush=True)
        super().on_multirun_end(config, **kwargs)


if __name__ == "__main__":
    main()
