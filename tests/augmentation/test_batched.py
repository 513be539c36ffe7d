"""Batched views on the device: keyed parameters, exact ops on fixed inputs,
torchvision's crop distribution, independence from the batch."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torchvision.transforms import v2

from ssl_it.augmentation import BYOLViews, Minimal, MultiCrop, NoAugmentation, SimCLRViews
from ssl_it.augmentation.batched import BatchedViews, crop_boxes
from ssl_it.augmentation.keyed import keyed_uniform

RGB = dict(image_size=32, channels=3, mean=(0.0,) * 3, std=(1.0,) * 3)  # views in the [0, 1] pixel scale


def keys_of(indices: list[int], epoch: int = 0) -> torch.Tensor:
    return torch.tensor([[epoch, i] for i in indices])


def test_keyed_uniform_is_a_function_of_each_row_only():
    keys = np.array([[0, 1, 2, 3], [0, 1, 2, 4], [5, 1, 2, 3]])
    u = keyed_uniform(keys, 7)
    assert u.shape == (3, 7) and (u >= 0).all() and (u < 1).all()
    np.testing.assert_array_equal(keyed_uniform(keys[[2, 0]], 7), u[[2, 0]])
    assert len(np.unique(u)) == u.size  # distinct keys and draws give distinct numbers


def test_keyed_uniform_is_uniform_and_uncorrelated():
    keys = np.column_stack([np.zeros(20_000, int), np.arange(20_000)])
    u = keyed_uniform(keys, 2)
    # mean 1/2 +- 3 s.e. (s.e. = sqrt(1/12 / n) = 0.002), variance 1/12
    assert abs(u.mean() - 0.5) < 0.006 and abs(u.var() - 1 / 12) < 0.003
    assert abs(np.corrcoef(u[:, 0], u[:, 1])[0, 1]) < 0.03  # 3 s.e. of r = 1/sqrt(n)
    assert abs(np.corrcoef(u[:-1, 0], u[1:, 0])[0, 1]) < 0.03  # neighbouring indices


def test_keyed_uniform_rejects_bad_keys():
    with pytest.raises(ValueError, match="non-negative"):
        keyed_uniform(np.array([[0, -1]]), 3)
    with pytest.raises(ValueError, match="batch, key_length"):
        keyed_uniform(np.array([1, 2]), 3)


def test_crop_boxes_follow_torchvision_random_resized_crop():
    n, size, scale, ratio = 20_000, 64, (0.08, 1.0), (3 / 4, 4 / 3)
    u = keyed_uniform(np.column_stack([np.zeros(n, int), np.arange(n)]), 40)
    boxes = crop_boxes(u, size, size, scale, ratio)
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    assert (boxes[:, :2] >= 0).all() and (boxes[:, 2] <= size).all() and (boxes[:, 3] <= size).all()
    torch.manual_seed(0)
    ref = np.array(
        [v2.RandomResizedCrop.get_params(torch.zeros(1, size, size), list(scale), list(ratio)) for _ in range(4000)]
    )  # (top, left, h, w)
    ours, theirs = (w * h) / size**2, ref[:, 2] * ref[:, 3] / size**2
    # same area-fraction distribution: means within 3 standard errors (s.e. of 4,000 draws ~ 0.0045)
    assert abs(ours.mean() - theirs.mean()) < 0.014 and abs(np.median(ours) - np.median(theirs)) < 0.02
    assert ours.min() >= 0.08 * 0.9 and ours.max() <= 1.0


def test_full_crop_without_colour_is_the_image_and_flip_is_exact():
    x = torch.randint(0, 256, (5, 3, 32, 32), dtype=torch.uint8)
    full = dict(scale=(1.0, 1.0), ratio=(1.0, 1.0))
    same = BatchedViews(Minimal(**RGB, flip_prob=0.0, **full), seed=0)(x, keys_of(range(5)))
    flipped = BatchedViews(Minimal(**RGB, flip_prob=1.0, **full), seed=0)(x, keys_of(range(5)))
    torch.testing.assert_close(same[0], x.float() / 255, atol=1e-6, rtol=0)
    torch.testing.assert_close(flipped[1], x.float().flip(-1) / 255, atol=1e-6, rtol=0)


def test_brightness_only_jitter_scales_each_sample_by_its_own_factor():
    x = torch.full((64, 3, 8, 8), 100, dtype=torch.uint8)
    aug = SimCLRViews(
        image_size=8,
        channels=3,
        mean=(0.0,) * 3,
        std=(1.0,) * 3,
        scale=(1.0, 1.0),
        ratio=(1.0, 1.0),
        flip_prob=0.0,
        jitter_prob=1.0,
        brightness=0.5,
        contrast=0.0,
        saturation=0.0,
        hue=0.0,
        grayscale_prob=0.0,
        blur_prob=0.0,
    )
    view = BatchedViews(aug, seed=1)(x, keys_of(range(64)))[0]
    factors = view[:, 0, 0, 0] / (100 / 255)
    assert torch.allclose(view, view[:, :1, :1, :1].expand_as(view))  # constant images stay constant
    assert factors.min() >= 0.5 - 1e-5 and factors.max() <= 1.5 + 1e-5 and factors.std() > 0.2  # U(0.5, 1.5): sd 0.29


@pytest.mark.parametrize(
    "make",
    [
        lambda: SimCLRViews(**RGB),
        lambda: BYOLViews(**RGB),
        lambda: MultiCrop(**RGB, n_local=2),
        lambda: NoAugmentation(**RGB),
    ],
)
def test_views_of_a_sample_do_not_depend_on_its_batch(make):
    aug = make()
    x = torch.randint(0, 256, (12, 3, 32, 32), dtype=torch.uint8)
    whole = BatchedViews(aug, seed=3)(x, keys_of(range(12), epoch=2))
    part = BatchedViews(aug, seed=3)(x[[7, 2, 9]], keys_of([7, 2, 9], epoch=2))  # another batch, size, order
    assert [tuple(v.shape[1:]) for v in whole] == [(3, s, s) for s in aug.view_sizes]
    for a, b in zip(whole, part):
        torch.testing.assert_close(a[[7, 2, 9]], b, atol=1e-5, rtol=0)
    other_epoch = BatchedViews(aug, seed=3)(x, keys_of(range(12), epoch=3))
    if not isinstance(aug, NoAugmentation):
        assert not torch.allclose(whole[0], other_epoch[0])
        assert not torch.allclose(whole[0], whole[1])  # two views of one sample differ


def test_views_stay_in_range_and_grayscale_images_work():
    x = torch.randint(0, 256, (16, 1, 28, 28), dtype=torch.uint8)
    aug = SimCLRViews(image_size=28, channels=1, mean=(0.0,), std=(1.0,))
    views = BatchedViews(aug, seed=0)(x, keys_of(range(16)))
    assert all(v.shape == (16, 1, 28, 28) and v.min() >= 0 and v.max() <= 1 for v in views)


def test_plan_is_on_the_host_and_reads_nothing_back():
    aug = SimCLRViews(**RGB)
    bv = BatchedViews(aug, seed=0)
    plans = bv.plan(keys_of(range(40)), 32, 32)
    assert all(t.device.type == "cpu" for p in plans for t in p.values())
    jittered = sum(p[f"{k}@{s}"].numel() for p in plans for k in ("brightness",) for s in range(4))
    assert 2 * 40 * 0.8 - 3 * math.sqrt(80 * 0.16) < jittered < 2 * 40 * 0.8 + 3 * math.sqrt(80 * 0.16)


def test_saturation_and_hue_leave_one_channel_images_unchanged():
    x = torch.randint(0, 256, (16, 1, 28, 28), dtype=torch.uint8)
    crop = dict(image_size=28, channels=1, mean=(0.0,), std=(1.0,), flip_prob=0.0, blur_prob=0.0)
    colour = SimCLRViews(
        **crop, jitter_prob=1.0, brightness=0.0, contrast=0.0, saturation=0.8, hue=0.5, grayscale_prob=1.0
    )
    plain = SimCLRViews(**crop, jitter_prob=0.0, grayscale_prob=0.0)
    for a, b in zip(
        BatchedViews(colour, seed=2)(x, keys_of(range(16))), BatchedViews(plain, seed=2)(x, keys_of(range(16)))
    ):
        assert torch.equal(a, b)
