"""SSL objectives: heads + losses of each family (pure torch)."""

from ssl_it.objectives.barlow_twins import (
    BarlowTwins,
    barlow_twins_loss,
    batch_standardize,
    cross_correlation,
)
from ssl_it.objectives.base import Objective, count_global_views, mean_over_view_pairs, view_pairs
from ssl_it.objectives.byol import BYOL, byol_loss
from ssl_it.objectives.dino import DINO, DINOHead, dino_loss, teacher_temperature
from ssl_it.objectives.heads import GaussianHead, MLPHead, NormalizedLinear
from ssl_it.objectives.infonce import InfoNCELoss, critic_scores, info_nce, info_nce_views
from ssl_it.objectives.mib import MIB, beta_schedule, gaussian_kl, mib_loss, symmetric_kl
from ssl_it.objectives.moco import MoCo, moco_loss
from ssl_it.objectives.momentum import MomentumObjective, cosine_momentum, ema_update_, frozen_copy
from ssl_it.objectives.simclr import SimCLR, nt_xent
from ssl_it.objectives.simsiam import SimSiam, simsiam_loss
from ssl_it.objectives.supervised import Supervised, cross_entropy_loss
from ssl_it.objectives.swav import SwAV, sinkhorn_knopp, swav_loss
from ssl_it.objectives.vicreg import (
    VICReg,
    covariance_loss,
    invariance_loss,
    off_diagonal,
    variance_loss,
    vicreg_loss,
)
from ssl_it.objectives.vicreg_logdet import VICRegLogDet, logdet_entropy, vicreg_logdet_loss
from ssl_it.objectives.wmse import WMSE, normalized_mse, whiten, wmse_loss

__all__ = [
    "BYOL",
    "DINO",
    "MIB",
    "MLPHead",
    "WMSE",
    "BarlowTwins",
    "DINOHead",
    "GaussianHead",
    "InfoNCELoss",
    "MoCo",
    "MomentumObjective",
    "NormalizedLinear",
    "Objective",
    "SimCLR",
    "SimSiam",
    "Supervised",
    "SwAV",
    "VICReg",
    "VICRegLogDet",
    "barlow_twins_loss",
    "batch_standardize",
    "beta_schedule",
    "byol_loss",
    "cosine_momentum",
    "count_global_views",
    "covariance_loss",
    "critic_scores",
    "cross_correlation",
    "cross_entropy_loss",
    "dino_loss",
    "ema_update_",
    "frozen_copy",
    "gaussian_kl",
    "info_nce",
    "info_nce_views",
    "invariance_loss",
    "logdet_entropy",
    "mib_loss",
    "moco_loss",
    "normalized_mse",
    "nt_xent",
    "off_diagonal",
    "simsiam_loss",
    "sinkhorn_knopp",
    "swav_loss",
    "symmetric_kl",
    "teacher_temperature",
    "variance_loss",
    "vicreg_logdet_loss",
    "vicreg_loss",
    "view_pairs",
    "mean_over_view_pairs",
    "whiten",
    "wmse_loss",
]
