"""Any model of timm (Wightman, *PyTorch Image Models*, github.com/huggingface/pytorch-image-models) as a backbone.

timm is imported when such a backbone is built, not with the package: the
import takes about a second that runs on the other backbones need not pay.
Nothing is downloaded: pretrained weights come from a local file or from
weights already in timm's caches (the Hugging Face hub cache, torch hub's
``checkpoints/``), and are otherwise refused before training starts.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import torch

from ssl_it import checks
from ssl_it.backbones.base import Backbone, image_shape

# create_model arguments that the backbone sets itself, from the data and its own keys
SET_HERE = ("num_classes", "in_chans", "pretrained", "pretrained_cfg_overlay", "checkpoint_path")


class TimmBackbone(Backbone):
    """``timm.create_model(name, num_classes=0, in_chans=C)``: the model's pooled
    pre-logits features, ``out_dim`` wide (measured by one forward pass at
    construction, so models whose head has its own width are right too).

    The timm model is the submodule ``model``, with timm's own module names:
    ``backbone.model.layer2`` (ResNet), ``backbone.model.blocks.3`` (ViT),
    ``backbone.model.stages.1`` (ConvNeXt) are tappable layers;
    :meth:`tap_points` lists the ones timm declares as feature stages.

    Models with a fixed input size (timm's ``fixed_input_size``: ViT, Swin...)
    are built for the data's image size (``img_size``, unless
    ``model_kwargs`` sets it); their patch size must divide it.

    Args:
        input_shape: ``(C, H, W)``; the first layer takes ``C`` channels.
        name: a timm model name, optionally with its weights tag
            (``resnet18``, ``resnet18.a1_in1k``); see ``timm.list_models()``.
        pretrained: load pretrained weights (adapted by timm to ``C``
            channels and the image size) from ``checkpoint_path``, or from
            timm's local caches when that is null.
        checkpoint_path: a local weights file (``.pth``, ``.bin``,
            ``.safetensors``) for ``pretrained=true``.
        model_kwargs: further ``timm.create_model`` arguments
            (``drop_path_rate``, ``patch_size``, ``dynamic_img_size``...).

    Raises:
        ValueError: vector input, an unknown model name (with close matches),
            pretrained weights that are not on this machine, a model argument
            the model does not take, or an input the model cannot process.
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        name: str = "resnet18",
        pretrained: bool = False,
        checkpoint_path: str | None = None,
        model_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        import timm

        self.input_shape = image_shape(input_shape, "timm")
        channels, height, width = self.input_shape
        check_name(name)
        checks.flag("backbone.pretrained", pretrained)
        kwargs = _model_kwargs(model_kwargs)
        cfg = timm.models.get_pretrained_cfg(name)
        if (
            cfg is not None
            and cfg.fixed_input_size
            and "img_size" not in kwargs
            and tuple(cfg.input_size[1:]) != (height, width)
        ):
            kwargs["img_size"] = height if height == width else (height, width)
        weights = local_weights(name, cfg, checkpoint_path, pretrained)
        overlay = {"file": str(weights)} if weights is not None else None
        try:
            self.model = timm.create_model(
                name, pretrained=pretrained, num_classes=0, in_chans=channels, pretrained_cfg_overlay=overlay, **kwargs
            )
        except TypeError as err:  # an argument the model's constructor does not take
            raise ValueError(
                f"backbone.model_kwargs={dict(kwargs)}: timm model '{name}' refuses them ({err})"
            ) from None
        self.name = name
        self._check_patches(kwargs)
        self.out_dim = self._measure_out_dim(kwargs)

    def _check_patches(self, kwargs: Mapping[str, Any]) -> None:
        """A patch size that does not divide the image would drop the pixels beyond the last whole patch."""
        embed = getattr(self.model, "patch_embed", None)
        patch = getattr(embed, "patch_size", None)
        if not isinstance(patch, tuple) or getattr(embed, "dynamic_img_pad", False):
            return
        size = self.input_shape[1:]
        if any(s % p for s, p in zip(size, patch)):
            allowed = [p for p in range(1, min(size) + 1) if all(s % p == 0 for s in size)]
            raise ValueError(
                f"backbone.model_kwargs.patch_size: timm model '{self.name}' has {patch[0]} px patches, which do not "
                f"divide data.image_size={size[0]}; set 'backbone.model_kwargs={{patch_size: P}}' with P in {allowed}, "
                f"or dynamic_img_pad: true"
            )

    def _measure_out_dim(self, kwargs: Mapping[str, Any]) -> int:
        """Width of the features, from one forward pass in eval mode (BatchNorm statistics untouched)."""
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.no_grad():
                out = self.model(torch.zeros(1, *self.input_shape))
        except (RuntimeError, AssertionError, ValueError) as err:
            first = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise ValueError(
                f"backbone.name={self.name} cannot take data images of shape {self.input_shape} "
                f"(data.image_size, data.channels) with backbone.model_kwargs={dict(kwargs)}: {first}"
            ) from None
        finally:
            self.model.train(was_training)
        if out.dim() != 2:
            raise ValueError(
                f"backbone.name={self.name}: features of shape {tuple(out.shape)[1:]}, not a vector "
                f"per sample; choose a model with a pooled head"
            )
        return int(out.shape[1])

    def tap_points(self) -> list[str]:
        """timm's feature stages (``feature_info``), e.g. ``model.layer1`` ..
        ``model.layer4`` or ``model.blocks.0`` ..; else the model's children."""
        info = getattr(self.model, "feature_info", None)
        if isinstance(info, list) and all(isinstance(i, dict) and "module" in i for i in info):
            return [f"model.{i['module']}" for i in info]
        return [f"model.{n}" for n, _ in self.model.named_children()]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``(batch, C, H, W)`` to ``(batch, out_dim)``."""
        out: torch.Tensor = self.model(x)
        return out


def check_name(name: str) -> str:
    """``name`` if timm knows it; otherwise an error listing close matches."""
    import timm

    if isinstance(name, str) and timm.is_model(name):
        return name
    names = timm.list_models()
    text = str(name)
    close = [
        *timm.list_models(f"{text}*")[:4],
        *timm.list_models(f"*{text}*")[:4],
        *difflib.get_close_matches(text, names, n=5, cutoff=0.6),
    ]
    close = list(dict.fromkeys(close))[:8]
    hint = f"close matches: {', '.join(close)}" if close else "none close"
    checks.fail("backbone.name", f"one of timm's {len(names)} model names ({hint}; all: timm.list_models())", name)


def _model_kwargs(model_kwargs: Mapping[str, Any] | None) -> dict[str, Any]:
    if model_kwargs is None:
        return {}
    if not isinstance(model_kwargs, Mapping):
        checks.fail("backbone.model_kwargs", "a mapping of timm.create_model arguments", model_kwargs)
    taken = [k for k in model_kwargs if k in SET_HERE]
    if taken:
        raise ValueError(
            f"backbone.model_kwargs.{taken[0]}: set by ssl_it, not here (in_chans and the head come "
            f"from the data, weights from backbone.pretrained and backbone.checkpoint_path)"
        )
    return dict(model_kwargs)


def local_weights(name: str, cfg: Any, checkpoint_path: str | None, pretrained: bool) -> Path | None:
    """The weights file to load: ``checkpoint_path``, or timm's cached copy of
    the model's default weights; ``None`` without ``pretrained``.

    Raises:
        ValueError: ``checkpoint_path`` without ``pretrained``, a missing
            file, or no cached weights (nothing is downloaded).
    """
    if not pretrained:
        if checkpoint_path is not None:
            checks.fail(
                "backbone.checkpoint_path",
                "null when backbone.pretrained=false (set backbone.pretrained=true to load it)",
                checkpoint_path,
            )
        return None
    if checkpoint_path is not None:
        path = Path(str(checkpoint_path)).expanduser()
        if not path.is_file():
            raise ValueError(f"backbone.checkpoint_path={checkpoint_path}: no such file")
        return path
    cached = cached_weights(cfg)
    if cached is None:
        source = getattr(cfg, "hf_hub_id", None) or getattr(cfg, "url", None) or "no known source"
        raise ValueError(
            f"backbone.pretrained=true: no weights for timm model '{name}' on this machine ({source} is not in the "
            f"Hugging Face or torch hub cache) and nothing is downloaded here; copy the weights file here and set "
            f"backbone.checkpoint_path=<file>, or set backbone.pretrained=false"
        )
    return cached


def cached_weights(cfg: Any) -> Path | None:
    """Where timm's loaders would find the default weights without a network:
    the Hugging Face hub cache (``hf_hub_id``) or torch hub's ``checkpoints/`` (``url``)."""
    if cfg is None:
        return None
    hub_id = getattr(cfg, "hf_hub_id", None)
    if hub_id:
        from huggingface_hub import try_to_load_from_cache

        filename = getattr(cfg, "hf_hub_filename", None)
        repo, _, revision = str(hub_id).partition("@")
        for candidate in [filename] if filename else ["model.safetensors", "pytorch_model.bin"]:
            found = try_to_load_from_cache(repo, candidate, revision=revision or None)
            if isinstance(found, str):
                return Path(found)
    url = getattr(cfg, "url", None)
    if url:
        path = Path(torch.hub.get_dir()) / "checkpoints" / Path(urlparse(str(url)).path).name
        if path.is_file():
            return path
    return None
