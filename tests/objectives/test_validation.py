"""Bad constructor arguments raise ValueError naming the argument."""

from __future__ import annotations

from typing import Any

import pytest

import ssl_it.objectives as O

CASES: list[tuple[type, dict[str, Any], str]] = [
    (O.SimCLR, {"temperature": 0.0}, "temperature"),
    (O.SimCLR, {"hidden_dims": [64, -1]}, "hidden_dims"),
    (O.SimCLR, {"out_dim": 0}, "out_dim"),
    (O.MoCo, {"queue_size": -1}, "queue_size"),
    (O.MoCo, {"base_momentum": 1.5}, "base_momentum"),
    (O.MoCo, {"base_momentum": 0.99, "final_momentum": 0.9}, "final_momentum"),
    (O.MoCo, {"predictor_hidden_dims": "512"}, "predictor_hidden_dims"),
    (O.InfoNCELoss, {"critic": "mlp"}, "critic"),
    (O.VICReg, {"std_coeff": -1.0}, "std_coeff"),
    (O.VICReg, {"eps": 0.0}, "eps"),
    (O.VICRegLogDet, {"logdet_coeff": -1.0}, "logdet_coeff"),
    (O.BarlowTwins, {"lambd": -0.1}, "lambd"),
    (O.WMSE, {"w_size": 32, "out_dim": 64}, "w_size"),
    (O.WMSE, {"w_eps": 1.0}, "w_eps"),
    (O.WMSE, {"w_iter": 0}, "w_iter"),
    (O.BYOL, {"predictor_hidden_dims": [0]}, "predictor_hidden_dims"),
    (O.SimSiam, {"predictor_hidden_dim": 0}, "predictor_hidden_dim"),
    (O.DINO, {"teacher_temp": 0.0}, "teacher_temp"),
    (O.DINO, {"center_momentum": 1.2}, "center_momentum"),
    (O.DINO, {"warmup_teacher_temp_fraction": -0.1}, "warmup_teacher_temp_fraction"),
    (O.SwAV, {"num_prototypes": 0}, "num_prototypes"),
    (O.SwAV, {"epsilon": 0.0}, "epsilon"),
    (O.SwAV, {"queue_start_fraction": 2.0}, "queue_start_fraction"),
    (O.MIB, {"beta": 0.0}, "beta"),
    (O.MIB, {"beta_start": 2.0}, "beta_start"),
    (O.MIB, {"critic": "bilinear"}, "critic"),
    (O.Supervised, {"num_classes": 1}, "num_classes"),
    (O.Supervised, {"num_classes": 3, "label_smoothing": 1.0}, "label_smoothing"),
]


@pytest.mark.parametrize(("cls", "kwargs", "name"), CASES, ids=[f"{c.__name__}-{n}" for c, _, n in CASES])
def test_bad_argument_is_named(cls: type, kwargs: dict[str, Any], name: str) -> None:
    with pytest.raises(ValueError, match=rf"^{name}:"):
        cls(in_dim=16, **kwargs)
