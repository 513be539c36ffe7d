"""Distributions with known mutual information, shared by tests and benchmarks.

Every sampler returns a :class:`KnownMISample`: NumPy arrays ``x``, ``y``
(float ``(N, d)``, or ``(N,)`` int64 labels), the MI in nats (exact, or a
Monte Carlo value with its standard error in ``mi_se``) and a name. Seeds
make every draw reproducible.

* :mod:`~ssl_it.synthetic.classic`: low-dimensional closed-form tasks.
* :mod:`~ssl_it.synthetic.highdim`: the information plane's regime, 64-2,048
  dimensions (Gaussian channels embedded by injective maps, subspace
  mixtures against their label, deterministic encoders).
"""

from ssl_it.synthetic.classic import (
    KnownMISample,
    correlated_gaussian,
    discrete_joint,
    gaussian_mi,
    gaussian_mixture_labels,
    mixture_label_mi,
    rho_for_mi,
    student_t,
    student_t_mi,
    transformed_gaussian,
)
from ssl_it.synthetic.embeddings import embed
from ssl_it.synthetic.highdim import (
    deterministic_encoder,
    gaussian_channel,
    mixture_means,
    subspace_mixture,
    subspace_mixture_mi,
)

__all__ = [
    "KnownMISample",
    "correlated_gaussian",
    "deterministic_encoder",
    "discrete_joint",
    "embed",
    "gaussian_channel",
    "gaussian_mi",
    "gaussian_mixture_labels",
    "mixture_label_mi",
    "mixture_means",
    "rho_for_mi",
    "student_t",
    "student_t_mi",
    "subspace_mixture",
    "subspace_mixture_mi",
    "transformed_gaussian",
]
