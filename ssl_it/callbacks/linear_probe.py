"""Online linear probe on detached features (the standard SSL sanity check).

A linear classifier with its own optimiser is trained on the detached
backbone features of the first view of each training batch, and evaluated on
the validation set every epoch; the SSL gradients never see it. The features
are standardised by a non-affine batch norm first (running statistics at
evaluation), so the probe's learning rate does not depend on the backbone's
feature scale, which varies by orders of magnitude across objectives. Its state is
saved in the checkpoint, so a resumed run continues the same probe.

Also logs, at no extra cost, the Barber–Agakov lower bound on the
information the features carry about the label (Barber & Agakov 2003):

    I(T;Y) >= H(Y) - CE(q(y|t)),

with H(Y) the plug-in label entropy of the validation set and CE the probe's
validation cross-entropy, in nats.
"""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import nn
from typing_extensions import override

from ssl_it import checks
from ssl_it.callbacks.probe_cache import probe_data
from ssl_it.estimators import entropy_of_counts


class OnlineLinearProbe(pl.Callback):
    """Trains ``BatchNorm1d(affine=False) -> Linear(out_dim, num_classes)`` on detached features.

    Args:
        num_classes: number of label classes (``None``: the data's, read from
            :class:`~ssl_it.data.probe_data.ProbeData` at setup).
        lr: Adam learning rate of the probe.
        weight_decay: probe weight decay.
    """

    classifies_labels = True

    def __init__(self, num_classes: int | None = None, lr: float = 1e-2, weight_decay: float = 1e-6) -> None:
        if num_classes is not None:
            checks.integer("callbacks.online_probe.num_classes", num_classes, minimum=2)
        checks.positive("callbacks.online_probe.lr", lr)
        self.num_classes = num_classes
        self.lr = lr
        self.weight_decay = weight_decay
        self.classifier: nn.Sequential | None = None
        self.optimizer: torch.optim.Optimizer | None = None
        self._pending_state: dict[str, Any] | None = None
        self.final_val_accuracy: float | None = None

    def _reset_epoch_stats(self, device: torch.device | None = None) -> None:
        assert self.num_classes is not None
        zeros = lambda: torch.zeros((), device=device)  # noqa: E731
        self._train_correct, self._train_count = zeros(), zeros()
        self._val_correct, self._val_count, self._val_ce = zeros(), zeros(), zeros()
        self._val_label_counts = torch.zeros(self.num_classes, device=device)

    @override
    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if self.num_classes is None:
            self.num_classes = probe_data(trainer).num_classes
        if self.classifier is None:
            out_dim = int(pl_module.backbone.out_dim)  # type: ignore[union-attr, arg-type]
            self.classifier = nn.Sequential(
                nn.BatchNorm1d(out_dim, affine=False), nn.Linear(out_dim, self.num_classes)
            ).to(pl_module.device)
            self.optimizer = torch.optim.Adam(self.classifier.parameters(), lr=self.lr, weight_decay=self.weight_decay)
            self._reset_epoch_stats(pl_module.device)
        if self._pending_state is not None:
            self._load(self._pending_state)
            self._pending_state = None

    def results(self) -> dict[str, float]:
        """``final/val_probe_acc``: the last validation's accuracy (NaN before one)."""
        return {"final/val_probe_acc": float("nan") if self.final_val_accuracy is None else self.final_val_accuracy}

    def _ensure_device(self, device: torch.device) -> None:
        assert self.classifier is not None
        if self.classifier[1].weight.device != device:
            self.classifier.to(device)
            for state in self.optimizer.state.values():  # type: ignore[union-attr]
                for k, v in state.items():
                    if torch.is_tensor(v):
                        state[k] = v.to(device)

    @override
    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._ensure_device(pl_module.device)
        self._reset_epoch_stats(pl_module.device)

    @override
    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        assert self.classifier is not None and self.optimizer is not None
        feats, labels = outputs["features"].float(), outputs["labels"]
        self.classifier.train()
        with torch.enable_grad():
            logits = self.classifier(feats)
            loss = F.cross_entropy(logits, labels)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
        self._train_correct += (logits.detach().argmax(1) == labels).sum()
        self._train_count += labels.numel()

    @override
    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        correct, count = _summed(trainer, self._train_correct, self._train_count)
        if count > 0:
            pl_module.log("train/probe_acc", correct / count)

    @override
    def on_validation_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        assert self.num_classes is not None
        self._ensure_device(pl_module.device)
        dev = pl_module.device
        self._val_correct, self._val_count, self._val_ce = (torch.zeros((), device=dev) for _ in range(3))
        self._val_label_counts = torch.zeros(self.num_classes, device=dev)

    @override
    def on_validation_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        assert self.classifier is not None and self.num_classes is not None
        feats, labels = outputs["features"].float(), outputs["labels"]
        self.classifier.eval()
        with torch.no_grad():
            logits = self.classifier(feats)
            self._val_ce += F.cross_entropy(logits, labels, reduction="sum")
            self._val_correct += (logits.argmax(1) == labels).sum()
            self._val_count += labels.numel()
            self._val_label_counts += torch.bincount(labels, minlength=self.num_classes).float()

    @override
    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        correct, count, ce_sum, *label_counts = _summed(
            trainer, self._val_correct, self._val_count, self._val_ce, *self._val_label_counts
        )
        if count == 0:
            return
        acc, ce = correct / count, ce_sum / count
        h_y = entropy_of_counts(torch.stack(label_counts))
        pl_module.log("val/probe_acc", acc)
        pl_module.log("val/probe_ce", ce)
        pl_module.log("infoplane/probe/I_TY_barber_agakov", h_y - ce)
        self.final_val_accuracy = float(acc)

    @override
    def state_dict(self) -> dict[str, Any]:
        if self.classifier is None:
            return {}
        return {"classifier": self.classifier.state_dict(), "optimizer": self.optimizer.state_dict()}  # type: ignore[union-attr]

    @override
    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        if not state_dict:
            return
        if self.classifier is None:
            self._pending_state = state_dict
        else:
            self._load(state_dict)

    def _load(self, state: dict[str, Any]) -> None:
        assert self.classifier is not None and self.optimizer is not None
        self.classifier.load_state_dict(state["classifier"])
        self.optimizer.load_state_dict(state["optimizer"])


def _summed(trainer: pl.Trainer, *values: torch.Tensor) -> list[torch.Tensor]:
    """``values`` summed over ranks, in one collective that every rank
    reaches here (the identity on one process).

    The probe logs already-summed values (``sync_dist`` off): a metric logged
    with ``sync_dist=True`` is reduced lazily, the first time someone reads
    it, and on rank 0 alone the progress bar reads it at epoch end; rank 0
    then waited in that reduction while the others waited in the next
    collective they reached (the information plane's), for ever.
    """
    stacked = torch.stack([v.float() for v in values])
    return list(trainer.strategy.reduce(stacked, reduce_op="sum").unbind())
