"""Representations of the probe set at named layers, through forward hooks.

Aliases: ``backbone`` is the backbone's output, ``projector`` the objective's
projector applied to it (the embedding Z). Any other name is a submodule of
the LightningModule (``backbone.layer2``, ``objective.projector.0``,
``objective.classifier``...), tapped by a forward hook; its output is
flattened to ``(n, features)``. The probe pass runs backbone -> projector
(-> the supervised objective's classifier, when a tap sits in it).
"""

from __future__ import annotations

import torch
from torch import nn

ALIASES = ("backbone", "projector")


def check_layers(module: nn.Module, layers: list[str]) -> None:
    """Raise ``ValueError`` naming ``infoplane.layers`` for an unknown layer."""
    names = dict(module.named_modules())
    for layer in layers:
        if layer not in ALIASES and layer not in names:
            known = [n for n in names if n.startswith("backbone.") and n.count(".") <= 1][:20]
            raise ValueError(
                f"infoplane.layers: '{layer}' is neither an alias {ALIASES} nor a submodule; "
                f"e.g. {known}"
            )


@torch.no_grad()
def probe_representations(
    module: nn.Module, inputs: torch.Tensor, layers: list[str], batch_size: int = 512
) -> dict[str, torch.Tensor]:
    """``{layer: (n, d) float tensor}`` of ``inputs`` in eval mode, no gradients."""
    captured: dict[str, list[torch.Tensor]] = {name: [] for name in layers}
    handles = []
    for name in layers:
        if name not in ALIASES:
            sub = module.get_submodule(name)
            handles.append(sub.register_forward_hook(_capture(captured[name])))
    was_training = module.training
    module.eval()
    try:
        device = next(module.parameters()).device
        run_projector = any(n == "projector" or n.startswith("objective.") for n in layers)
        run_classifier = any(n.startswith("objective.classifier") for n in layers)
        for chunk in inputs.split(batch_size):
            feats = module.get_submodule("backbone")(chunk.to(device))
            if "backbone" in captured:
                captured["backbone"].append(feats.float())
            if run_projector:
                z = module.get_submodule("objective.projector")(feats)
                if "projector" in captured:
                    captured["projector"].append(z.float())
                if run_classifier:
                    module.get_submodule("objective.classifier")(z)
    finally:
        for h in handles:
            h.remove()
        module.train(was_training)
    return {name: torch.cat(parts).flatten(1) for name, parts in captured.items()}


def _capture(store: list[torch.Tensor]):  # noqa: ANN202
    def hook(_module: nn.Module, _inputs: object, output: torch.Tensor) -> None:
        out = output[0] if isinstance(output, (tuple, list)) else output
        store.append(out.detach().float())

    return hook
