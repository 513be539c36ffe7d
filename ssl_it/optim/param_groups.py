"""Parameter groups: weight decay on weights only, never on biases or norms."""

from __future__ import annotations

from typing import Any

from torch import nn

_NORM_TYPES = (nn.modules.batchnorm._BatchNorm, nn.LayerNorm, nn.GroupNorm, nn.modules.instancenorm._InstanceNorm)


def decay_and_no_decay_groups(model: nn.Module) -> list[dict[str, Any]]:
    """Split trainable parameters into a weight-decay group and a no-decay group.

    Biases, 1-D parameters (norm scales, ViT tokens' norms) and every parameter
    of a normalisation layer go to the second group, which has
    ``weight_decay=0`` and ``lars_exclude=True``. Frozen parameters (momentum
    teachers) are left out.
    """
    norm_params = {id(p) for m in model.modules() if isinstance(m, _NORM_TYPES) for p in m.parameters(recurse=False)}
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        if p.ndim <= 1 or name.endswith(".bias") or id(p) in norm_params:
            no_decay.append(p)
        else:
            decay.append(p)
    groups: list[dict[str, Any]] = [{"params": decay}]
    if no_decay:
        groups.append({"params": no_decay, "weight_decay": 0.0, "lars_exclude": True})
    return groups
