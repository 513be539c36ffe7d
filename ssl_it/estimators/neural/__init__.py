"""Neural (critic-trained) MI estimators sharing one training loop."""

from ssl_it.estimators.neural.base import NeuralMIEstimator
from ssl_it.estimators.neural.critics import ConcatCritic, SeparableCritic
from ssl_it.estimators.neural.estimators import CLUB, JSMI, MINE, NWJ, SMILE, InfoNCEBound

__all__ = [
    "CLUB",
    "MINE",
    "NWJ",
    "SMILE",
    "ConcatCritic",
    "InfoNCEBound",
    "JSMI",
    "NeuralMIEstimator",
    "SeparableCritic",
]
