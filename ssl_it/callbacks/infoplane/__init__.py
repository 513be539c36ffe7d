"""The information-plane callback and its parts.

:mod:`~ssl_it.callbacks.infoplane.callback` holds the callback; the other
modules each do one job for it: when to measure (``schedule``), how many
probe samples it can afford (``budget``), what the estimators see
(``probe``), the rows it writes (``rows``), where the rows go besides
``infoplane.csv`` (``sinks``) and the data-processing self-check (``dpi``).
"""

from ssl_it.callbacks.infoplane.callback import InformationPlane

__all__ = ["InformationPlane"]
