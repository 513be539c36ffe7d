"""Backbones: shapes, out_dim, tap points, a finite training step, errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from ssl_it.backbones import MLP, Backbone, ConvNet, ResNet, ViT

IMG1, IMG3, VEC = (1, 28, 28), (3, 32, 32), (12,)

# (factory, input shape, out_dim, tap widths in order)
CASES = [
    ("mlp-ib", lambda s: MLP(s, [10, 7, 5, 4, 3], "tanh"), VEC, 3, [10, 7, 5, 4, 3]),
    ("mlp-img1", lambda s: MLP(s, [64, 32], "relu", batch_norm=True), IMG1, 32, [64, 32]),
    ("mlp-img3", lambda s: MLP(s, [16], "gelu"), IMG3, 16, [16]),
    ("convnet-1", lambda s: ConvNet(s), IMG1, 128, [32, 64, 128, 128]),
    ("convnet-3", lambda s: ConvNet(s, [8, 16], convs_per_stage=2), IMG3, 16, [8, 16, 16]),
    ("resnet18-1", lambda s: ResNet(s, "resnet18", cifar_stem=True), IMG1, 512, [64, 128, 256, 512]),
    ("resnet18-3", lambda s: ResNet(s, "resnet18", cifar_stem=False), IMG3, 512, [64, 128, 256, 512]),
    ("resnet50-3", lambda s: ResNet(s, "resnet50", cifar_stem=False), IMG3, 2048, [256, 512, 1024, 2048]),
    ("vit-1", lambda s: ViT(s, patch_size=4, num_layers=2), IMG1, 192, [192, 192]),
    ("vit-3", lambda s: ViT(s, patch_size=8, hidden_dim=64, num_layers=3, num_heads=2), IMG3, 64, [64] * 3),
]


def _width(out: torch.Tensor) -> int:
    # MLP (B, D) and conv (B, C, H, W): dim 1; ViT tokens (B, S, D): last dim.
    return out.shape[-1] if out.dim() == 3 else out.shape[1]


@pytest.mark.parametrize("name,make,shape,out_dim,widths", CASES, ids=[c[0] for c in CASES])
def test_shape_taps_and_step(name, make, shape, out_dim, widths) -> None:
    torch.manual_seed(0)
    model: Backbone = make(shape)
    assert model.out_dim == out_dim
    modules = dict(model.named_modules())
    taps = model.tap_points()
    assert len(taps) == len(widths)
    seen: dict[str, torch.Tensor] = {}
    for tap in taps:
        modules[tap].register_forward_hook(lambda m, i, o, tap=tap: seen.__setitem__(tap, o))
    x = torch.rand(3, *shape)
    y = model(x)
    assert y.shape == (3, out_dim)
    assert [_width(seen[t]) for t in taps] == widths
    assert all(seen[t].shape[0] == 3 for t in taps)
    y.square().mean().backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert sum(g.abs().sum().item() for g in grads) > 0


def test_mlp_layers_are_linear_then_activation() -> None:
    model = MLP(VEC, [10, 7, 5, 4, 3], "tanh")
    assert model.tap_points() == ["layer1", "layer2", "layer3", "layer4", "layer5"]
    assert isinstance(model.layer3[0], nn.Linear) and model.layer3[0].out_features == 5
    assert isinstance(model.layer3[-1], nn.Tanh)
    out = model(torch.randn(4, 12) * 10)
    assert out.abs().max() <= 1.0  # tanh output


def test_resnet_stem_and_grayscale_conv() -> None:
    cifar = ResNet(IMG1, "resnet18", cifar_stem=True)
    assert cifar.conv1.in_channels == 1 and cifar.conv1.kernel_size == (3, 3) and cifar.conv1.stride == (1, 1)
    assert isinstance(cifar.maxpool, nn.Identity) and isinstance(cifar.fc, nn.Identity)
    imagenet = ResNet(IMG3, "resnet18", cifar_stem=False)
    assert imagenet.conv1.kernel_size == (7, 7) and isinstance(imagenet.maxpool, nn.MaxPool2d)
    assert ResNet(IMG3, "resnet50").layer4[-1].conv3.out_channels == 2048


def test_vit_conv_proj_takes_input_channels() -> None:
    vit = ViT(IMG1, patch_size=7, hidden_dim=32, num_layers=1, num_heads=4)
    assert vit.conv_proj.in_channels == 1 and vit.conv_proj.kernel_size == (7, 7)
    assert vit(torch.rand(2, *IMG1)).shape == (2, 32)


@pytest.mark.parametrize(
    "make,keys",
    [
        (lambda: ConvNet(VEC), ["data.image_size", "backbone=mlp"]),
        (lambda: ResNet(VEC), ["data.image_size", "resnet18"]),
        (lambda: ViT(VEC), ["data.image_size"]),
        (
            lambda: ViT(IMG1, patch_size=5),
            ["backbone.patch_size: must be a divisor of data.image_size=28: one of [1, 2, 4, 7, 14, 28]; got 5"],
        ),
        (lambda: ViT(IMG3, num_heads=5), ["backbone.num_heads: must be a divisor of backbone.hidden_dim=", "got 5"]),
        (lambda: ViT((1, 28, 32)), ["data.image_size", "square"]),
        (lambda: ViT(IMG1, dropout=1.0), ["backbone.dropout"]),
        (lambda: ViT(IMG1, num_layers=0), ["backbone.num_layers"]),
        (lambda: MLP(VEC, []), ["backbone.hidden_dims"]),
        (lambda: MLP(VEC, [4, 0]), ["backbone.hidden_dims"]),
        (lambda: MLP(VEC, [4], "swish"), ["backbone.activation", "tanh"]),
        (lambda: MLP(VEC, [4], batch_norm="yes"), ["backbone.batch_norm"]),
        (lambda: ConvNet(IMG1, [32, -1]), ["backbone.channels"]),
        (lambda: ConvNet(IMG1, convs_per_stage=0), ["backbone.convs_per_stage"]),
        (lambda: ResNet(IMG3, "resnet34"), ["backbone.arch", "resnet18, resnet50"]),
        (lambda: ResNet(IMG3, cifar_stem="auto"), ["backbone.cifar_stem"]),
        (
            lambda: MLP((1, 0, 28), [4]),
            ["input_shape: must be (C, H, W) for images or (D,) for vectors", "data.image_size"],
        ),
    ],
)
def test_errors_name_the_key(make, keys) -> None:
    with pytest.raises(ValueError) as err:
        make()
    for key in keys:
        assert key in str(err.value)


def test_configs_instantiate() -> None:
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    config_dir = Path(__file__).resolve().parents[2] / "configs"
    expected = {"mlp": 512, "convnet": 128, "resnet18": 512, "resnet50": 2048, "vit_tiny": 192}
    for name, out_dim in expected.items():
        cfg = OmegaConf.load(config_dir / "backbone" / f"{name}.yaml")
        model = instantiate(cfg)(input_shape=(3, 32, 32))
        assert model.out_dim == out_dim, name


def test_vit_matches_torchvision_encoder_and_takes_local_crops() -> None:
    torch.manual_seed(0)
    vit = ViT(IMG1, patch_size=4, hidden_dim=32, num_layers=2, num_heads=2).eval()
    x = torch.rand(2, *IMG1)
    tokens = torch.cat([vit.class_token.expand(2, -1, -1), vit.conv_proj(x).flatten(2).transpose(1, 2)], 1)
    assert torch.allclose(vit(x), vit.encoder(tokens)[:, 0], atol=1e-6)
    # multi-crop local views (12 px for 28 px globals): position embeddings resized to 3x3
    assert vit(torch.rand(2, 1, 12, 12)).shape == (2, 32)
