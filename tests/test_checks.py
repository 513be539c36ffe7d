"""The shared argument checks: one rule and one wording per kind of value."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ssl_it import checks


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: checks.positive("lr", 0.0), "lr: must be a number > 0; got 0.0"),
        (lambda: checks.positive("lr", math.nan), "lr: must be a number > 0; got nan"),
        (lambda: checks.positive("lr", True), "lr: must be a number > 0; got True"),
        (lambda: checks.positive("lr", "1e-3"), "lr: must be a number > 0; got '1e-3'"),
        (lambda: checks.positive("decay", -1, allow_zero=True), "decay: must be a number >= 0; got -1"),
        (lambda: checks.number("p", 1.0, 0.0, 1.0, open_high=True), "p: must be a number in [0, 1); got 1.0"),
        (lambda: checks.number("r", 0.0, 0.0, 1.0, open_low=True), "r: must be a number in (0, 1]; got 0.0"),
        (lambda: checks.integer("k", 2.0), "k: must be an integer >= 1; got 2.0"),
        (lambda: checks.integer("n", -1, minimum=0), "n: must be an integer >= 0; got -1"),
        (
            lambda: checks.probability("augmentation.flip_prob", 1.5),
            "augmentation.flip_prob: must be a probability in [0, 1]; got 1.5",
        ),
        (
            lambda: checks.probabilities("augmentation.blur_prob", []),
            "augmentation.blur_prob: must be a non-empty list of probabilities in [0, 1]; got []",
        ),
        (lambda: checks.choice("critic", "mlp", ("cosine", "dot")), "critic: must be one of cosine, dot; got 'mlp'"),
        (lambda: checks.flag("batch_norm", 1), "batch_norm: must be true or false; got 1"),
        (lambda: checks.widths("hidden_dims", "512"), "hidden_dims: must be a list of positive integers; got '512'"),
        (
            lambda: checks.widths("channels", [], allow_empty=False),
            "channels: must be a non-empty list of positive integers; got []",
        ),
        (
            lambda: checks.value_range("augmentation.scale", (0.6, 0.2), 0.0, 1.0, open_low=True),
            "augmentation.scale: must be a pair with 0 < low <= high <= 1; got [0.6, 0.2]",
        ),
        (lambda: checks.value_range("augmentation.ratio", (1.0,)), "augmentation.ratio: must be a pair [low, high]"),
    ],
)
def test_message_names_the_key_and_what_is_allowed(call, message: str) -> None:
    with pytest.raises(checks.InvalidValue) as err:
        call()
    assert str(err.value).startswith(message)


def test_checked_values_come_back_in_their_checked_form() -> None:
    assert checks.probabilities("p", [1, 0.5]) == (1.0, 0.5)
    assert checks.widths("w", (64, np.int64(32))) == [64, 32]
    assert checks.value_range("s", [0.08, 1]) == (0.08, 1.0)
    assert checks.integer("k", np.int32(3)) == 3
    assert checks.number("t", np.float32(0.5), 0.0, 1.0) == 0.5


def test_the_exception_carries_its_fields_for_config_wording() -> None:
    with pytest.raises(ValueError) as err:
        checks.positive("optimizer.lr", -1)
    assert isinstance(err.value, checks.InvalidValue)
    assert (err.value.key, err.value.allowed, err.value.value) == ("optimizer.lr", "a number > 0", -1)
