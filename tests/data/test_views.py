import torch
from torch.utils.data import TensorDataset

from ssl_it.data import SSLDataModule, SyntheticImages
from ssl_it.data.views import EpochKeySampler, MultiViewDataset


def noisy_views(x: torch.Tensor) -> list[torch.Tensor]:
    return [x + torch.randn_like(x), x + torch.randn_like(x)]


def test_sampler_order_depends_only_on_seed_and_epoch():
    s = EpochKeySampler(10, seed=1)
    s.set_epoch(3)
    first = list(s)
    s.set_epoch(0)
    list(s)
    s.set_epoch(3)
    assert list(s) == first
    assert sorted(i for _, i in first) == list(range(10)) and {e for e, _ in first} == {3}
    s.set_epoch(4)
    assert [i for _, i in s] != [i for _, i in first]


def test_views_are_a_function_of_seed_epoch_index_not_of_global_rng():
    ds = MultiViewDataset(TensorDataset(torch.zeros(5, 3), torch.zeros(5)), noisy_views, seed=7)
    torch.manual_seed(0)
    a, _ = ds[(2, 4)]
    torch.manual_seed(123)
    b, _ = ds[(2, 4)]
    assert all(torch.equal(u, v) for u, v in zip(a, b))
    assert not torch.equal(a[0], a[1])
    c, _ = ds[(3, 4)]
    assert not torch.equal(a[0], c[0])
    before = torch.get_rng_state()
    ds[(0, 0)]
    assert torch.equal(before, torch.get_rng_state())  # the global RNG is untouched


def test_datamodule_batches_and_fixed_probe_set():
    src = SyntheticImages(n_samples=80, input_shape=(1, 8, 8), num_classes=4)
    dm = SSLDataModule(src, noisy_views, lambda x: x * 2, batch_size=16, num_workers=0, probe_size=12, seed=5)
    dm.setup()
    views, labels = next(iter(dm.train_dataloader()))
    assert len(views) == 2 and views[0].shape == (16, 1, 8, 8) and labels.shape == (16,)
    x1, y1 = dm.probe_set()
    x2, y2 = SSLDataModule(src, noisy_views, lambda x: x * 2, batch_size=16, probe_size=12, seed=5, num_workers=0).probe_set()
    assert x1.shape == (12, 1, 8, 8) and torch.equal(x1, x2) and torch.equal(y1, y2)
    x3, _ = SSLDataModule(src, noisy_views, lambda x: x * 2, batch_size=16, probe_size=12, seed=6, num_workers=0).probe_set()
    assert not torch.equal(x1, x3)
    assert float(x1.max()) > 1.0  # the eval transform (x2 here) was applied


def test_datamodule_rejects_batch_larger_than_train_set():
    import pytest

    src = SyntheticImages(n_samples=40, input_shape=(1, 8, 8), num_classes=4)
    dm = SSLDataModule(src, noisy_views, lambda x: x, batch_size=64, num_workers=0)
    with pytest.raises(ValueError, match=r"datamodule\.batch_size"):
        dm.setup()
