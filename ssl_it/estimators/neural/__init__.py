"""Neural (critic-trained) MI estimators sharing one training loop."""

from ssl_it.estimators.neural.base import NeuralMIEstimator
from ssl_it.estimators.neural.critics import ConcatCritic, SeparableCritic
from ssl_it.estimators.neural.estimators import CLUB, JSMI, MINE, NWJ, SMILE, InfoNCE

__all__ = ["CLUB", "MINE", "NWJ", "SMILE", "ConcatCritic", "InfoNCE", "JSMI", "NeuralMIEstimator", "SeparableCritic"]
