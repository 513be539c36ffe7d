"""Callbacks: measurement (probes, information plane, diagnostics) and run upkeep."""

from ssl_it.callbacks.linear_probe import OnlineLinearProbe

__all__ = ["OnlineLinearProbe"]
