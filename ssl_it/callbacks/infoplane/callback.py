"""The information-plane callback: I(X;T) and I(T;Y) per layer over training.

At each evaluation (``infoplane.schedule``: before training, at log-spaced
steps early on, every ``every_n_epochs`` epochs) the fixed probe set is passed
through the model in eval mode without gradients (one pass per step, shared
with the embedding diagnostics: ``probe_cache``), and for every tapped layer
T the callback estimates, in nats:

* ``I(X;T)`` between a stated representation of X (flattened pixels, or a
  fixed seeded Gaussian random projection of them) and T;
* ``I(T;Y)`` between T and the integer labels;
* ``H_gauss``: the Gaussian log-det entropy of T, and its effective rank
  (RankMe): collapse diagnostics;
* ``I(Z1;Z2)`` between the projector embeddings of two fixed augmented views
  of the probe samples (what contrastive objectives lower-bound).

Each quantity may have its own estimator. What a number means depends on it
(docs/design.md §2): every row records, per quantity, the estimator, its
bound kind, the ceiling (the smaller of the quantity's bound on the probe
set and the estimator's own) and a ``saturated`` flag for values within
``saturation_tolerance`` of it (``infoplane.rows``; a warning names the
layer once), and a band (``ssl_it.estimators.bands``: sampling and
invariance spread). Layer pairs where one is a function of the other are
checked against the data-processing inequality (``infoplane.dpi``). Rows are
appended to ``infoplane.csv`` (fsync'ed), kept in
memory for ``infoplane.png`` and sent to the loggers (``infoplane.sinks``).
Neural estimators are warm-started: one deep copy per (layer, quantity)
keeps its critic between evaluations and in the checkpoint. The estimates
may use a subset of the probe set (``probe_size``; ``"auto"`` sizes it from
a time share, ``infoplane.budget``).

The file is longer than most because the evaluation's flow (schedule,
held evaluations of ``"auto"``, rows, logging, state) is one sequence that
reads best in one place; the pieces that stand alone (rows, DPI check,
logging, probe set, budget, schedule) live in their own modules.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import functools
import math
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal

import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities import rank_zero_info
from typing_extensions import override

from ssl_it import checks
from ssl_it.callbacks.divergence import require_finite
from ssl_it.callbacks.infoplane import rows as rows_lib
from ssl_it.callbacks.infoplane.budget import ProbeChoice, ProbeSizer, evaluations_in_run
from ssl_it.callbacks.infoplane.dpi import DataProcessingCheck
from ssl_it.callbacks.infoplane.dpi import layer_pairs as dpi_layer_pairs
from ssl_it.callbacks.infoplane.probe import ProbeSet, WideLayerProjection, probe_set
from ssl_it.callbacks.infoplane.schedule import EvaluationSchedule
from ssl_it.callbacks.infoplane.sinks import WandbTrajectory, draw_figure, is_wandb, scalar_metrics
from ssl_it.callbacks.probe_cache import ProbeCache, probe_data
from ssl_it.callbacks.taps import check_layers
from ssl_it.estimators import BandMaker, MIEstimator, effective_rank, gaussian_entropy
from ssl_it.estimators.bands import TRANSFORMS, Band, SamplingSpread, check_band_settings
from ssl_it.run.trajectory import TrajectoryFile, final_metrics, read_trajectory
from ssl_it.threads import threads


class InformationPlane(pl.Callback):
    """Per-layer information-plane trajectory of the probe set.

    Args:
        estimator: one MI estimator for every quantity (``estimator=kde``),
            or ``{"I_XT": ..., "I_TY": ..., "I_Z1Z2": ...}``, one per quantity
            (``estimator=calibrated``); deep copies are made per layer and
            quantity.
        run_dir: where ``infoplane.csv`` and ``infoplane.png`` are written.
        layers: aliases ``backbone``/``projector`` or submodule names.
        every_n_epochs: evaluate after every n-th epoch (and after the run's last).
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
            before every number of their row: ``I(X;PT) <= I(X;T)`` by data
            processing, so the point is a lower bound on the layer's
            information, and the estimators, ``H_gauss`` and the effective
            rank stay within memory at large probe sets (``estimated_dim``
            says which width was used). ``None`` never projects.
        seed: seeds the random projections.
        cpu_threads: intra-op threads while estimating on the CPU (the probe
            forward passes keep the training's; restored afterwards); 1
            avoids oversubscribing the cores beside a busy data-loader
            worker (docs: results/framework-overhead.md). ``None`` keeps
            torch's setting.
        saturation_tolerance: a value within this fraction of its ceiling
            is flagged ``saturated`` (0.02 = 2 %).
        wandb_chart_preset: ``entity/name`` of a W&B custom-chart preset made
            from ``docs/wandb/infoplane_chart.json``, used for the run-end
            chart (``None``: W&B's built-in line chart).
        objective_name: the objective's config option (``simclr``), named in
            the W&B rows as in the run's config and tags; ``None``: the
            objective's class name in lower case (the tags' fallback too).
        bands: give every value a band (``ssl_it.estimators.bands``:
            sampling spread and invariance spread; ``<quantity>_lo``,
            ``_hi``, ``_sd``, ``_spread``, ``_bias``, ``_level_hi`` columns).
        band_halves: half-samples of the sampling spread, for estimators
            that do not report their standard error.
        band_transforms: MI-preserving maps of the invariance spread
            (``rotation``, ``unit_scale``, ``copula``; ``[]`` for none): one
            list for every quantity, or ``{quantity: list}`` (a quantity
            not named gets all three); the default, as in the config, takes
            the copula for ``I_XT`` only.
        dpi_pairs: ``[[upstream, downstream], ...]`` tapped layers where the
            downstream one is a function of the upstream one, checked
            against the data-processing inequality at every evaluation
            (``infoplane.dpi``); ``None``: backbone -> projector.
        probe_size: how many of the probe samples the estimates use:
            ``None`` all of them (``datamodule.probe_size``), an integer
            that many (a seeded stratified subset), or ``"auto"``: the
            largest that keeps the callback within ``time_share`` of the
            run (``infoplane.budget``; chosen once, after ``auto_after_steps``
            timed training steps; evaluations due before that are held and
            estimated then, at the chosen size).
        time_share: the share of the run's time ``probe_size="auto"`` may spend.
        auto_after_steps: timed training steps before ``"auto"`` chooses.
        source: what every row's ``source`` column says made it: ``train``
            (this callback in a training run) or ``measure`` (``ssl-it-measure``,
            which calls :meth:`measure` on saved weights).
        invariance_every: re-estimate the invariance spread (``band_transforms``)
            at every k-th evaluation, the first and the last of the run; the
            evaluations between carry each transform's last measured change
            ``value(transformed) - value`` onto their own value
            (``ssl_it.estimators.bands``; 1: every evaluation).
        sampling_every: run the half-samples of the sampling spread (for
            estimators that report no standard error of their own) at every
            k-th evaluation, the first and the last; the evaluations between
            carry the last measured standard error (1: every evaluation).
        figure_every: draw ``infoplane.png`` (and send it to W&B) at every
            k-th evaluation, the first and the last; ``infoplane.csv`` and the
            scalars get every evaluation (1: every evaluation).
        probe_cache: the run's shared :class:`~ssl_it.callbacks.probe_cache.ProbeCache`
            (given by ``train.py``); ``None``: a cache of its own.
        estimate_workers: threads that estimate an evaluation's quantities at
            once (each with ``cpu_threads`` intra-op threads). The values do
            not depend on it: every (layer, quantity) has its own estimator
            and seeds. Estimators that are not thread-safe
            (:attr:`~ssl_it.estimators.MIEstimator.thread_safe`: the neural
            critics) make the evaluation sequential.
    """

    def __init__(
        self,
        estimator: MIEstimator | Mapping[str, MIEstimator],
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
        saturation_tolerance: float = 0.02,
        wandb_chart_preset: str | None = None,
        objective_name: str | None = None,
        bands: bool = True,
        band_halves: int = 4,
        band_transforms: Sequence[str] | Mapping[str, Sequence[str]] = rows_lib.BAND_TRANSFORMS,
        dpi_pairs: list[list[str]] | None = None,
        probe_size: int | Literal["auto"] | None = None,
        time_share: float = 0.1,
        auto_after_steps: int = 5,
        source: Literal["train", "measure"] = "train",
        invariance_every: int = 1,
        sampling_every: int = 1,
        figure_every: int = 1,
        probe_cache: ProbeCache | None = None,
        estimate_workers: int = 1,
    ) -> None:
        checks.choice("infoplane.x_representation", x_representation, ("pixels", "random_projection"))
        checks.integer("infoplane.x_dim", x_dim)
        if max_dim is not None:
            checks.integer("infoplane.max_dim", max_dim)
        if not layers:
            checks.fail("infoplane.layers", "a non-empty list of layer names", layers)
        checks.number("infoplane.saturation_tolerance", saturation_tolerance, 0.0, 1.0, open_high=True)
        if probe_size not in ("auto", None) and not (checks.is_integer(probe_size) and probe_size >= 2):
            checks.fail("infoplane.probe_size", "null, auto or an integer >= 2", probe_size)
        checks.number("infoplane.time_share", time_share, 0.0, 1.0, open_low=True)
        checks.integer("infoplane.auto_after_steps", auto_after_steps)
        checks.choice("infoplane.source", source, ("train", "measure"))
        self.source = source
        checks.integer("infoplane.invariance_every", invariance_every)
        checks.integer("infoplane.sampling_every", sampling_every)
        checks.integer("infoplane.figure_every", figure_every)
        self.estimate_workers = checks.integer("infoplane.estimate_workers", estimate_workers)
        self.invariance_every, self.sampling_every, self.figure_every = invariance_every, sampling_every, figure_every
        self._carried: dict[str, dict[str, float]] = {}  # "<layer>/<quantity>" -> the last measured deltas
        self._carried_sampling: dict[str, SamplingSpread] = {}  # "<layer>/<quantity>" -> the last half-sample spread
        self._task_seconds: dict[str, float] = {}  # each estimate's time at the last evaluation: the threads' order
        self._remeasure = True  # this evaluation re-estimates the invariance spread
        self._resample = True  # this evaluation runs the half-samples
        self._drawn_rows = 0  # rows in the last infoplane.png
        self.probe_size = probe_size
        self.sizer = ProbeSizer(probe_size, time_share, auto_after_steps, seed)
        self._held: list[tuple[int, float, dict[str, torch.Tensor], list[torch.Tensor]]] = []
        self._subset: tuple[torch.Tensor, ProbeSet] | None = None
        self.band_maker = None
        self.band_transforms: dict[str, tuple[str, ...]] = {}
        if bands:
            self.band_transforms = rows_lib.transforms_per_quantity(band_transforms)
            per_key = isinstance(band_transforms, Mapping)
            for q, chosen in self.band_transforms.items():
                key = f"infoplane.band_transforms{f'.{q}' if per_key else ''}"
                check_band_settings(band_halves, chosen, "infoplane.band_halves", key)
            self.band_maker = BandMaker(band_halves, TRANSFORMS, seed)
        self.dpi = DataProcessingCheck(dpi_layer_pairs(list(layers), dpi_pairs))
        self.schedule = EvaluationSchedule(every_n_epochs, log_spaced_evals, log_spaced_epochs, at_start)
        self.estimator = estimator
        self.per_quantity = rows_lib.per_quantity(estimator, measure_views)
        prefix = {q: f"estimator.{q}" if isinstance(estimator, Mapping) else "estimator" for q in self.per_quantity}
        self.saturation = rows_lib.SaturationWarnings(self.per_quantity, prefix, saturation_tolerance)
        self.run_dir = Path(run_dir)
        self.layers = list(layers)
        self.x_representation = x_representation
        self.x_dim = x_dim
        self.measure_views = measure_views
        self.max_dim = max_dim
        self.seed = seed
        self.cpu_threads = cpu_threads
        self.saturation_tolerance = saturation_tolerance
        self.wandb = WandbTrajectory(wandb_chart_preset)
        self.objective_name = objective_name
        self.trajectory = TrajectoryFile(self.run_dir / "infoplane.csv")
        self.rows: list[dict[str, Any]] = []
        self.evaluated_steps: list[int] = []
        self.estimators: dict[str, MIEstimator] = {}
        self.projection = WideLayerProjection(max_dim, seed)
        self._restored: dict[str, Any] | None = None
        self._probe: ProbeSet | None = None
        self.probe_cache = ProbeCache() if probe_cache is None else probe_cache

    # ----------------------------------------------------------------- setup
    def check_probe_size(self, n: int) -> None:
        """Raise ``ValueError`` (before training) when ``n`` probe samples are
        fewer than the estimator needs (``min_samples``; two for ``H_gauss``),
        or than an integer ``infoplane.probe_size`` asks for."""
        if isinstance(self.probe_size, int) and self.probe_size > n:
            checks.fail(
                "infoplane.probe_size",
                f"null (all of them) or an integer <= {n}, the samples of the probe set "
                f"(datamodule.probe_size: raise it to measure more)",
                self.probe_size,
            )
        n = self.probe_size if isinstance(self.probe_size, int) else n
        for quantity, estimator in self.per_quantity.items():
            need = max(estimator.min_samples, 2)
            if n < need:
                key = self.saturation.config_keys[quantity]
                settings = ", ".join(f"{key}.{k}={v}" for k, v in estimator.settings().items())
                raise ValueError(
                    f"datamodule.probe_size: the probe set holds {n} samples, but the {quantity} estimator "
                    f"'{estimator.name}' needs at least {need} ({settings}); raise datamodule.probe_size or "
                    f"lower what the estimator needs"
                )

    @override
    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        check_layers(pl_module, self.layers)
        cache = self.probe_cache
        cache.register("probe", self.layers)
        if self.measure_views:
            cache.register("views", ["projector"])

    @override
    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self._restored is not None:
            self.trajectory.truncate_to(int(self._restored["rows_written"]))
            self.evaluated_steps = list(self._restored["evaluated_steps"])
            self.saturation.warned = {tuple(k) for k in self._restored.get("warned", [])}  # type: ignore[misc]
            self.dpi.warned = {tuple(k) for k in self._restored.get("dpi_warned", [])}  # type: ignore[misc]
            path = self.trajectory.path
            self.rows = read_trajectory(path) if path.exists() else []
        self.schedule.fit_start(int(trainer.num_training_batches), getattr(trainer, "max_epochs", None))

    def _probe_set(self, trainer: pl.Trainer) -> ProbeSet:
        if self._probe is None:
            inputs, labels = (torch.cat(parts) for parts in zip(*probe_data(trainer).probe_batches("probe")))
            self._probe = probe_set(inputs, labels, self.x_representation, self.x_dim, self.seed)
        return self._probe

    # ------------------------------------------------------------- schedule
    @override
    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.schedule.due_at_start(trainer.global_step):
            self._evaluate(trainer, pl_module)

    @override
    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args: Any) -> None:
        if self.sizer.waiting:
            self.sizer.clock.tick(time.perf_counter())
        if self.schedule.due_after_batch(trainer.global_step):
            self._evaluate(trainer, pl_module)
            self.sizer.clock.skip()

    @override
    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.sizer.clock.skip()
        if self.schedule.due_after_epoch(trainer.current_epoch):
            self._evaluate(trainer, pl_module)

    @override
    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self._held:  # a run shorter than infoplane.auto_after_steps timed steps
            self._choose_and_release(trainer, pl_module)
        if trainer.is_global_zero and self.rows:
            figure = self._draw() if self._drawn_rows != len(self.rows) else None  # a run that ended early
            for logger in trainer.loggers:
                if is_wandb(logger):
                    self.wandb.log_final(logger, self.rows, self._objective_name(pl_module), figure)

    # ------------------------------------------------------------ measuring
    def _estimator_for(self, key: str) -> MIEstimator:
        """The warm-started copy for ``"<layer>/<quantity>"``."""
        if key not in self.estimators:
            est = copy.deepcopy(self.per_quantity[key.rsplit("/", 1)[1]])
            saved = (self._restored or {}).get("estimators", {}).get(key)
            if saved is not None and hasattr(est, "load_state_dict"):
                est.load_state_dict(saved)
            self.estimators[key] = est
        return self.estimators[key]

    def _evaluate(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        step = trainer.global_step
        if step in self.evaluated_steps:
            return
        self.evaluated_steps.append(step)
        if not trainer.is_global_zero:
            return
        start = time.perf_counter()
        reps, views = self._representations(trainer, pl_module)
        epoch = round(step / max(1, int(trainer.num_training_batches)), 4)
        if self.sizer.waiting:
            self._held.append((step, epoch, reps, views))
            if self.sizer.can_choose():
                self._choose_and_release(trainer, pl_module)
            return
        self._estimate(trainer, pl_module, step, epoch, reps, views, start)

    def measure(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, step: int, epoch: float
    ) -> list[dict[str, Any]]:
        """One evaluation of the weights ``pl_module`` holds now, outside the
        training schedule, recorded at ``step`` and ``epoch`` (those of the
        checkpoint it was loaded from): the same probe pass, estimators, rows,
        file and figure as an evaluation during training. Returns its rows."""
        if self.probe_size == "auto":
            checks.fail(
                "infoplane.probe_size",
                "null or an integer to measure saved weights (auto sizes the probe set from a training run's time)",
                self.probe_size,
            )
        start = time.perf_counter()
        before = len(self.rows)
        reps, views = self._representations(trainer, pl_module)
        self._estimate(trainer, pl_module, step, epoch, reps, views, start, scheduled=False)
        return self.rows[before:]

    def _representations(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule
    ) -> tuple[dict[str, torch.Tensor], list[torch.Tensor]]:
        """The tapped layers' probe representations and the two views' embeddings (one pass each, shared)."""
        cache = self.probe_cache
        reps = cache.representations(trainer, pl_module, "probe", self.layers)
        sources = cache.view_sources(trainer) if self.measure_views else []
        views = [cache.representations(trainer, pl_module, s, ["projector"])["projector"] for s in sources]
        for name, t in reps.items():
            require_finite(trainer, t, f"the probe representation of layer '{name}'")
        return reps, views

    def _rows(
        self,
        reps: dict[str, torch.Tensor],
        views: list[torch.Tensor],
        probe: ProbeSet,
        cache: Any,
        rows: torch.Tensor | None,
    ) -> list[dict[str, Any]]:
        """One evaluation's rows from the probe representations (``rows``: the probe rows used, or all)."""
        if rows is not None:
            reps = {k: t[rows.to(t.device)] for k, t in reps.items()}
            views = [v[rows.to(v.device)] for v in views]
        new: list[dict[str, Any]] = []
        jobs: list[tuple[dict[str, Any], str, str, torch.Tensor, torch.Tensor]] = []
        headers: list[tuple[dict[str, Any], str, torch.Tensor, torch.Tensor]] = []
        for layer, t in reps.items():
            t_est = self._narrowed(layer, t)
            # float64 once: the bands compute in it, and both quantities of the layer then share one tensor
            t_est = t_est.double() if t_est.is_floating_point() else t_est
            row = {"layer": layer, "dim": t.shape[1], "estimated_dim": t_est.shape[1], **probe.columns()}
            headers.append((row, layer, t, t_est))
            jobs.append((row, layer, "I_XT", probe.x_repr.to(t.device), t_est))
            jobs.append((row, layer, "I_TY", t_est, probe.labels.to(t.device)))
            new.append(row)
        if views:
            row = {"layer": "views", **probe.columns()}
            jobs.append((row, "views", "I_Z1Z2", views[0], views[1]))
            new.append(row)
        header_columns, columns = self._measure_all(jobs, probe, headers, cache)
        for (row, *_), values in zip(headers, header_columns, strict=True):
            row.update(values)
        for (row, *_), values in zip(jobs, columns, strict=True):
            row.update(values)
        for row in new:
            names = ("I_Z1Z2",) if row["layer"] == "views" else ("I_XT", "I_TY")
            row.update(rows_lib.summary_columns({q: self.per_quantity[q] for q in names}))
        return new

    def _measure_all(
        self,
        jobs: list[tuple[dict[str, Any], str, str, torch.Tensor, torch.Tensor]],
        probe: ProbeSet,
        headers: list[tuple[dict[str, Any], str, torch.Tensor, torch.Tensor]],
        cache: Any,
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Each layer's header columns and each job's columns, in ``estimate_workers`` threads when every
        estimator is thread-safe.

        The estimators and the carried spreads are read and written here, in
        this thread; a job only reads them, so the values and the rows' order
        are those of a sequential evaluation. The threads take the tasks longest
        first, by each task's time at the previous evaluation (an order that
        moves no value)."""
        keys = [f"{layer}/{quantity}" for _, layer, quantity, _, _ in jobs]
        estimators = [self._estimator_for(key) for key in keys]
        carried = [None if self._remeasure else self._carried.get(key) for key in keys]
        sampling = [None if self._resample else self._carried_sampling.get(key) for key in keys]

        def measure(i: int) -> tuple[dict[str, Any], Band | None]:
            _, _, quantity, a, b = jobs[i]
            return self._measure(estimators[i], quantity, a, b, probe, carried[i], sampling[i])

        def header(i: int) -> dict[str, Any]:
            _, layer, t, t_est = headers[i]
            return self._header_columns(layer, t, t_est, cache)

        tasks: list[tuple[str, Callable[[], Any]]] = [
            (f"{h[1]}/header", functools.partial(header, i)) for i, h in enumerate(headers)
        ]
        tasks += [(key, functools.partial(measure, i)) for i, key in enumerate(keys)]
        parallel = self.estimate_workers > 1 and all(e.thread_safe for e in estimators)
        outputs = self._run_longest_first(tasks, self.estimate_workers if parallel else 1)
        header_columns, results = outputs[: len(headers)], outputs[len(headers) :]
        for key, was_carried, (_, band) in zip(keys, carried, results, strict=True):
            if band is None:
                continue
            if was_carried is None:
                self._carried[key] = band.deltas
            if band.method == "half_samples" and not band.sampling_carried:
                self._carried_sampling[key] = band.sampling
        return header_columns, [columns for columns, _ in results]

    def _run_longest_first(self, tasks: list[tuple[str, Callable[[], Any]]], workers: int) -> list[Any]:
        """Each task's result, in the tasks' order; with ``workers`` > 1 in threads that start the tasks
        that took longest at the last evaluation first (new tasks first of all), which keeps two threads
        busy to the end instead of leaving one with the last long task."""
        seconds: dict[str, float] = {}

        def timed(key: str, task: Callable[[], Any]) -> Any:
            start = time.perf_counter()
            out = task()
            seconds[key] = time.perf_counter() - start
            return out

        if workers <= 1:
            outputs = [timed(key, task) for key, task in tasks]
        else:
            order = sorted(range(len(tasks)), key=lambda i: -self._task_seconds.get(tasks[i][0], math.inf))
            with ThreadPoolExecutor(min(workers, len(tasks)), thread_name_prefix="infoplane") as pool:
                futures = {i: pool.submit(timed, *tasks[i]) for i in order}
                outputs = [futures[i].result() for i in range(len(tasks))]
        self._task_seconds.update(seconds)
        return outputs

    def _probe_rows(self, trainer: pl.Trainer) -> tuple[ProbeSet, torch.Tensor | None]:
        """The probe set as estimated and the rows of the full one it keeps (``None``: all)."""
        full = self._probe_set(trainer)
        if self._subset is None:
            rows = self.sizer.subset(full.labels)
            if rows is None:
                return full, None
            self._subset = (rows, self._probe_of(trainer, rows))
        return self._subset[1], self._subset[0]

    def _probe_of(self, trainer: pl.Trainer, rows: torch.Tensor) -> ProbeSet:
        inputs, labels = (torch.cat(parts) for parts in zip(*probe_data(trainer).probe_batches("probe")))
        return probe_set(inputs[rows], labels[rows], self.x_representation, self.x_dim, self.seed)

    def _choose_and_release(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """``probe_size="auto"``: pick the size (pilot on the first held evaluation), then estimate every
        held evaluation at it, in order."""
        full = self._probe_set(trainer)
        _, _, reps, views = self._held[0]
        warm = copy.deepcopy(self.estimators)  # a pilot must not move the warm-started critics
        carried, sampling = dict(self._carried), dict(self._carried_sampling)  # nor the carried spreads
        self._remeasure = self._resample = True  # it times a whole evaluation

        def time_at(rows: torch.Tensor) -> float:
            start = time.perf_counter()
            with self._capped_threads(pl_module.device):
                self._rows(reps, views, self._probe_of(trainer, rows), None, rows)
            return time.perf_counter() - start

        total_steps = int(trainer.estimated_stepping_batches)
        per_epoch = max(1, int(trainer.num_training_batches))
        evaluations = evaluations_in_run(
            self.schedule.at_start,
            self.schedule.steps,
            total_steps,
            max(1, total_steps // per_epoch),
            self.schedule.every_n_epochs,
        )
        minimum = max(max(e.min_samples, 2) for e in self.per_quantity.values())
        choice = self.sizer.choose(full.labels, minimum, time_at, total_steps, evaluations)
        self.estimators, self._carried, self._carried_sampling = warm, carried, sampling
        rank_zero_info(
            f"infoplane.probe_size=auto: {choice.n} of {choice.available} probe samples (one evaluation "
            f"predicted {choice.predicted_seconds:.2f} s, budget {choice.budget_seconds:.2f} s = "
            f"infoplane.time_share of the run over {evaluations} evaluations; cost ~ N^"
            f"{choice.exponent:.2f})"
        )
        held, self._held = self._held, []
        for step, epoch, reps, views in held:
            self._estimate(trainer, pl_module, step, epoch, reps, views, time.perf_counter(), held=True)

    def _estimate(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        step: int,
        epoch: float,
        reps: dict[str, torch.Tensor],
        views: list[torch.Tensor],
        start: float,
        held: bool = False,
        scheduled: bool = True,
    ) -> None:
        """Estimate, record and log one evaluation (``held``: one that ``auto`` held until it chose, whose
        representations are not those of the probe cache's current step; ``scheduled=False``: one outside
        the training schedule, :meth:`measure`, which re-estimates every spread and draws the figure)."""
        probe, rows = self._probe_rows(trainer)
        cache = self.probe_cache if rows is None and not held else None
        due = self._due(self.evaluated_steps.index(step), trainer) if scheduled else (lambda every: True)
        self._remeasure = due(self.invariance_every)
        self._resample = due(self.sampling_every)
        with self._capped_threads(pl_module.device):
            new = self._rows(reps, views, probe, cache, rows)
        total = time.perf_counter() - start
        for row in new:
            row.update(step=step, epoch=epoch, seconds=round(total / len(new), 4), source=self.source)
        self.dpi.check(new)
        self.trajectory.append(new)
        self.rows.extend(new)
        self.saturation.check(new)
        self._log(trainer, new, step, total, self._objective_name(pl_module), due(self.figure_every))

    @staticmethod
    def _due(index: int, trainer: pl.Trainer) -> Any:
        """``every -> bool``: whether the evaluation at ``index`` (0-based, in the run) is the first, a
        multiple of ``every`` or the run's last (its last step: ``estimated_stepping_batches``)."""
        total = getattr(trainer, "estimated_stepping_batches", None)
        last = isinstance(total, (int, float)) and math.isfinite(total) and trainer.global_step >= int(total)
        return lambda every: index % every == 0 or bool(last)

    def _capped_threads(self, device: torch.device) -> contextlib.AbstractContextManager[None]:
        """Estimate with ``cpu_threads`` intra-op threads. The probe forward
        passes keep the training's (they gain from a second thread); the small
        LAPACK and pairwise-distance calls of the estimators do not scale and
        oversubscribe beside a loader worker."""
        return threads(self.cpu_threads if device.type == "cpu" else None)

    def _measure(
        self,
        est: MIEstimator,
        quantity: str,
        a: torch.Tensor,
        b: torch.Tensor,
        probe: ProbeSet,
        carried: dict[str, float] | None,
        carried_sampling: SamplingSpread | None = None,
    ) -> tuple[dict[str, Any], Band | None]:
        """One quantity's columns, and its band (``None``: no band)."""
        bound = probe.h_y if quantity == "I_TY" else probe.h_x
        band = None
        if self.band_maker is not None:
            band = self.band_maker.band(
                est, a, b, bound, carried, carried_sampling, transforms=self.band_transforms[quantity]
            )
        result = band.estimate if band is not None else est.estimate_with_info(a, b)
        ceiling = rows_lib.ceiling_of(quantity, result, probe.h_x, probe.h_y)
        columns = rows_lib.quantity_columns(quantity, result, est, ceiling, self.saturation_tolerance, band)
        return columns, band

    @staticmethod
    def _header_columns(layer: str, t: torch.Tensor, t_est: torch.Tensor, cache: Any) -> dict[str, Any]:
        """A layer's collapse diagnostics: ``H_gauss`` and the effective rank of the layer as estimated
        (``t_est``: ``t``, or its projection to ``max_dim``, in float64)."""
        narrowed = t_est.shape[1] != t.shape[1]
        rank = (
            cache.derived("probe", layer, "effective_rank", lambda: effective_rank(t))
            if not narrowed and cache is not None
            else effective_rank(t_est)
        )
        return {"H_gauss": gaussian_entropy(t_est), "effective_rank": rank}

    def _narrowed(self, layer: str, t: torch.Tensor) -> torch.Tensor:
        """The layer as estimated: projected to ``max_dim`` when wider (``WideLayerProjection``)."""
        return self.projection(layer, t)

    # -------------------------------------------------------------- logging
    def _log(
        self,
        trainer: pl.Trainer,
        new: list[dict[str, Any]],
        step: int,
        seconds: float,
        objective: str,
        draw: bool = True,
    ) -> None:
        figure = self._draw() if draw else None
        metrics = scalar_metrics(new, seconds)
        for logger in trainer.loggers:
            logger.log_metrics(metrics, step=step)
            if is_wandb(logger):
                self.wandb.log_evaluation(logger, new, objective, figure, step)

    def _draw(self) -> Path:
        """``infoplane.png`` from every row so far."""
        names = "+".join(dict.fromkeys(e.name for e in self.per_quantity.values()))
        self._drawn_rows = len(self.rows)
        return draw_figure(
            self.rows, self.run_dir / "infoplane.png", f"Information plane ({names})", self.saturation_tolerance
        )

    def results(self) -> dict[str, float]:
        """``final/infoplane/<layer>/<quantity>`` of the last evaluation, as
        written to ``infoplane.csv``, and what ``probe_size="auto"`` chose."""
        chosen = {} if self.sizer.choice is None else {f"final/{k}": v for k, v in self.sizer.choice.summary().items()}
        return {**final_metrics(self.trajectory.path), **chosen}

    def _objective_name(self, pl_module: pl.LightningModule) -> str:
        """The objective as the W&B rows name it: its config option, else its class name in lower case."""
        objective = getattr(pl_module, "objective", None)
        return self.objective_name or (type(objective).__name__.lower() if objective is not None else "")

    # ------------------------------------------------------------- state
    @override
    def state_dict(self) -> dict[str, Any]:
        return {
            "rows_written": self.trajectory.rows_written,
            "evaluated_steps": list(self.evaluated_steps),
            "estimators": {k: e.state_dict() for k, e in self.estimators.items() if hasattr(e, "state_dict")},
            "warned": sorted(self.saturation.warned),
            "dpi_warned": sorted(self.dpi.warned),
            "probe_choice": None if self.sizer.choice is None else dataclasses.asdict(self.sizer.choice),
            "carried": {k: dict(v) for k, v in self._carried.items()},
            "carried_sampling": {k: dataclasses.asdict(v) for k, v in self._carried_sampling.items()},
        }

    @override
    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._restored = state_dict
        choice = state_dict.get("probe_choice")
        self.sizer.choice = None if choice is None else ProbeChoice(**choice)
        self.estimators = {}
        self._carried = {k: dict(v) for k, v in state_dict.get("carried", {}).items()}
        self._carried_sampling = {k: SamplingSpread(**v) for k, v in state_dict.get("carried_sampling", {}).items()}
