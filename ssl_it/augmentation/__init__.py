"""View pipelines: each maps ONE sample ``(C, H, W)`` in [0, 1] (or a
vector ``(D,)``) to a list of normalised views, global views first;
:class:`BatchedViews` applies any of them to a whole uint8 batch on its
device."""

from ssl_it.augmentation.asymmetric import BYOL, VICReg
from ssl_it.augmentation.base import EvalTransform, MultiView, NoAugmentation
from ssl_it.augmentation.batched import BatchedViews
from ssl_it.augmentation.multicrop import MultiCrop
from ssl_it.augmentation.simclr import SimCLR, Minimal
from ssl_it.augmentation.view import Normalize, ViewTransform

__all__ = [
    "BYOL",
    "BatchedViews",
    "EvalTransform",
    "Minimal",
    "MultiCrop",
    "MultiView",
    "NoAugmentation",
    "Normalize",
    "SimCLR",
    "VICReg",
    "ViewTransform",
]
