"""The information-plane callback: I(X;T) and I(T;Y) per layer over training.

At each evaluation (before training, at log-spaced steps early on where
compression is fastest, and every ``every_n_epochs`` epochs) the fixed probe
set is passed through the model in eval mode without gradients, and for
every tapped layer T the callback estimates, in nats:

* ``I(X;T)`` between a stated representation of X (flattened pixels, or a
  fixed seeded Gaussian random projection of them) and T;
* ``I(T;Y)`` between T and the integer labels;
* ``H_gauss``: the Gaussian log-det entropy of T, and its effective rank
  (RankMe) — collapse diagnostics;
* ``I(Z1;Z2)`` between the projector embeddings of two fixed augmented views
  of the probe samples (what contrastive objectives lower-bound).

What the numbers mean depends on the estimator (DESIGN.md §2): each row
carries its name, bound type, settings and ceilings. Rows go to
``infoplane.csv`` (append-only, fsync'ed per evaluation), to every logger as
``infoplane/<layer>/<quantity>`` scalars, and to W&B as a trajectory table,
an information-plane chart and a figure; ``infoplane.png`` is redrawn each
time. Neural estimators are warm-started: one deep copy per (layer,
quantity) keeps its critic between evaluations and in the checkpoint.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pytorch_lightning as pl
import torch

from ssl_it.callbacks.plotting import plot_information_plane, save_figure
from ssl_it.callbacks.taps import check_layers, probe_representations
from ssl_it.callbacks.trajectory import TrajectoryFile, read_trajectory
from ssl_it.estimators import MIEstimator, effective_rank, gaussian_entropy


class InformationPlane(pl.Callback):
    """Per-layer information-plane trajectory of the probe set.

    Args:
        estimator: the MI estimator (the ``estimator`` config group); deep
            copies are made per layer and quantity.
        run_dir: where ``infoplane.csv`` and ``infoplane.png`` are written.
        layers: aliases ``backbone``/``projector`` or submodule names.
        every_n_epochs: evaluate after every n-th epoch.
        log_spaced_evals: extra evaluations at this many log-spaced steps
            within the first ``log_spaced_epochs`` epochs.
        log_spaced_epochs: span of the log-spaced evaluations, in epochs.
        at_start: evaluate once before the first optimiser step.
        x_representation: ``pixels`` (flattened input) or
            ``random_projection`` (fixed Gaussian projection to ``x_dim``).
        x_dim: dimension of the random projection of X.
        measure_views: also estimate ``I(Z1;Z2)`` between two augmented views.
        max_dim: layers wider than this (flattened convolutional maps) are
            reduced to ``max_dim`` by a fixed seeded Gaussian projection
            before the MI estimates: ``I(X;PT) <= I(X;T)`` by data processing,
            so the point is a lower bound on the layer's information, and the
            Gaussian and k-NN estimators stay within memory. ``H_gauss`` and
            the effective rank use the full layer. ``None`` never projects.
        seed: seeds the random projections.
        cpu_threads: intra-op threads while estimating on the CPU (the probe
            forward passes keep the training's; restored afterwards); 1
            avoids the oversubscription that made LAPACK calls 50x slower
            beside a busy data-loader worker on 2 cores. ``None`` keeps
            torch's setting.
    """

    def __init__(
        self,
        estimator: MIEstimator,
        run_dir: str,
        layers: list[str] | tuple[str, ...] = ("backbone", "projector"),
        every_n_epochs: int = 1,
        log_spaced_evals: int = 3,
        log_spaced_epochs: float = 1.0,
        at_start: bool = True,
        x_representation: Literal["pixels", "random_projection"] = "random_projection",
        x_dim: int = 64,
        measure_views: bool = True,
        max_dim: int | None = 2048,
        seed: int = 0,
        cpu_threads: int | None = 1,
    ) -> None:
        if every_n_epochs < 1:
            raise ValueError(f"infoplane.every_n_epochs must be >= 1, got {every_n_epochs}")
        if log_spaced_evals < 0:
            raise ValueError(f"infoplane.log_spaced_evals must be >= 0, got {log_spaced_evals}")
        if x_representation not in ("pixels", "random_projection"):
            raise ValueError(f"infoplane.x_representation must be 'pixels' or 'random_projection', got '{x_representation}'")
        if x_dim < 1:
            raise ValueError(f"infoplane.x_dim must be >= 1, got {x_dim}")
        if max_dim is not None and max_dim < 1:
            raise ValueError(f"infoplane.max_dim must be >= 1 or null, got {max_dim}")
        if not layers:
            raise ValueError("infoplane.layers must name at least one layer")
        self.estimator = estimator
        self.run_dir = Path(run_dir)
        self.layers = list(layers)
        self.every_n_epochs = every_n_epochs
        self.log_spaced_evals = log_spaced_evals
        self.log_spaced_epochs = log_spaced_epochs
        self.at_start = at_start
        self.x_representation = x_representation
        self.x_dim = x_dim
        self.measure_views = measure_views
        self.max_dim = max_dim
        self.seed = seed
        self.cpu_threads = cpu_threads
        self._views: list[torch.Tensor] | None = None
        self._projections: dict[str, torch.Tensor] = {}
        self.trajectory = TrajectoryFile(self.run_dir / "infoplane.csv")
        self.evaluated_steps: list[int] = []
        self.estimators: dict[str, MIEstimator] = {}
        self._restored: dict[str, Any] | None = None
        self._scheduled_steps: set[int] = set()
        self._probe: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None

    # ----------------------------------------------------------------- setup
    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        check_layers(pl_module, self.layers)

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self._restored is not None:
            self.trajectory.truncate_to(int(self._restored["rows_written"]))
            self.evaluated_steps = list(self._restored["evaluated_steps"])
        steps_per_epoch = max(1, int(trainer.num_training_batches))
        horizon = max(2, int(self.log_spaced_epochs * steps_per_epoch))
        if self.log_spaced_evals:
            grid = np.unique(np.round(np.geomspace(1, horizon, self.log_spaced_evals + 1)[:-1]).astype(int))
            self._scheduled_steps = {int(s) for s in grid if s < horizon}

    def _probe_data(self, trainer: pl.Trainer) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if self._probe is None:
            inputs, labels = trainer.datamodule.probe_set()
            flat = inputs.flatten(1).double()
            if self.x_representation == "random_projection" and flat.shape[1] > self.x_dim:
                gen = torch.Generator().manual_seed(self.seed)
                proj = torch.randn(flat.shape[1], self.x_dim, generator=gen, dtype=torch.float64)
                flat = flat @ proj / math.sqrt(self.x_dim)
            self._probe = inputs, labels, flat.float()
        return self._probe

    # ------------------------------------------------------------- schedule
    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.at_start and trainer.global_step == 0:
            self._evaluate(trainer, pl_module)

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args: Any) -> None:
        if trainer.global_step in self._scheduled_steps:
            self._evaluate(trainer, pl_module)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if (trainer.current_epoch + 1) % self.every_n_epochs == 0:
            self._evaluate(trainer, pl_module)

    # ------------------------------------------------------------ measuring
    def _estimator_for(self, key: str) -> MIEstimator:
        if key not in self.estimators:
            est = copy.deepcopy(self.estimator)
            saved = (self._restored or {}).get("estimators", {}).get(key)
            if saved is not None and hasattr(est, "load_state_dict"):
                est.load_state_dict(saved)
            self.estimators[key] = est
        return self.estimators[key]

    def _gathered(self, trainer: pl.Trainer, pl_module: pl.LightningModule, inputs: torch.Tensor) -> dict[str, torch.Tensor]:
        """Representations of the whole probe set, computed once, on rank 0.

        No collective: one that only some ranks reach deadlocks, and the ranks
        do not reach collectives in the same order at epoch end (Lightning's
        progress bar reduces synced metrics on rank 0 alone). A probe set of
        512-8,192 samples is one forward pass on one device."""
        return probe_representations(pl_module, inputs, self.layers)

    def _evaluate(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        step = trainer.global_step
        if step in self.evaluated_steps:
            return
        self.evaluated_steps.append(step)
        if not trainer.is_global_zero:
            return
        start = time.perf_counter()
        inputs, labels, x_repr = self._probe_data(trainer)
        reps = self._gathered(trainer, pl_module, inputs)
        views = self._view_embeddings(trainer, pl_module) if self.measure_views else None
        epoch = step / max(1, int(trainer.num_training_batches))
        with self._capped_threads(pl_module.device):
            rows = [self._layer_row(name, t, x_repr, labels, step, epoch) for name, t in reps.items()]
            if views is not None:
                value = self._estimator_for("views/I_Z1Z2").estimate(views[0], views[1])
                rows.append(self._views_row(value, step, epoch, labels))
        total = time.perf_counter() - start
        for row in rows:
            row["seconds"] = round(total / len(rows), 4)
        self.trajectory.append(rows)
        self._log(trainer, rows, step, total)

    @contextlib.contextmanager
    def _capped_threads(self, device: torch.device) -> Iterator[None]:
        """Estimate with ``cpu_threads`` intra-op threads. The probe forward
        passes keep the training's (a 512-digit convnet forward: 0.13 s on 2
        threads, 0.19 s on 1), the small LAPACK and pairwise-distance calls of
        the estimators do not scale and oversubscribe beside a loader worker."""
        threads = torch.get_num_threads()
        if self.cpu_threads is not None and device.type == "cpu":
            torch.set_num_threads(self.cpu_threads)
        try:
            yield
        finally:
            torch.set_num_threads(threads)

    def _layer_row(
        self, layer: str, t: torch.Tensor, x_repr: torch.Tensor, labels: torch.Tensor, step: int, epoch: float
    ) -> dict[str, Any]:
        x_repr = x_repr.to(t.device)
        t_est = self._narrowed(layer, t)
        xt = self._estimator_for(f"{layer}/I_XT").estimate_with_info(x_repr, t_est)
        ty = self._estimator_for(f"{layer}/I_TY").estimate_with_info(t_est, labels.to(t.device))
        n = t.shape[0]
        return {
            "step": step, "epoch": round(epoch, 4), "layer": layer, "estimator": self.estimator.name,
            "bound": self.estimator.bound, "I_XT": xt.value, "I_TY": ty.value,
            "H_gauss": gaussian_entropy(t), "effective_rank": effective_rank(t), "dim": t.shape[1],
            "estimated_dim": t_est.shape[1],
            "n_probe": n, "ceiling_XT": xt.ceiling, "ceiling_TY": ty.ceiling, "H_Y": _label_entropy(labels),
            "log_n": math.log(n), "settings": json.dumps(self.estimator.settings(), sort_keys=True, default=str),
        }

    def _narrowed(self, layer: str, t: torch.Tensor) -> torch.Tensor:
        """``t`` itself, or ``t P / sqrt(max_dim)`` with a Gaussian ``P`` seeded
        by (seed, layer name) when the layer is wider than ``max_dim``; ``P`` is
        drawn once per layer and kept (a pure function of the seed, so it is not
        checkpointed)."""
        if self.max_dim is None or t.shape[1] <= self.max_dim:
            return t
        proj = self._projections.get(layer)
        if proj is None:
            gen = torch.Generator().manual_seed(self.seed * 1_000_003 + zlib.crc32(layer.encode()))
            proj = torch.randn(t.shape[1], self.max_dim, generator=gen).to(device=t.device, dtype=t.dtype)
            self._projections[layer] = proj
        return t @ proj / math.sqrt(self.max_dim)

    def _view_embeddings(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> list[torch.Tensor] | None:
        """Projector embeddings of two fixed augmented views of the probe set
        (rank 0 only; ``None`` where there is nothing to measure)."""
        if self._views is None:
            self._views = trainer.datamodule.probe_views()
        views = self._views
        if len(views) < 2 or views[0].shape != views[1].shape:
            return None
        return [probe_representations(pl_module, v, ["projector"])["projector"] for v in views[:2]]

    def _views_row(self, value: float, step: int, epoch: float, labels: torch.Tensor) -> dict[str, Any]:
        n = labels.shape[0]
        return {
            "step": step, "epoch": round(epoch, 4), "layer": "views", "estimator": self.estimator.name,
            "bound": self.estimator.bound, "I_Z1Z2": value, "n_probe": n, "log_n": math.log(n),
            "H_Y": _label_entropy(labels), "settings": json.dumps(self.estimator.settings(), sort_keys=True, default=str),
        }

    # -------------------------------------------------------------- logging
    def _log(self, trainer: pl.Trainer, rows: list[dict[str, Any]], step: int, seconds: float) -> None:
        metrics: dict[str, float] = {"infoplane/seconds": seconds}
        for row in rows:
            for q in ("I_XT", "I_TY", "I_Z1Z2", "H_gauss", "effective_rank"):
                if row.get(q) is not None:
                    metrics[f"infoplane/{row['layer']}/{q}"] = float(row[q])
        history = read_trajectory(self.trajectory.path)
        figure_path = self.run_dir / "infoplane.png"
        fig = plot_information_plane([("", history)], title=f"Information plane ({self.estimator.name})")
        save_figure(fig, figure_path)
        for logger in trainer.loggers:
            logger.log_metrics(metrics, step=step)
            if type(logger).__name__ == "WandbLogger":
                self._log_wandb(logger, history, figure_path, step)

    def _log_wandb(self, logger: Any, history: list[dict[str, Any]], figure_path: Path, step: int) -> None:
        import wandb

        columns = ["step", "epoch", "layer", "estimator", "bound", "I_XT", "I_TY", "I_Z1Z2", "H_gauss", "effective_rank"]
        table = wandb.Table(columns=columns, data=[[r.get(c) for c in columns] for r in history])
        plane = [r for r in history if r.get("I_XT") is not None]
        plane_table = wandb.Table(columns=["I_XT", "I_TY", "layer"], data=[[r["I_XT"], r["I_TY"], r["layer"]] for r in plane])
        logger.experiment.log(
            {
                "infoplane/trajectory": table,
                "infoplane/chart": wandb.plot.line(plane_table, "I_XT", "I_TY", stroke="layer", title="Information plane"),
                "infoplane/figure": wandb.Image(str(figure_path)),
                "trainer/global_step": step,
            }
        )

    # ------------------------------------------------------------- state
    def state_dict(self) -> dict[str, Any]:
        return {
            "rows_written": self.trajectory.rows_written,
            "evaluated_steps": list(self.evaluated_steps),
            "estimators": {k: e.state_dict() for k, e in self.estimators.items() if hasattr(e, "state_dict")},
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._restored = state_dict
        self.estimators = {}


def _label_entropy(labels: torch.Tensor) -> float:
    p = torch.bincount(labels.flatten().long()).double()
    p = p[p > 0] / p.sum()
    return float(-(p * p.log()).sum())
