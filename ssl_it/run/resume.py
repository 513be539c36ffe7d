"""Where a run writes, and how a resumed run finds its checkpoint and config.

``resume=null`` starts a new run in Hydra's run directory. ``resume=last``
continues the most recently written ``checkpoints/last.ckpt`` under
``outputs/``; ``resume=<run dir>`` that run's last checkpoint;
``resume=<file.ckpt>`` that checkpoint. A resumed run writes into its
original run directory and continues its W&B run id, **with the
configuration it was saved with** (``<run dir>/config.yaml``).

What the user typed next to ``resume=`` (Hydra's task overrides) is checked
against that saved configuration, key by key:

* a key whose value equals the saved one changes nothing and is accepted;
* a key in :data:`SAFE_ON_RESUME` is applied (and written back to
  ``config.yaml``, so a later resume agrees): ``trainer.max_epochs``, to
  extend a run, and settings that do not change what is computed;
* any other change is refused with a :class:`ConfigError` naming the keys,
  because the checkpoint would silently override it or make it meaningless
  (the objective, the optimiser and its learning rate are restored from the
  checkpoint; a new data set would break the probe set and the trajectory).

Nothing is written here; :meth:`RunState.save_config` writes once the whole
configuration has been checked.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf, open_dict
from pytorch_lightning.utilities import rank_zero_only

from ssl_it.run.checkpoint_io import describe_partial_writes
from ssl_it.run.config_checks import ConfigError
from ssl_it.run.folder import read_run_id
from ssl_it.run.names import adopt_wandb_sweep_run_id
from ssl_it.run.relocate import relocate
from ssl_it.run.summary import finished, read_summary, returned_value

CONFIG_FILE = "config.yaml"

SAFE_ON_RESUME: tuple[str, ...] = (
    "trainer.max_epochs",  # extend (or finish) the run; the schedule's length follows it
    "datamodule.num_workers",  # views are a pure function of (seed, epoch, index)
    "torch_threads",
    "trainer.enable_progress_bar",
    "callbacks.progress_bar",
    "paths.outputs_root",  # where resume=last looks
    "logger.offline_fallback",
    "callbacks.preemption",  # which signals stop the run resumably
    "callbacks.preemption.signals",
    "resume",
)


@dataclass
class RunState:
    """One job's run folder, run id and config, and what a resume found and changed."""

    run_dir: Path
    run_id: str
    config: DictConfig
    checkpoint: str | None = None
    resumed_epoch: int | None = None
    applied: dict[str, Any] = field(default_factory=dict)
    relocated: dict[str, str] = field(default_factory=dict)  # saved paths of a moved run folder, rewritten

    @property
    def resumed(self) -> bool:
        """Whether the job continues from a checkpoint."""
        return self.checkpoint is not None

    def save_config(self) -> None:
        """Write ``config.yaml``: the resolved config of a new run, or, on a
        resume that changed a safe key or moved the run folder, the saved
        file with those changes."""
        path = self.run_dir / CONFIG_FILE
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            OmegaConf.save(self.config, path, resolve=True)
        elif self.applied or self.relocated:
            saved = OmegaConf.load(path)
            for key, value in {**self.relocated, **self.applied}.items():
                OmegaConf.update(saved, key, value, force_add=True)
            OmegaConf.save(saved, path)


class AlreadyFinished(Exception):
    """A resume of a run that has finished, with nothing more asked: a no-op."""

    def __init__(self, state: RunState) -> None:
        super().__init__(
            f"run {state.run_dir} has already finished its {(state.resumed_epoch or 0) + 1} epoch(s); "
            f"nothing to do (give trainer.max_epochs=N above that to train further)"
        )
        self.state = state

    def value(self) -> float | tuple[float, ...]:
        """What the finished run returned, read back from its ``summary.json``."""
        summary = {
            k: (math.nan if v is None else v)
            for k, v in read_summary(self.state.run_dir).items()
            if k.startswith("final/")
        }
        acc = summary.get("final/linear_eval_top1", summary.get("final/val_probe_acc", math.nan))
        return returned_value(summary, acc, self.state.config.get("optimized_metric"))


def typed_keys(overrides: Sequence[str]) -> dict[str, str]:
    """``{config key: override as typed}`` of Hydra task overrides such as
    ``trainer.max_epochs=5``, ``+callbacks.x={...}``, ``~logger``, ``objective=simclr``."""
    keys: dict[str, str] = {}
    for override in overrides:
        key = override.split("=", 1)[0].lstrip("+~").split("@", 1)[0]
        keys[key] = override
    return keys


