"""The backbone contract and the input-shape checks shared by every backbone.

A backbone maps a batch ``(batch, *input_shape)`` to features
``(batch, out_dim)``. ``input_shape`` is ``(C, H, W)`` for images and ``(D,)``
for vector data; it comes from the data config, so shape errors name the data
keys (``data.image_size``, ``data.channels``), while errors in the backbone's
own arguments name ``backbone.<argument>``.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from ssl_it import checks

ACTIVATIONS = ("tanh", "relu", "gelu", "sigmoid", "leaky_relu", "identity")


class Backbone(nn.Module):
    """Base class of the backbones.

    Attributes:
        out_dim: width of the feature vector returned by ``forward``.
        input_shape: the per-sample input shape the backbone was built for.
    """

    out_dim: int
    input_shape: tuple[int, ...]

    def tap_points(self) -> list[str]:
        """Names (as in ``named_modules()``) of the meaningful intermediate
        layers, shallow to deep; a forward hook on each gives the
        representation after that layer (post-activation)."""
        return []


def as_shape(input_shape: Sequence[int]) -> tuple[int, ...]:
    """Validate ``input_shape`` and return it as a tuple of ints.

    Raises:
        ValueError: not a sequence of one or three positive integers.
    """
    try:
        shape = tuple(int(s) for s in input_shape)
    except (TypeError, ValueError):
        shape = ()  # not a sequence of integers
    if len(shape) not in (1, 3) or any(s < 1 for s in shape):
        checks.fail(
            "input_shape",
            "(C, H, W) for images or (D,) for vectors, with positive sizes (data.image_size, data.channels)",
            input_shape,
        )
    return shape


def image_shape(input_shape: Sequence[int], backbone: str) -> tuple[int, int, int]:
    """Validate an image input shape ``(C, H, W)``.

    Args:
        input_shape: the per-sample input shape.
        backbone: the backbone's config name, for the error message.

    Raises:
        ValueError: the input is a vector (``data.image_size`` is None), or the
            shape is malformed.
    """
    shape = as_shape(input_shape)
    if len(shape) != 3:
        raise ValueError(
            f"backbone={backbone} needs image input (C, H, W) but the data gives vectors of "
            f"shape {shape} (data.image_size is None); use backbone=mlp for vector data"
        )
    return shape[0], shape[1], shape[2]


def make_activation(name: str, key: str = "backbone.activation") -> nn.Module:
    """Build an activation module from its name.

    Args:
        name: one of ``tanh, relu, gelu, sigmoid, leaky_relu, identity``.
        key: the config key to name in the error.

    Raises:
        ValueError: unknown name.
    """
    modules: dict[str, type[nn.Module]] = {
        "tanh": nn.Tanh,
        "relu": nn.ReLU,
        "gelu": nn.GELU,
        "sigmoid": nn.Sigmoid,
        "leaky_relu": nn.LeakyReLU,
        "identity": nn.Identity,
    }
    return modules[checks.choice(key, name, ACTIVATIONS)]()
