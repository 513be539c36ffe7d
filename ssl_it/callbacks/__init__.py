"""Callbacks: measurement (probes, information plane, diagnostics) and run upkeep."""

from ssl_it.callbacks.diagnostics import EmbeddingDiagnostics
from ssl_it.callbacks.infoplane import InformationPlane
from ssl_it.callbacks.knn import KNNClassifier
from ssl_it.callbacks.linear_eval import LinearEvaluation
from ssl_it.callbacks.linear_probe import OnlineLinearProbe
from ssl_it.callbacks.performance import Performance

__all__ = [
    "EmbeddingDiagnostics", "InformationPlane", "KNNClassifier", "LinearEvaluation", "OnlineLinearProbe", "Performance",
]