def _find_checkpoint(resume: str, outputs_root: Path) -> Path:
    if resume == "last":
        found = sorted(outputs_root.rglob("checkpoints/last.ckpt"), key=lambda p: p.stat().st_mtime)
        if not found:
            raise ConfigError(f"resume=last: no checkpoints/last.ckpt under '{outputs_root}'")
        return found[-1]
    path = Path(resume).expanduser()
    if path.is_dir():
        path = path / "checkpoints" / "last.ckpt"
    partial = describe_partial_writes(path.parent) if path.parent.is_dir() else ""
    if not path.is_file() and partial:
        raise ConfigError(
            f"resume={resume}: no checkpoint at '{path}': {partial}, before any epoch was saved; "
            f"nothing can be resumed: start the run again (the folder can be deleted)"
        )
    if not path.is_file():
        raise ConfigError(f"resume={resume}: no checkpoint at '{path}' (give 'last', a run directory or a .ckpt file)")
    return path


def checkpoint_epoch(path: Path) -> int:
    """The epoch stored in a Lightning checkpoint; raises if it cannot be read."""
    state = torch.load(path, map_location="cpu", weights_only=False, mmap=True)
    return int(state["epoch"])


def _read_epoch(ckpt: Path, resume: str) -> int:
    try:
        return checkpoint_epoch(ckpt)
    except Exception as err:  # truncated zip, unpickling error, not a Lightning checkpoint
        reason = f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
        raise ConfigError(
            f"resume={resume}: checkpoint '{ckpt}' cannot be read ({reason}); {_alternatives(ckpt)}"
        ) from None


def _alternatives(bad: Path) -> str:
    """Which other checkpoint of the same run can be resumed from, and how."""
    usable = []
    for other in sorted(bad.parent.glob("*.ckpt"), key=lambda p: p.stat().st_mtime, reverse=True):
        if other == bad:
            continue
        try:
            usable.append(f"'{other.name}' (epoch {checkpoint_epoch(other)}): resume={other}")
        except Exception:
            continue
    if not usable:
        return f"no other readable checkpoint in '{bad.parent}': start a new run"
    return "it was probably cut short while being written. Readable instead: " + "; ".join(usable)


def _resolved(node: Any) -> Any:
    if isinstance(node, DictConfig) or OmegaConf.is_list(node):
        try:
            return OmegaConf.to_container(node, resolve=True)
        except Exception:
            return OmegaConf.to_container(node, resolve=False)
    return node


def _compare_view(cfg: DictConfig, saved: DictConfig) -> DictConfig:
    """``cfg`` with the saved run's paths, so interpolations such as
    ``${paths.output_dir}/checkpoints`` compare equal."""
    view = cfg.copy()
    with open_dict(view):
        view.paths = saved.paths
    return view


SAFE_GROUPS_ON_RESUME: tuple[str, ...] = ("launcher",)  # where the jobs run, not what they compute


def _typed_choice(typed: str) -> str | None:
    """The option a group override selects.

    ``objective=simclr`` -> ``simclr``; ``~scheduler``, ``debug=null`` -> None.
    """
    if "=" not in typed:
        return None
    value = typed.split("=", 1)[1]
    return None if value in ("", "null") else value


def _group_change(key: str, typed: str, cfg: DictConfig, saved: DictConfig) -> bool:
    """Whether a config-group override picks another option than the saved run's.

    The saved ``run.choices`` holds every group's option; a group with no key
    of its own (``@package _global_``: ``debug``, ``experiment``,
    ``hparams_search``) can be compared only there. A run saved without
    choices is compared by its node, when the group has one."""
    choices = OmegaConf.select(saved, "run.choices", default=None) or {}
    if choices:
        return _typed_choice(typed) != choices.get(key)
    if key in cfg or key in saved:
        now, before = OmegaConf.select(cfg, key, default=None), OmegaConf.select(saved, key, default=None)
        return _resolved(now) != _resolved(before)
    return _typed_choice(typed) is not None


def check_overrides(
    cfg: DictConfig, saved: DictConfig, overrides: Sequence[str], resume: str, groups: Sequence[str] = ()
) -> dict[str, Any]:
    """The safe changes to apply to ``saved``; raises naming every unsafe one.

    ``groups``: the config groups (``objective``, ``debug``, ...); an override
    that picks a group's option is compared with the saved run's choice."""
    view = _compare_view(cfg, saved)
    applied: dict[str, Any] = {}
    refused: list[str] = []
    for key, typed in typed_keys(overrides).items():
        if key == "resume":
            continue
        if key in groups and "@" not in typed.split("=", 1)[0]:
            if key not in SAFE_GROUPS_ON_RESUME and _group_change(key, typed, view, saved):
                refused.append(typed)
            continue
        new = _resolved(OmegaConf.select(view, key, default=None))
        if new == _resolved(OmegaConf.select(saved, key, default=None)):
            continue
        if key in SAFE_ON_RESUME:
            applied[key] = new
        else:
            refused.append(typed)
    if refused:
        raise ConfigError(
            f"resume={resume}: {', '.join(refused)} would change the resumed run, which continues with the "
            f"configuration saved in its config.yaml. Only {', '.join(SAFE_ON_RESUME[:-1])} may be given with "
            f"resume=; start a new run to change anything else"
        )
    return applied


