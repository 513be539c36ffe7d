"""Build the groups of a composed config: the data, the model and the estimator.

Shared by the two entry points, ``ssl-it-train`` (:mod:`ssl_it.train`) and
``ssl-it-measure`` (:mod:`ssl_it.measure`), so that both build a config's
data and model the same way.
"""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
from hydra.utils import get_class, instantiate
from omegaconf import DictConfig

from ssl_it.threads import set_threads


def enabled(node: Any) -> bool:
    """An optional group (logger, infoplane) is off when null; an experiment
    preset's settings merged onto a null option leave a node with no
    ``_target_``, which means off too."""
    return node is not None and "_target_" in node


def build_objective(cfg: DictConfig, in_dim: int, num_classes: int) -> Any:
    """The ``objective`` node completed with the backbone's width (and the
    data's class count when the objective declares ``needs_num_classes``)."""
    declared: bool = getattr(get_class(cfg._target_), "needs_num_classes", False)
    extra = {"num_classes": num_classes} if declared else {}
    return instantiate(cfg)(in_dim=in_dim, **extra)


def build_estimator(node: DictConfig) -> Any:
    """One estimator for every quantity (a node with a ``_target_``:
    ``estimator=kde``), or ``{quantity: estimator}`` from a node of per-quantity
    sub-nodes (``estimator=calibrated``: ``I_XT``, ``I_TY``, ``I_Z1Z2``);
    :class:`~ssl_it.callbacks.InformationPlane` checks the keys."""
    return instantiate(node, _convert_="all")


def build_data_and_model(cfg: DictConfig) -> tuple[Any, Any, Any, Any]:
    """``(augmentation, datamodule, backbone, objective)`` of ``cfg``, seeded; shared with ``ssl-it-measure``."""
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    set_threads(cfg.get("torch_threads"), key="torch_threads")
    source = instantiate(cfg.data)
    source.check_available()
    augmentation = instantiate(cfg.augmentation)(
        image_size=source.image_size, channels=source.channels, mean=source.mean, std=source.std
    )
    datamodule = instantiate(cfg.datamodule)(source=source, augmentation=augmentation, seed=cfg.seed)
    backbone = instantiate(cfg.backbone)(input_shape=source.input_shape)
    objective = build_objective(cfg.objective, backbone.out_dim, source.num_classes)
    return augmentation, datamodule, backbone, objective
