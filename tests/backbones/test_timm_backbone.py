"""backbone=timm: small timm models built for the data's shape, tapped by name, weights only from local files."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
import torch
from torch import nn

timm = pytest.importorskip("timm")

from ssl_it.backbones import TimmBackbone  # noqa: E402
from ssl_it.callbacks.taps import check_layers, probe_pass  # noqa: E402
from tests.conftest import run_python  # noqa: E402

IMG1, IMG3 = (1, 28, 28), (3, 32, 32)

# (name, input shape, model_kwargs, out_dim, a tap and its output shape for a batch of 2)
CASES = [
    (
        "resnet18",
        IMG1,
        {"layers": [1, 1, 1, 1]},
        512,
        "model.layer2",
        (2, 128, 4, 4),
    ),  # 7x7 stem, max-pool: 28 -> 7 -> 4
    ("vit_tiny_patch16_224", IMG3, {"depth": 4}, 192, "model.blocks.3", (2, 1 + 4, 192)),  # img_size 32: 2x2 patches
    ("convnext_atto", IMG3, {}, 320, "model.stages.1", (2, 80, 4, 4)),  # 4 px stem, then halving
]


@pytest.mark.parametrize("name,shape,kwargs,out_dim,tap,tap_shape", CASES, ids=[c[0] for c in CASES])
def test_forward_tap_and_gradient(name, shape, kwargs, out_dim, tap, tap_shape) -> None:
    torch.manual_seed(0)
    net = TimmBackbone(shape, name, model_kwargs=kwargs)
    assert net.out_dim == out_dim and tap in net.tap_points()
    assert net.model.training  # the forward pass measuring out_dim leaves the mode alone
    seen: dict[str, torch.Tensor] = {}
    net.get_submodule(tap).register_forward_hook(lambda m, i, o: seen.__setitem__("out", o))
    y = net(torch.rand(2, *shape))
    assert y.shape == (2, out_dim) and seen["out"].shape == tap_shape
    y.square().mean().backward()
    grads = [p.grad for p in net.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)


def test_fixed_size_models_take_the_data_image_size() -> None:
    net = TimmBackbone(IMG1, "vit_tiny_patch16_224", model_kwargs={"depth": 1, "patch_size": 7})
    assert net.model.patch_embed.img_size == (28, 28) and net.model.patch_embed.grid_size == (4, 4)
    assert net.model.patch_embed.proj.in_channels == 1


def test_a_timm_layer_is_measured_by_its_module_name() -> None:
    torch.manual_seed(0)
    module = nn.ModuleDict({"backbone": TimmBackbone(IMG1, "resnet18")})  # the probe pass reads module.backbone
    check_layers(module, ["backbone", "backbone.model.layer2"])
    batches = [(torch.rand(5, *IMG1), torch.arange(5))]
    reps, labels = probe_pass(module, batches, ["backbone", "backbone.model.layer2"])
    assert reps["backbone"].shape == (5, 512) and reps["backbone.model.layer2"].shape == (5, 128 * 4 * 4)
    assert labels.tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(
        ValueError,
        match=r"^infoplane\.layers: must be an alias \(backbone, projector\) or a submodule of the model; "
        r"the backbone's tap points: \[.*'backbone\.model\.layer1'.*\]; got 'backbone\.layer2'$",
    ):
        check_layers(module, ["backbone.layer2"])


def test_an_unknown_name_lists_close_matches() -> None:
    with pytest.raises(
        ValueError,
        match=r"^backbone\.name: must be one of timm's \d+ model names "
        r"\(close matches: resnet18,.*; got 'resnet81'$",
    ):
        TimmBackbone(IMG3, "resnet81")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"model_kwargs": {"in_chans": 3}}, r"backbone\.model_kwargs\.in_chans: set by ssl_it"),
        (
            {"model_kwargs": {"no_such_argument": 1}},
            r"backbone\.model_kwargs=.*unexpected keyword argument 'no_such_argument'",
        ),
        (
            {"checkpoint_path": "/x.pth"},
            r"^backbone\.checkpoint_path: must be null when backbone\.pretrained=false .*; got '/x\.pth'$",
        ),
        (
            {"pretrained": True, "checkpoint_path": "/no/such.pth"},
            r"backbone\.checkpoint_path=/no/such\.pth: no such file",
        ),
        ({"pretrained": 1}, r"backbone\.pretrained: must be true or false"),
    ],
)
def test_bad_settings_name_the_key(kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        TimmBackbone(IMG3, "resnet18", **kwargs)


def test_a_patch_size_that_does_not_divide_the_image_is_refused() -> None:
    with pytest.raises(
        ValueError,
        match=r"backbone\.model_kwargs\.patch_size: .* 16 px patches, which do not divide "
        r"data\.image_size=28.*\[1, 2, 4, 7, 14, 28\]",
    ):
        TimmBackbone(IMG1, "vit_tiny_patch16_224", model_kwargs={"depth": 1})


def test_pretrained_weights_load_from_a_local_file_adapted_to_one_channel(tmp_path) -> None:
    torch.manual_seed(1)
    source = timm.create_model("test_resnet", num_classes=10)
    torch.save(source.state_dict(), tmp_path / "weights.pth")
    net = TimmBackbone(IMG1, "test_resnet", pretrained=True, checkpoint_path=str(tmp_path / "weights.pth"))
    # timm folds the RGB filters into one channel (their sum) and drops the classifier
    assert torch.equal(net.model.conv1[0].weight, source.conv1[0].weight.sum(dim=1, keepdim=True))
    assert torch.equal(net.model.layer3[0].conv2.weight, source.layer3[0].conv2.weight)
    assert isinstance(net.model.fc, nn.Identity)


def test_pretrained_without_local_weights_is_refused_and_cached_weights_are_used(tmp_path, monkeypatch) -> None:
    import huggingface_hub.constants
    from safetensors.torch import save_file

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(
        ValueError,
        match=r"^backbone\.pretrained=true: no weights for timm model 'test_resnet' on this "
        r"machine \(timm/test_resnet\.r160_in1k is not in .* nothing is downloaded here; "
        r".*backbone\.checkpoint_path=<file>, or set backbone\.pretrained=false$",
    ):
        TimmBackbone(IMG3, "test_resnet", pretrained=True)
    # the Hugging Face cache layout: refs/main names the snapshot holding the file
    repo = tmp_path / "models--timm--test_resnet.r160_in1k"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("abc123")
    (repo / "snapshots" / "abc123").mkdir(parents=True)
    torch.manual_seed(2)
    source = timm.create_model("test_resnet")
    save_file(source.state_dict(), repo / "snapshots" / "abc123" / "model.safetensors")
    net = TimmBackbone(IMG3, "test_resnet", pretrained=True)
    assert torch.equal(net.model.conv1[0].weight, source.conv1[0].weight)


ROOT = Path(__file__).resolve().parents[2]


def test_train_py_trains_a_timm_resnet18_on_the_embedded_digits_and_measures_its_layer(tmp_path) -> None:
    run = tmp_path / "run"
    proc = run_python(  # a hang guard, not a speed check
        "train.py",
        "debug=fast",
        "backbone=timm",
        "backbone.name=resnet18",
        "infoplane=default",
        "infoplane.layers=[backbone,backbone.model.layer2]",
        "infoplane.log_spaced_evals=0",
        "infoplane.bands=false",
        "infoplane.measure_views=false",
        "datamodule.batch_size=32",
        "datamodule.probe_size=64",
        "torch_threads=1",
        f"hydra.run.dir={run}",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    with (run / "metrics.csv").open(newline="") as f:
        steps = {int(r["step"]) for r in csv.DictReader(f) if r.get("train/loss_step")}
    assert steps == {0, 1, 2}  # debug=fast: one epoch of 3 batches of the default data (mnist5k, in the package)
    with (run / "infoplane.csv").open(newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["layer"] == "backbone.model.layer2"]
    assert [int(r["step"]) for r in rows] == [0, 3]  # before training and after the epoch
    assert all(math.isfinite(float(r["I_XT"])) and math.isfinite(float(r["I_TY"])) for r in rows)
    assert [int(r["dim"]) for r in rows] == [128 * 4 * 4] * 2  # 28 px -> 7 after the stem -> 4 in layer2


def test_an_unknown_timm_name_stops_the_run_before_training(make_cfg, tmp_path) -> None:
    from ssl_it.run.config_checks import ConfigError
    from ssl_it.train import train

    with pytest.raises(ConfigError, match=r"^backbone\.name: must be one of timm's .*close matches: resnet18"):
        train(make_cfg("backbone=timm", "backbone.name=resnet81"))
    assert not (tmp_path / "run").exists()
