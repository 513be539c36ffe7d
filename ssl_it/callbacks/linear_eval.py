"""Linear evaluation on frozen features at the end of training.

The standard protocol behind "linear-probe accuracy" in SSL papers: freeze
the backbone, compute features of the un-augmented training and validation
sets, fit a multinomial logistic regression (scikit-learn's L-BFGS, to
convergence, on standardised features) on the training features and report
top-1 accuracy on the validation features. Unlike the online probe, which
sees a few hundred SGD steps on augmented views, this number does not depend
on the probe's own optimisation budget.
"""

from __future__ import annotations

import numpy as np
import pytorch_lightning as pl
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from typing_extensions import override

from ssl_it import checks
from ssl_it.callbacks.probe_cache import ProbeCache

__all__ = ["LinearEvaluation", "linear_eval_accuracy"]


def linear_eval_accuracy(
    train: tuple[np.ndarray, np.ndarray], val: tuple[np.ndarray, np.ndarray], c: float = 1.0, max_iter: int = 1000
) -> dict[str, float]:
    """Top-1 (and top-5 when there are more than 5 classes) validation accuracy."""
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=max_iter))
    clf.fit(*train)
    proba = clf.predict_proba(val[0])
    classes = clf.classes_
    ranked = classes[np.argsort(-proba, axis=1)]
    out = {"top1": float((ranked[:, 0] == val[1]).mean())}
    if len(classes) > 5:
        out["top5"] = float((ranked[:, :5] == val[1][:, None]).any(axis=1).mean())
    return out


class LinearEvaluation(pl.Callback):
    """Fits the frozen-feature linear classifier once training ends and logs
    ``final/linear_eval_top1`` (and ``top5``).

    It trains on the stratified training subset of the DataModule
    (``datamodule.eval_size`` samples, default 10,000) and tests on the
    validation split. Both feature passes are shared with the kNN monitor
    when its last validation ran at the same step (:mod:`ssl_it.callbacks.probe_cache`);
    they run on rank 0 only, in the loader's workers.

    Args:
        c: inverse L2 regularisation strength of the logistic regression.
        max_iter: L-BFGS iterations.
        probe_cache: the run's shared :class:`~ssl_it.callbacks.probe_cache.ProbeCache`
            (given by ``train.py``); ``None``: a cache of its own.
    """

    classifies_labels = True

    def __init__(self, c: float = 1.0, max_iter: int = 1000, probe_cache: ProbeCache | None = None) -> None:
        checks.positive("callbacks.linear_eval.c", c)
        checks.integer("callbacks.linear_eval.max_iter", max_iter)
        self.c = c
        self.max_iter = max_iter
        self.probe_cache = ProbeCache() if probe_cache is None else probe_cache
        self.result: dict[str, float] | None = None

    @override
    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        cache = self.probe_cache
        train, val = (
            (
                cache.representations(trainer, pl_module, s, ["backbone"])["backbone"].numpy(),
                cache.labels(trainer, pl_module, s).numpy(),
            )
            for s in ("train_eval", "val")
        )
        self.result = linear_eval_accuracy(train, val, self.c, self.max_iter)
        for logger in trainer.loggers:
            logger.log_metrics({f"final/linear_eval_{k}": v for k, v in self.result.items()}, step=trainer.global_step)

    def results(self) -> dict[str, float]:
        """``final/linear_eval_top1`` (and ``top5``), once fitted (rank 0)."""
        return {f"final/linear_eval_{k}": v for k, v in (self.result or {}).items()}
