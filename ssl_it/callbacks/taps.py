"""The probe forward pass: representations of measurement data at named layers.

:func:`probe_pass` is the one function that runs the model on measurement
data (the information plane, the embedding diagnostics, kNN and linear
evaluation all get their representations from it, through
:mod:`ssl_it.callbacks.probe_cache`). It reads what the contracts declare:
the module's ``backbone``, the objective's ``projector``
(:class:`~ssl_it.objectives.base.Objective`) and its ``probe_heads()``,
run in that order.

Layer names: ``backbone`` is the backbone's output, ``projector`` the
projector applied to it (the embedding Z). Any other name is a submodule of
the LightningModule (``backbone.layer2``, ``objective.projector.0``,
``objective.classifier``...), tapped by a forward hook; its output is
flattened to ``(n, features)``. A backbone's ``tap_points()`` are the
meaningful intermediate layers that the error for an unknown name suggests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import nn

from ssl_it import checks
from ssl_it.objectives.base import Objective

ALIASES = ("backbone", "projector")
Batches = Iterable[tuple[torch.Tensor, torch.Tensor]]


def check_layers(module: nn.Module, layers: list[str]) -> None:
    """Raise ``ValueError`` naming ``infoplane.layers`` for an unknown layer,
    suggesting the backbone's declared ``tap_points()``."""
    names = dict(module.named_modules())
    tap_points: list[str] = getattr(module.backbone, "tap_points", list)()
    for layer in layers:
        if layer not in ALIASES and layer not in names:
            known = [f"backbone.{t}" for t in tap_points] or [n for n in names if n.startswith("backbone.")][:20]
            checks.fail(
                "infoplane.layers",
                f"an alias ({', '.join(ALIASES)}) or a submodule of the model; the backbone's tap points: {known}",
                layer,
            )


def _objective_path(module: nn.Module) -> list[nn.Module]:
    """The declared measurement path after the backbone (see :class:`~ssl_it.objectives.base.Objective`)."""
    objective: Objective = module.objective  # type: ignore[assignment]
    return [objective.projector, *objective.probe_heads()]


@torch.no_grad()
def probe_pass(
    module: nn.Module, batches: Batches, layers: list[str], batch_size: int = 512, to_cpu: bool = False
) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """``({layer: (n, d) float tensor}, labels (n,))`` of every ``(inputs,
    labels)`` batch, in eval mode, without gradients, in chunks of at most
    ``batch_size``. Representations stay on the module's device unless
    ``to_cpu`` (large loaders: the kNN bank, linear evaluation)."""
    captured: dict[str, list[torch.Tensor]] = {name: [] for name in layers}
    hooks = [
        module.get_submodule(n).register_forward_hook(_capture(captured[n], to_cpu)) for n in layers if n not in ALIASES
    ]
    after_backbone = any(n == "projector" or n.startswith("objective.") for n in layers)
    was_training = module.training
    module.eval()
    labels: list[torch.Tensor] = []
    try:
        device = next(module.parameters()).device
        path = _objective_path(module) if after_backbone else []
        for inputs, y in batches:
            labels.append(y)
            for chunk in inputs.split(batch_size):
                x = chunk.to(device, non_blocking=True)
                _forward(module.backbone, path, x, captured, to_cpu)  # type: ignore[arg-type]
    finally:
        for h in hooks:
            h.remove()
        module.train(was_training)
    return {name: torch.cat(parts).flatten(1) for name, parts in captured.items()}, torch.cat(labels)


def _forward(
    backbone: nn.Module, path: list[nn.Module], x: torch.Tensor, captured: dict[str, list[torch.Tensor]], to_cpu: bool
) -> None:
    """backbone -> projector -> heads on one chunk; keeps the two aliases."""
    out = backbone(x)
    if "backbone" in captured:
        captured["backbone"].append(_kept(out, to_cpu))
    for i, step in enumerate(path):
        out = step(out)
        if i == 0 and "projector" in captured:
            captured["projector"].append(_kept(out, to_cpu))


def _kept(t: torch.Tensor, to_cpu: bool) -> torch.Tensor:
    t = t.detach().float()
    return t.cpu() if to_cpu else t


def _capture(store: list[torch.Tensor], to_cpu: bool) -> Callable[[nn.Module, object, torch.Tensor], None]:
    def hook(_module: nn.Module, _inputs: object, output: torch.Tensor) -> None:
        out = output[0] if isinstance(output, (tuple, list)) else output
        store.append(_kept(out, to_cpu))

    return hook