def resolve_resume(
    cfg: DictConfig, output_dir: Path, outputs_root: Path, overrides: Sequence[str] = (), groups: Sequence[str] = ()
) -> RunState:
    """The run directory, W&B run id, config and checkpoint of this job.

    Args:
        cfg: the composed config.
        output_dir: Hydra's directory for a new run.
        outputs_root: where ``resume=last`` looks.
        overrides: what the user typed (Hydra's task overrides); only they
            are compared with a resumed run's saved configuration.
        groups: the config groups; an override choosing a group's option is
            compared with the saved run's choice (``run.choices``).
    """
    if cfg.resume is None:
        return RunState(run_dir=output_dir, run_id=secrets.token_hex(4), config=cfg)
    resume = str(cfg.resume)
    ckpt = _find_checkpoint(resume, outputs_root)
    run_dir = ckpt.parent.parent.absolute()
    saved_path = run_dir / CONFIG_FILE
    if not saved_path.is_file():
        raise ConfigError(f"resume={resume}: '{saved_path}' is missing, cannot rebuild the run")
    epoch = _read_epoch(ckpt, resume)
    try:
        saved = OmegaConf.load(saved_path)
    except Exception as err:  # a YAML syntax error, or not text
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ConfigError(
            f"resume={resume}: '{saved_path}' is not readable YAML ({first}); restore it from a "
            f"copy of the run, or start a new run"
        ) from None
    if not isinstance(saved, DictConfig):
        raise ConfigError(f"resume={resume}: '{saved_path}' is not a mapping, cannot rebuild the run")
    relocated = relocate(saved, OmegaConf.select(saved, "paths.output_dir", default="") or "", run_dir)
    applied = check_overrides(cfg, saved, overrides, resume, groups)
    config = saved.copy()
    for key, value in applied.items():
        OmegaConf.update(config, key, value, force_add=True)
    if int(config.trainer.max_epochs) < epoch + 1:
        raise ConfigError(
            f"trainer.max_epochs={config.trainer.max_epochs}: the checkpoint '{ckpt}' has already trained "
            f"{epoch + 1} epochs; give at least {epoch + 1} to resume it"
        )
    with open_dict(config):
        config.resume = str(ckpt)
        config.paths = cfg.paths
        config.paths.output_dir = str(run_dir)
    run_id = read_run_id(run_dir) or secrets.token_hex(4)
    return RunState(
        run_dir=run_dir,
        run_id=run_id,
        config=config,
        checkpoint=str(ckpt),
        resumed_epoch=epoch,
        applied=applied,
        relocated=relocated,
    )


def open_run(cfg: DictConfig, overrides: Sequence[str] = (), groups: Sequence[str] = ()) -> RunState:
    """The run this job trains (:func:`resolve_resume`), with its run id: in a
    W&B sweep the agent's, on a DDP rank other than 0 the one rank 0 wrote.
    Raises :class:`AlreadyFinished` for a resume with nothing left to train."""
    state = resolve_resume(cfg, Path(cfg.paths.output_dir), Path(cfg.paths.outputs_root), overrides, groups)
    done = state.resumed_epoch is not None and int(state.config.trainer.max_epochs) <= state.resumed_epoch + 1
    if done and finished(state.run_dir):
        raise AlreadyFinished(state)
    if not state.resumed:  # in a W&B sweep, W&B uses the agent's run id whatever id we give
        state.run_id = adopt_wandb_sweep_run_id(state.run_id)
    if rank_zero_only.rank > 0:  # type: ignore[attr-defined]  # a DDP rank re-running the script: rank 0 owns the run id
        state.run_id = read_run_id(state.run_dir) or state.run_id
    return state


def last_good_checkpoint(run_dir: Path) -> str:
    """A sentence naming the newest checkpoint of ``run_dir`` and its epoch, if any."""
    ckpt = run_dir / "checkpoints" / "last.ckpt"
    if not ckpt.is_file():
        return "No checkpoint had been written yet."
    try:
        return f"The last good checkpoint is kept: '{ckpt}' (after {checkpoint_epoch(ckpt) + 1} epoch(s))."
    except Exception:
        return f"The checkpoint '{ckpt}' cannot be read."
