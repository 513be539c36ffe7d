"""View pipelines: each describes the views of a sample (global views
first); :class:`BatchedViews` makes them for a whole uint8 batch, in the CPU
loader workers or on the accelerator, with the same random draws for a given
``(seed, epoch, index)``."""

from ssl_it.augmentation.asymmetric import BYOL, VICReg
from ssl_it.augmentation.base import EvalTransform, MultiView, NoAugmentation
from ssl_it.augmentation.batched import BatchedViews
from ssl_it.augmentation.multicrop import MultiCrop
from ssl_it.augmentation.simclr import Minimal, SimCLR
from ssl_it.augmentation.view import Normalize, ViewRecipe

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
    "ViewRecipe",
]
