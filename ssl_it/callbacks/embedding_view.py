"""A 2-D picture of the probe set per tapped layer, at each information-plane evaluation.

At the steps the information plane is measured (the same schedule:
``infoplane.schedule``; the config node follows the ``infoplane`` settings),
the probe representations of each layer come from the shared probe pass
(``probe_cache``: no forward pass of its own when the information plane
runs at that step), a fixed subset of ``max_points`` probe samples is laid
out in 2-D by t-SNE (``tsne``: PCA to 50 axes first; warm-started from the
layer's previous layout after the first picture), and one figure, a panel per
layer coloured by label, is written to ``<run dir>/embeddings/step_<step>.png``
and logged to W&B (``embeddings/figure``, a ``wandb.Image``) and TensorBoard
(an image of the same name).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from typing_extensions import override

from ssl_it import checks
from ssl_it.callbacks.divergence import require_finite
from ssl_it.callbacks.infoplane.schedule import EvaluationSchedule
from ssl_it.callbacks.infoplane.sinks import is_wandb
from ssl_it.callbacks.probe_cache import ProbeCache
from ssl_it.callbacks.tsne import tsne
from ssl_it.threads import threads

KEY = "embeddings/figure"


class EmbeddingView(pl.Callback):
    """t-SNE pictures of the probe set, one panel per layer.

    Args:
        run_dir: the run folder (pictures go to ``<run_dir>/embeddings/``).
        layers: tapped layers, as for the information plane.
        every_n_epochs: evaluate every this many epochs (the schedule is
            that of :class:`~ssl_it.callbacks.InformationPlane`).
        log_spaced_evals: extra evaluations, log-spaced in steps, in the
            first ``log_spaced_epochs``.
        log_spaced_epochs: the span of the log-spaced evaluations, in epochs.
        at_start: evaluate before the first step too.
        max_points: probe samples drawn (a fixed seeded subset; t-SNE's cost
            grows with its square).
        perplexity: t-SNE's effective neighbours per point.
        n_iter: t-SNE steps of the first picture.
        warm_iter: steps of a later picture, started from the previous layout.
        seed: seeds the subset and the first layout.
        cpu_threads: intra-op threads for the layouts on the CPU (``None``:
            torch's setting). t-SNE's small dense operations do not scale
            with threads (docs/results/framework-overhead.md).
        probe_cache: the run's shared :class:`~ssl_it.callbacks.probe_cache.ProbeCache`
            (given by ``train.py``); ``None``: a cache of its own.
    """

    def __init__(
        self,
        run_dir: str,
        layers: list[str] | tuple[str, ...] = ("backbone", "projector"),
        every_n_epochs: int = 1,
        log_spaced_evals: int = 2,
        log_spaced_epochs: float = 1.0,
        at_start: bool = True,
        max_points: int = 256,
        perplexity: float = 30.0,
        n_iter: int = 300,
        warm_iter: int = 60,
        seed: int = 0,
        cpu_threads: int | None = 1,
        probe_cache: ProbeCache | None = None,
    ) -> None:
        prefix = "callbacks.embedding_view"
        checks.integer(f"{prefix}.max_points", max_points, minimum=4)
        checks.positive(f"{prefix}.perplexity", perplexity)
        checks.integer(f"{prefix}.n_iter", n_iter)
        checks.integer(f"{prefix}.warm_iter", warm_iter, minimum=0)
        if not layers:
            checks.fail(f"{prefix}.layers", "a non-empty list of layer names", layers)
        self.run_dir = Path(run_dir)
        self.layers = list(layers)
        self.schedule = EvaluationSchedule(every_n_epochs, log_spaced_evals, log_spaced_epochs, at_start)
        self.max_points, self.perplexity, self.n_iter, self.warm_iter, self.seed = (
            max_points,
            perplexity,
            n_iter,
            warm_iter,
            seed,
        )
        self.cpu_threads = cpu_threads
        self.probe_cache = ProbeCache() if probe_cache is None else probe_cache
        self.layouts: dict[str, torch.Tensor] = {}
        self.drawn_steps: list[int] = []
        self.seconds = 0.0  # time spent here (layouts, figure, logging), for benchmarks

    @override
    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        self.probe_cache.register("probe", self.layers)

    @override
    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.schedule.fit_start(int(trainer.num_training_batches), getattr(trainer, "max_epochs", None))

    @override
    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.schedule.due_at_start(trainer.global_step):
            self._draw(trainer, pl_module)

    @override
    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args: Any) -> None:
        if self.schedule.due_after_batch(trainer.global_step):
            self._draw(trainer, pl_module)

    @override
    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.schedule.due_after_epoch(trainer.current_epoch):
            self._draw(trainer, pl_module)

    def _draw(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        step = trainer.global_step
        if step in self.drawn_steps or not trainer.is_global_zero:
            return
        self.drawn_steps.append(step)
        start = time.perf_counter()
        cache = self.probe_cache
        reps = cache.representations(trainer, pl_module, "probe", self.layers)
        labels = cache.labels(trainer, pl_module, "probe")
        keep = self._subset(len(labels))
        for layer, t in reps.items():
            require_finite(trainer, t, f"the probe representation of layer '{layer}'")
        with threads(self.cpu_threads if pl_module.device.type == "cpu" else None):
            for layer, t in reps.items():
                self.layouts[layer] = tsne(
                    t[keep.to(t.device)].float(),
                    self.perplexity,
                    self.warm_iter if layer in self.layouts else self.n_iter,
                    init=self.layouts.get(layer),
                    seed=self.seed,
                ).cpu()
        epoch = step / max(1, int(trainer.num_training_batches))
        path = self.run_dir / "embeddings" / f"step_{step:06d}.png"
        image = draw(self.layouts, labels[keep].cpu().numpy(), path, f"probe set, t-SNE, epoch {epoch:.2f}")
        self._log(trainer, path, image, step)
        self.seconds += time.perf_counter() - start

    def _subset(self, n: int) -> torch.Tensor:
        """A fixed subset of the probe set (the same samples at every step)."""
        if n <= self.max_points:
            return torch.arange(n)
        g = torch.Generator().manual_seed(self.seed)
        return torch.randperm(n, generator=g)[: self.max_points].sort().values

    def _log(self, trainer: pl.Trainer, path: Path, image: np.ndarray, step: int) -> None:
        for logger in trainer.loggers:
            experiment: Any = getattr(logger, "experiment", None)
            if is_wandb(logger):
                import wandb

                experiment.log({KEY: wandb.Image(str(path)), "trainer/global_step": step})
            elif hasattr(experiment, "add_image"):  # TensorBoard's SummaryWriter
                experiment.add_image(KEY, image, global_step=step, dataformats="HWC")


def draw(layouts: dict[str, torch.Tensor], labels: np.ndarray, path: Path, title: str) -> np.ndarray:
    """Write the figure (a panel per layer, points coloured by label) to
    ``path``; return it as an ``(H, W, 3)`` uint8 array."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.image import imsave

    fig = Figure(figsize=(3.0 * len(layouts), 3.2), dpi=80, layout="constrained")
    for i, (layer, y) in enumerate(layouts.items()):
        ax = fig.add_subplot(1, len(layouts), i + 1)
        ax.scatter(
            y[:, 0].numpy(),
            y[:, 1].numpy(),
            c=labels,
            cmap="tab10" if labels.max() < 10 else "tab20",
            vmin=0,
            vmax=max(9, int(labels.max())),
            s=5,
            linewidths=0,
        )
        ax.set_title(layer, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title, fontsize=9)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()  # rendered once, for the file and the TensorBoard image
    image = np.asarray(canvas.buffer_rgba())[..., :3].copy()
    path.parent.mkdir(parents=True, exist_ok=True)
    imsave(path, image)
    return image
