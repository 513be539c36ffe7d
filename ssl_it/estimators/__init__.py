"""MI and entropy estimators: plain torch/NumPy, usable on their own.

Every estimator implements :class:`MIEstimator` (``estimate(x, y) -> float``
in nats; ``estimate_with_info`` for value, N, bound kind, ceiling and
diagnostics). Each estimator's docstring states the finite quantity it
reports, its ceiling and its regime.
"""

from ssl_it.estimators.bands import Band, BandMaker
from ssl_it.estimators.base import MIEstimate, MIEstimator, entropy_of_counts, label_entropy
from ssl_it.estimators.binning import BinningMI
from ssl_it.estimators.classifier import ClassifierMI
from ssl_it.estimators.entropy import effective_rank, gaussian_entropy
from ssl_it.estimators.gaussian import GaussianMI
from ssl_it.estimators.kde import KDEMI
from ssl_it.estimators.ksg import KSGMI
from ssl_it.estimators.neural import CLUB, JSMI, MINE, NWJ, SMILE, InfoNCEBound, NeuralMIEstimator
from ssl_it.estimators.reduced import PCAReducedMI
from ssl_it.estimators.renyi import RenyiMI

__all__ = [
    "Band",
    "BandMaker",
    "CLUB",
    "KDEMI",
    "KSGMI",
    "MINE",
    "NWJ",
    "SMILE",
    "BinningMI",
    "ClassifierMI",
    "GaussianMI",
    "InfoNCEBound",
    "JSMI",
    "MIEstimate",
    "MIEstimator",
    "NeuralMIEstimator",
    "PCAReducedMI",
    "RenyiMI",
    "effective_rank",
    "gaussian_entropy",
    "entropy_of_counts",
    "label_entropy",
]
