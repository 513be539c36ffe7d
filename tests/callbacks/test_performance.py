"""Channels-last and compiled backbones train through train.py on the CPU;
checkpoints keep their keys; bad settings name the field."""

from __future__ import annotations

import pytest
import torch

from ssl_it.callbacks import Performance
from ssl_it.train import train


def checkpoint_state(run_dir) -> dict[str, torch.Tensor]:
    return torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)["state_dict"]


def test_channels_last_backbone_trains(make_cfg, tmp_path):
    acc = train(make_cfg("callbacks.performance.channels_last=true"))
    assert 0.0 <= acc <= 1.0
    conv = checkpoint_state(tmp_path / "run")["backbone.layer2.0.weight"]  # 32 input channels
    assert conv.dim() == 4 and conv.is_contiguous(memory_format=torch.channels_last)
    assert not conv.is_contiguous()


@pytest.mark.slow  # ~40 s: dynamo traces the training, validation and probe graphs
def test_compiled_backbone_trains_and_keeps_checkpoint_keys(make_cfg, tmp_path):
    cfg = make_cfg(
        "callbacks.performance.compile=true",
        "callbacks.performance.compile_backend=aot_eager",
        "infoplane=none",
        "callbacks.diagnostics=null",
    )  # inductor: 60 s of C++ compile on this CPU
    assert 0.0 <= train(cfg) <= 1.0
    assert not any("_orig_mod" in k for k in checkpoint_state(tmp_path / "run"))


@pytest.mark.parametrize(
    "kwargs, field",
    [({"channels_last": "yes"}, "performance.channels_last"), ({"compile_mode": "fast"}, "performance.compile_mode")],
)
def test_bad_settings_name_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field.replace(".", r"\.")):
        Performance(**kwargs)
