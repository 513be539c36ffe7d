"""View pipelines: each describes the views of a sample (global views
first); :class:`BatchedViews` makes them for a whole uint8 batch, in the CPU
loader workers or on the accelerator, with the same random draws for a given
``(seed, epoch, index)``."""

from ssl_it.augmentation.asymmetric import BYOLViews, VICRegViews
from ssl_it.augmentation.base import EvalTransform, MultiView, NoAugmentation
from ssl_it.augmentation.batched import BatchedViews
from ssl_it.augmentation.multicrop import MultiCrop
from ssl_it.augmentation.simclr import Minimal, SimCLRViews
from ssl_it.augmentation.view import Normalize, ViewRecipe

__all__ = [
    "BYOLViews",
    "BatchedViews",
    "EvalTransform",
    "Minimal",
    "MultiCrop",
    "MultiView",
    "NoAugmentation",
    "Normalize",
    "SimCLRViews",
    "VICRegViews",
    "ViewRecipe",
]
