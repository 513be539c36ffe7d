"""Tensor ops of the view pipelines against torchvision and closed forms."""

from __future__ import annotations

import pytest
import torch
from torchvision.transforms.v2 import functional as tvf

from ssl_it.augmentation import functional as fn
from ssl_it.augmentation.validation import blur_kernel


@pytest.mark.parametrize("shift", [-0.5, -0.2, 0.0, 0.1, 0.37, 0.5])
def test_adjust_hue_equals_torchvision(shift: float) -> None:
    torch.manual_seed(0)
    x = torch.rand(3, 16, 16)
    x[:, :2, :2] = 0.5  # gray pixels: hue undefined, must stay gray
    x[0, 5, 5] = x[1, 5, 5]  # ties between channels
    assert torch.allclose(fn.adjust_hue(x, shift), tvf.adjust_hue(x, shift), atol=1e-5)


@pytest.mark.parametrize("channels,kernel,sigma", [(1, 3, 0.5), (3, 3, 2.0), (3, 9, 1.3), (1, 23, 4.0)])
def test_gaussian_blur_equals_torchvision(channels: int, kernel: int, sigma: float) -> None:
    torch.manual_seed(0)
    x = torch.rand(channels, 28, 28)
    expected = tvf.gaussian_blur(x, [kernel, kernel], [sigma, sigma])
    assert torch.allclose(fn.gaussian_blur(x, kernel, sigma), expected, atol=1e-5)


def test_gray_equals_torchvision_and_grayscale_is_noop_on_one_channel() -> None:
    torch.manual_seed(0)
    x = torch.rand(3, 8, 8)
    assert torch.allclose(fn.gray(x), tvf.rgb_to_grayscale(x), atol=1e-6)
    assert torch.allclose(fn.to_grayscale(x), tvf.rgb_to_grayscale(x, num_output_channels=3), atol=1e-6)
    one = torch.rand(1, 8, 8)
    assert torch.equal(fn.to_grayscale(one), one)


def test_saturation_and_hue_leave_one_channel_unchanged() -> None:
    torch.manual_seed(0)
    x = torch.rand(1, 10, 10)
    assert torch.equal(fn.color_jitter(x, 0.0, 0.0, 0.8, 0.5), x)


def test_brightness_jitter_scales_within_range() -> None:
    torch.manual_seed(1)
    x = torch.full((1, 4, 4), 0.25)
    y = fn.color_jitter(x, 0.5, 0.0, 0.0, 0.0)
    factor = (y / x).unique()
    assert factor.numel() == 1 and 0.5 <= factor.item() <= 1.5


def test_crop_params_respect_scale_and_bounds() -> None:
    torch.manual_seed(0)
    for _ in range(200):
        top, left, h, w = fn.crop_params(28, 28, (0.3, 0.6), (3 / 4, 4 / 3))
        assert 0 <= top <= 28 - h and 0 <= left <= 28 - w
        # rounding of h and w moves the area by at most ~one row and column
        assert 0.3 * 784 - h - w - 1 <= h * w <= 0.6 * 784 + h + w + 1
        assert 3 / 4 - 0.15 <= w / h <= 4 / 3 + 0.15


def test_resized_crop_keeps_value_range_and_size() -> None:
    torch.manual_seed(0)
    x = 0.2 + 0.5 * torch.rand(3, 32, 32)
    for size in (12, 32, 48):
        y = fn.resized_crop(x, 3, 5, 20, 17, size)
        assert y.shape == (3, size, size)
        assert y.min() >= 0.2 - 1e-6 and y.max() <= 0.7 + 1e-6
    assert torch.equal(fn.resized_crop(x, 0, 0, 32, 32, 32), x)


def test_solarize_inverts_above_threshold() -> None:
    x = torch.tensor([[[0.0, 0.49, 0.5, 0.8, 1.0]]])
    assert torch.allclose(fn.solarize(x), torch.tensor([[[0.0, 0.49, 0.5, 0.2, 0.0]]]))


@pytest.mark.parametrize("size,kernel", [(28, 3), (32, 3), (96, 9), (224, 23), (8, 3), (2, 1)])
def test_default_blur_kernel_is_ten_percent_and_odd(size: int, kernel: int) -> None:
    assert blur_kernel(None, size) == kernel
