"""Pixel kernels of the batched views against torchvision and closed forms."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torchvision.transforms.v2 import functional as tvf

from ssl_it.augmentation import kernels
from ssl_it.augmentation.batched import crop_boxes
from ssl_it.augmentation.keyed import keyed_uniform
from ssl_it.augmentation.validation import blur_kernel


def test_adjust_hue_equals_torchvision_with_one_shift_per_sample() -> None:
    torch.manual_seed(0)
    x = torch.rand(6, 3, 16, 16)
    x[:, :, :2, :2] = 0.5  # gray pixels: hue undefined, must stay gray
    x[:, 0, 5, 5] = x[:, 1, 5, 5]  # ties between channels
    shifts = torch.tensor([-0.5, -0.2, 0.0, 0.1, 0.37, 0.5])
    expected = torch.stack([tvf.adjust_hue(x[i], float(s)) for i, s in enumerate(shifts)])
    torch.testing.assert_close(kernels.adjust_hue(x, shifts), expected, atol=1e-5, rtol=0)


@pytest.mark.parametrize("channels,kernel", [(1, 3), (3, 3), (3, 9), (1, 23)])
def test_gaussian_blur_equals_torchvision_with_one_sigma_per_sample(channels: int, kernel: int) -> None:
    torch.manual_seed(0)
    x = torch.rand(3, channels, 28, 28)
    sigmas = torch.tensor([0.5, 1.3, 4.0])
    expected = torch.stack(
        [tvf.gaussian_blur(x[i], [kernel, kernel], [float(s), float(s)]) for i, s in enumerate(sigmas)]
    )
    torch.testing.assert_close(kernels.gaussian_blur(x, sigmas, kernel), expected, atol=1e-5, rtol=0)


def test_grayscale_and_colour_steps_equal_torchvision() -> None:
    # to 2e-4: kornia's luma weighs red 0.299, torchvision's 0.2989
    torch.manual_seed(0)
    x = torch.rand(2, 3, 8, 8)
    torch.testing.assert_close(
        kernels.to_grayscale(x), tvf.rgb_to_grayscale(x, num_output_channels=3), atol=2e-4, rtol=0
    )
    f = torch.tensor([0.6, 1.4])
    for kind, tv in (
        ("brightness", tvf.adjust_brightness),
        ("contrast", tvf.adjust_contrast),
        ("saturation", tvf.adjust_saturation),
    ):
        expected = torch.stack([tv(x[i], float(f[i])) for i in range(2)])
        torch.testing.assert_close(kernels.jitter(kind, x, f), expected, atol=2e-4, rtol=0)


def test_crop_boxes_respect_scale_and_bounds() -> None:
    u = keyed_uniform(np.column_stack([np.zeros(500, int), np.arange(500)]), 40)
    boxes = crop_boxes(u, 28, 28, (0.3, 0.6), (3 / 4, 4 / 3))
    left, top, right, bottom = boxes.T
    h, w = bottom - top, right - left
    assert (left >= 0).all() and (top >= 0).all() and (right <= 28).all() and (bottom <= 28).all()
    # rounding of h and w moves the area by at most ~one row and column
    assert (0.3 * 784 - h - w - 1 <= h * w).all() and (h * w <= 0.6 * 784 + h + w + 1).all()
    assert (3 / 4 - 0.15 <= w / h).all() and (w / h <= 4 / 3 + 0.15).all()


def test_resized_crops_keep_value_range_and_size() -> None:
    torch.manual_seed(0)
    x = 0.2 + 0.5 * torch.rand(2, 3, 32, 32)
    boxes = torch.tensor([[0.0, 5, 3, 22, 23], [1.0, 0, 0, 32, 32]])
    for size in (12, 32, 48):
        y = kernels.resized_crops(x, boxes, size)
        assert y.shape == (2, 3, size, size)
        assert y.min() >= 0.2 - 1e-6 and y.max() <= 0.7 + 1e-6
    torch.testing.assert_close(kernels.resized_crops(x, boxes, 32)[1], x[1], atol=1e-6, rtol=0)


def test_solarize_inverts_above_threshold() -> None:
    x = torch.tensor([[[[0.0, 0.49, 0.5, 0.8, 1.0]]]])
    assert torch.allclose(kernels.solarize(x), torch.tensor([[[[0.0, 0.49, 0.5, 0.2, 0.0]]]]))


def test_fit_resizes_the_shorter_side_and_centre_crops() -> None:
    x = torch.rand(2, 3, 20, 30)
    assert kernels.fit(x, 10).shape == (2, 3, 10, 10)
    assert torch.equal(kernels.fit(x[..., :20], 20), x[..., :20])
    flat = torch.full((1, 1, 16, 24), 0.4)
    torch.testing.assert_close(kernels.fit(flat, 8), torch.full((1, 1, 8, 8), 0.4))


@pytest.mark.parametrize("size,kernel", [(28, 3), (32, 3), (96, 9), (224, 23), (8, 3), (2, 1)])
def test_default_blur_kernel_is_ten_percent_and_odd(size: int, kernel: int) -> None:
    assert blur_kernel(None, size) == kernel
