"""Uniform random numbers that are a pure function of a key, drawn for a whole batch at once.

The batched view pipeline needs, for every sample, random parameters that
depend only on ``(seed, epoch, index, view)``: never on the batch the sample
landed in, on the batch size, on the worker or on the device. Seeding one
``torch.Generator`` per sample would do it at ~10 us per sample in the main
process; this counter-based generator does it for the whole batch in a few
vectorised numpy operations: the key is folded into a 64-bit state with the
SplitMix64 finaliser (Steele, Lea & Flood 2014, "Fast splittable pseudorandom
number generators", OOPSLA; the mixer of Java's ``SplittableRandom``), and
draw ``j`` is the mixed value of ``state + (j + 1) * golden``. The top 53 bits
give a double in [0, 1).
"""

from __future__ import annotations

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _mix(z: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser (a bijection of uint64 with full avalanche)."""
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def keyed_uniform(keys: np.ndarray, n_draws: int) -> np.ndarray:
    """``(B, n_draws)`` uniforms in [0, 1), row ``b`` a function of ``keys[b]`` only.

    Args:
        keys: ``(B, K)`` non-negative integers, e.g. columns ``seed, epoch,
            index, view``.
        n_draws: numbers per row.
    """
    keys = np.asarray(keys)
    if keys.ndim != 2:
        raise ValueError(f"keys must be (batch, key_length); got shape {keys.shape}")
    if keys.size and keys.min() < 0:
        raise ValueError("keys must be non-negative integers")
    state = np.zeros(keys.shape[0], dtype=np.uint64)
    with np.errstate(over="ignore"):
        for column in keys.astype(np.uint64).T:
            state = _mix(state ^ (column + _GOLDEN))
        counters = (np.arange(1, n_draws + 1, dtype=np.uint64) * _GOLDEN)[None, :]
        bits = _mix(state[:, None] + counters)
    return (bits >> np.uint64(11)).astype(np.float64) * 2.0**-53
