"""View pipelines (their recipes, made by BatchedViews): number, order and
shapes of views, statistics, determinism, errors naming the field, configs."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from ssl_it import checks
from ssl_it.augmentation import (
    BYOLViews,
    EvalTransform,
    Minimal,
    MultiCrop,
    MultiView,
    NoAugmentation,
    SimCLRViews,
    VICRegViews,
)
from ssl_it.augmentation.batched import BatchedViews

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs" / "augmentation"
GRAY = dict(image_size=28, channels=1, mean=(0.1307,), std=(0.3081,))
RGB = dict(image_size=32, channels=3, mean=(0.49, 0.48, 0.45), std=(0.25, 0.24, 0.26))
PLAIN = dict(image_size=28, channels=1, mean=(0.0,), std=(1.0,))  # views in the [0, 1] pixel scale


def views_of(aug: MultiView, x: torch.Tensor, seed: int = 0, epoch: int = 0) -> list[torch.Tensor]:
    """The views of float images ``x`` ``(B, C, H, W)`` in [0, 1] (or vectors ``(B, D)``), samples keyed 0..B-1."""
    keys = torch.stack([torch.full((len(x),), epoch), torch.arange(len(x))], 1)
    return BatchedViews(aug, seed)(x, keys)


# (class, kwargs, n_views, n_global, view sizes at 28 px)
PIPELINES = [
    (SimCLRViews, {}, 2, 2, [28, 28]),
    (SimCLRViews, {"n_views": 4}, 4, 4, [28] * 4),
    (BYOLViews, {}, 2, 2, [28, 28]),
    (VICRegViews, {"blur_prob": [1.0, 0.1, 0.5], "solarize_prob": [0.0, 0.2, 0.0]}, 3, 3, [28] * 3),
    (MultiCrop, {}, 8, 2, [28, 28] + [12] * 6),
    (MultiCrop, {"n_local": 3, "local_size": 16}, 5, 2, [28, 28, 16, 16, 16]),
    (MultiCrop, {"n_local": 0}, 2, 2, [28, 28]),
    (Minimal, {}, 2, 2, [28, 28]),
    (NoAugmentation, {"n_views": 1}, 1, 1, [28]),
]


@pytest.mark.parametrize("cls,kwargs,n_views,n_global,sizes", PIPELINES)
@pytest.mark.parametrize("data", [GRAY, RGB], ids=["1x28", "3x32"])
def test_views_number_order_shapes(cls, kwargs, n_views, n_global, sizes, data) -> None:
    aug: MultiView = cls(**data, **kwargs)
    scale = data["image_size"] / 28
    expected = [round(s * scale) if s != 12 else round(data["image_size"] * 96 / 224) for s in sizes]
    if "local_size" in kwargs:
        expected = [data["image_size"]] * 2 + [kwargs["local_size"]] * (n_views - 2)
    assert (aug.n_views, aug.n_global_views) == (n_views, n_global)
    assert aug.view_sizes == expected
    assert aug.global_size == data["image_size"]
    torch.manual_seed(0)
    views = views_of(aug, torch.rand(2, data["channels"], data["image_size"], data["image_size"]))
    assert isinstance(views, list) and len(views) == n_views
    assert [tuple(v.shape) for v in views] == [(2, data["channels"], s, s) for s in expected]
    assert all(v.dtype == torch.float32 and torch.isfinite(v).all() for v in views)


def test_none_gives_exactly_the_normalised_input() -> None:
    x = torch.rand(4, 3, 32, 32)
    views = views_of(NoAugmentation(**RGB, n_views=3), x)
    mean, std = torch.tensor(RGB["mean"]).view(3, 1, 1), torch.tensor(RGB["std"]).view(3, 1, 1)
    assert len(views) == 3
    for v in views:
        assert torch.equal(v, (x - mean) / std)
    views[0].add_(1.0)  # views are separate tensors
    assert torch.equal(views[1], (x - mean) / std)


def test_none_and_eval_work_on_vectors() -> None:
    x = torch.rand(12)
    views = views_of(NoAugmentation(image_size=None, channels=1, mean=(0.5,), std=(2.0,), n_views=2), x[None])
    assert [v.shape for v in views] == [(1, 12), (1, 12)]
    assert torch.equal(views[0][0], (x - 0.5) / 2.0)
    with pytest.raises(ValueError, match="data.mean"):
        views_of(NoAugmentation(image_size=None, channels=1, mean=[0.0] * 5, std=[1.0] * 5), x[None])
    per_feature = torch.linspace(0, 1, 12)
    ev = EvalTransform(per_feature.tolist(), [1.0] * 12)
    assert torch.allclose(ev(x), x - per_feature)
    with pytest.raises(ValueError, match="data.mean"):
        EvalTransform([0.0] * 5, [1.0] * 5)(x)


def test_eval_transform_normalises_images() -> None:
    x = torch.rand(3, 32, 32)
    y = EvalTransform(RGB["mean"], RGB["std"])(x)
    assert torch.allclose(y[1], (x[1] - 0.48) / 0.24)
    assert y.shape == x.shape


def test_flip_and_crop_change_pixels_but_keep_the_range() -> None:
    torch.manual_seed(0)
    x = 0.1 + 0.8 * torch.rand(8, 1, 28, 28)
    flip = Minimal(**PLAIN, scale=(1.0, 1.0), ratio=(1.0, 1.0), flip_prob=1.0)
    torch.testing.assert_close(views_of(flip, x)[0], x.flip(-1), atol=1e-6, rtol=0)
    crop = views_of(Minimal(**PLAIN, flip_prob=0.5), x)
    simclr = views_of(SimCLRViews(**PLAIN, brightness=0.0, contrast=0.0), x)
    for v in crop + simclr:
        assert not torch.allclose(v, x)
        assert v.min() >= 0.1 - 1e-6 and v.max() <= 0.9 + 1e-6
    for v in views_of(SimCLRViews(**PLAIN, jitter_prob=1.0), x) + views_of(
        BYOLViews(**PLAIN, solarize_prob=[1.0, 1.0]), x
    ):
        assert v.min() >= 0.0 and v.max() <= 1.0


@pytest.mark.parametrize("cls", [SimCLRViews, BYOLViews, VICRegViews, MultiCrop, Minimal, NoAugmentation])
def test_constant_image_gives_constant_normalised_views(cls) -> None:
    kwargs = {} if cls in (Minimal, NoAugmentation) else {"jitter_prob": 0.0, "grayscale_prob": 0.0}
    x = torch.full((4, 3, 32, 32), 0.3)  # below the solarize threshold: crops, flips, blur keep it
    expected = ((0.3 - torch.tensor(RGB["mean"])) / torch.tensor(RGB["std"])).view(1, 3)
    for v in views_of(cls(**RGB, **kwargs), x):
        torch.testing.assert_close(v.mean(dim=(2, 3)), expected.expand(4, 3), atol=1e-5, rtol=0)
        assert v.std(dim=(2, 3)).max() < 1e-5


def test_mean_of_views_of_a_batch_matches_the_normalised_mean() -> None:
    torch.manual_seed(0)
    aug = SimCLRViews(**GRAY, jitter_prob=0.0)  # crop, flip, blur: mean-preserving on average
    batch = 0.5 + 0.1 * (torch.rand(100, 1, 28, 28) - 0.5)
    means = torch.stack([v.mean() for v in views_of(aug, batch)])
    assert abs(means.mean().item() - (0.5 - 0.1307) / 0.3081) < 0.01


def test_jitter_steps_follow_their_probabilities_and_ranges() -> None:
    """The drawn parameters over 4,000 keys: jitter in 80 % of the views, each
    of the 4 steps once per jittered view in a uniformly random slot,
    grayscale 20 %, blur 50 %, factors uniform in [1 - s, 1 + s], hue in [-h, h]."""
    n = 4000
    plan = BatchedViews(SimCLRViews(**RGB), seed=0).plan(
        torch.stack([torch.zeros(n, dtype=torch.long), torch.arange(n)], 1), 32, 32
    )[0]

    def se(p: float) -> float:  # 3 standard errors of a proportion
        return 3 * (p * (1 - p) / n) ** 0.5

    jittered = sum(plan[f"brightness@{s}"].numel() for s in range(4)) / n
    assert abs(jittered - 0.8) < se(0.8)
    for kind in ("contrast", "saturation", "hue"):
        assert sum(plan[f"{kind}@{s}"].numel() for s in range(4)) / n == jittered  # every step of a jittered view
    for s in range(4):
        assert abs(plan[f"hue@{s}"].numel() / n - 0.2) < se(0.2)  # one slot in four
    assert abs(plan["gray"].numel() / n - 0.2) < se(0.2) and abs(plan["blur"].numel() / n - 0.5) < se(0.5)
    b = plan["brightness"]
    assert b.min() >= 0.2 and b.max() <= 1.8 and abs(b.mean().item() - 1.0) < 3 * 0.46 / n**0.5  # U(0.2, 1.8)
    assert plan["hue"].abs().max() <= 0.2 and abs(plan["hue"].mean().item()) < 3 * 0.116 / n**0.5
    assert plan["sigma"].min() >= 0.1 and plan["sigma"].max() <= 2.0


@pytest.mark.parametrize("cls", [SimCLRViews, BYOLViews, MultiCrop, Minimal])
def test_deterministic_in_the_seed_and_key(cls) -> None:
    aug = cls(**RGB)
    x = torch.rand(3, 3, 32, 32)
    a, b, c = views_of(aug, x, seed=7), views_of(aug, x, seed=7), views_of(aug, x, seed=8)
    assert all(torch.equal(u, v) for u, v in zip(a, b))
    assert not all(torch.equal(u, v) for u, v in zip(a, c))
    assert not torch.equal(a[0], a[1])  # the views of one sample differ


def test_byol_views_are_asymmetric() -> None:
    torch.manual_seed(0)
    x = 0.6 + 0.4 * torch.rand(4, 1, 28, 28)  # all above the solarize threshold
    aug = BYOLViews(
        **PLAIN,
        scale=(1.0, 1.0),
        ratio=(1.0, 1.0),
        flip_prob=0.0,
        jitter_prob=0.0,
        blur_prob=[0.0, 0.0],
        solarize_prob=[0.0, 1.0],
    )
    first, second = views_of(aug, x)
    torch.testing.assert_close(first, x, atol=1e-6, rtol=0)
    torch.testing.assert_close(second, 1.0 - x, atol=1e-6, rtol=0)


@pytest.mark.parametrize(
    "make,field",
    [
        (lambda: SimCLRViews(**GRAY, scale=(0.0, 1.0)), "augmentation.scale"),
        (lambda: SimCLRViews(**GRAY, scale=(0.6, 0.2)), "augmentation.scale"),
        (lambda: SimCLRViews(**GRAY, scale=(0.2, 1.5)), "augmentation.scale"),
        (lambda: Minimal(**GRAY, scale=(0.2,)), "augmentation.scale"),
        (lambda: SimCLRViews(**GRAY, ratio=(0.0, 1.0)), "augmentation.ratio"),
        (lambda: SimCLRViews(**GRAY, flip_prob=1.5), "augmentation.flip_prob"),
        (lambda: SimCLRViews(**GRAY, jitter_prob=-0.1), "augmentation.jitter_prob"),
        (lambda: SimCLRViews(**GRAY, brightness=-1.0), "augmentation.brightness"),
        (lambda: SimCLRViews(**GRAY, hue=0.7), "augmentation.hue"),
        (lambda: SimCLRViews(**GRAY, n_views=0), "augmentation.n_views"),
        (lambda: NoAugmentation(**GRAY, n_views=0), "augmentation.n_views"),
        (lambda: SimCLRViews(**GRAY, blur_kernel=31), "augmentation.blur_kernel"),
        (lambda: SimCLRViews(**GRAY, blur_kernel=4), "augmentation.blur_kernel"),
        (lambda: SimCLRViews(**GRAY, blur_sigma=(2.0, 0.1)), "augmentation.blur_sigma"),
        (lambda: BYOLViews(**GRAY, blur_prob=[1.0, 0.1, 0.5]), "augmentation.solarize_prob"),
        (lambda: BYOLViews(**GRAY, solarize_prob=[0.0, 1.2]), "augmentation.solarize_prob"),
        (lambda: MultiCrop(**GRAY, local_size=40), "augmentation.local_size"),
        (lambda: MultiCrop(**GRAY, n_local=-1), "augmentation.n_local"),
        (lambda: MultiCrop(**GRAY, local_scale=(0.5, 0.1)), "augmentation.local_scale"),
        (lambda: MultiCrop(**GRAY, global_blur_prob=[1.0]), "augmentation.global_blur_prob"),
        (lambda: SimCLRViews(image_size=None, channels=1, mean=(0.0,), std=(1.0,)), "data.image_size"),
        (lambda: SimCLRViews(**{**GRAY, "std": (0.0,)}), "data.std"),
        (lambda: SimCLRViews(**{**RGB, "mean": (0.1, 0.2)}), "data.mean"),
    ],
)
def test_errors_name_the_field(make, field: str) -> None:
    with pytest.raises(ValueError, match=field.replace(".", r"\.")):
        make()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: MultiCrop(**GRAY, local_size=40),
            "augmentation.local_size: must be null or an integer in [1, 28] (data.image_size); got 40",
        ),
        (
            lambda: MultiCrop(**GRAY, global_solarize_prob=[0.0, 0.2, 0.5]),
            "augmentation.global_solarize_prob: must be 2 probabilities (one per global view); got [0.0, 0.2, 0.5]",
        ),
        (
            lambda: BYOLViews(**GRAY, blur_prob=[1.0, 0.1, 0.5]),
            "augmentation.solarize_prob: must be one probability per view, as many as augmentation.blur_prob (3); "
            "got [0.0, 0.2]",
        ),
        (lambda: SimCLRViews(**{**GRAY, "std": (0.0,)}), "data.std: must be a list of numbers > 0; got [0.0]"),
        (
            lambda: SimCLRViews(**{**RGB, "mean": (0.1, 0.2)}),
            "data.mean: must be 1 or 3 (data.channels) values; got [0.1, 0.2]",
        ),
        (lambda: SimCLRViews(**{**GRAY, "std": ("wide",)}), "data.std: must be a list of numbers; got ('wide',)"),
        (lambda: EvalTransform([0.0, 0.0], [1.0] * 3), "data.std: must be as many values as data.mean (2); got"),
    ],
)
def test_data_and_length_errors_get_the_standard_wording(make, message: str) -> None:
    with pytest.raises(checks.InvalidValue) as err:
        make()
    assert str(err.value).startswith(message)


@pytest.mark.parametrize("name", ["simclr", "simclr_mnist", "byol", "vicreg", "multicrop", "minimal", "none"])
def test_configs_instantiate(name: str) -> None:
    aug = instantiate(OmegaConf.load(CONFIG_DIR / f"{name}.yaml"))(**GRAY)
    views = views_of(aug, torch.rand(2, 1, 28, 28))
    assert len(views) == aug.n_views >= 2
    assert views[0].shape == (2, 1, 28, 28)
