"""Callbacks: measurement (probes, information plane, diagnostics) and run upkeep."""

from ssl_it.callbacks.checkpoint_schedule import CheckpointSchedule
from ssl_it.callbacks.diagnostics import EmbeddingDiagnostics
from ssl_it.callbacks.divergence import Diverged, DivergenceGuard
from ssl_it.callbacks.embedding_view import EmbeddingView
from ssl_it.callbacks.infoplane import InformationPlane
from ssl_it.callbacks.knn import KNNClassifier
from ssl_it.callbacks.linear_eval import LinearEvaluation
from ssl_it.callbacks.linear_probe import OnlineLinearProbe
from ssl_it.callbacks.performance import Performance
from ssl_it.callbacks.preemption_signals import PreemptionSignals, received_signal
from ssl_it.callbacks.progress import LossProgressBar
from ssl_it.callbacks.results import ResultReporter, final_results
from ssl_it.callbacks.step_seed import StepSeed

__all__ = [
    "CheckpointSchedule",
    "Diverged",
    "DivergenceGuard",
    "EmbeddingDiagnostics",
    "EmbeddingView",
    "InformationPlane",
    "KNNClassifier",
    "LinearEvaluation",
    "LossProgressBar",
    "OnlineLinearProbe",
    "Performance",
    "PreemptionSignals",
    "ResultReporter",
    "StepSeed",
    "final_results",
    "received_signal",
]
