"""Keyed samples, the epoch sampler and the collate that makes views in the workers."""

import pytest
import torch
from torch.utils.data import TensorDataset

from ssl_it.augmentation import NoAugmentation, SimCLRViews
from ssl_it.augmentation.batched import BatchedViews
from ssl_it.data import SSLDataModule, SyntheticImages
from ssl_it.data.views import EpochKeySampler, KeyedImages, ViewCollate, collate_keyed

SRC = SyntheticImages(n_samples=80, input_shape=(1, 8, 8), num_classes=4)


def simclr() -> SimCLRViews:
    return SimCLRViews(image_size=8, channels=1, mean=SRC.mean, std=SRC.std)


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


def test_worker_views_are_a_function_of_seed_epoch_index_not_of_global_rng():
    data = KeyedImages(SRC.load_images("train"))
    collate = ViewCollate(BatchedViews(simclr(), seed=7))
    torch.manual_seed(0)
    a, labels = collate([data[(2, 4)], data[(2, 9)]])
    torch.manual_seed(123)
    before = torch.get_rng_state()
    b, _ = collate([data[(2, 9)]])  # the same sample in another batch
    assert torch.equal(before, torch.get_rng_state())  # the global RNG is untouched
    for u, v in zip(a, b):  # equal up to float rounding (a batch of one takes other kernel paths)
        torch.testing.assert_close(u[1], v[0], atol=1e-6, rtol=0)
    assert not torch.equal(a[0][1], a[1][1])  # the two views of a sample differ
    c, _ = collate([data[(3, 4)]])
    assert not torch.equal(a[0][0], c[0][0])
    assert labels.tolist() == [SRC.load_images("train")[i][1] for i in (4, 9)]


def test_collate_keyed_stacks_images_and_vectors_and_keeps_encoded_files():
    vectors = KeyedImages(TensorDataset(torch.rand(4, 6), torch.arange(4)))
    batch = collate_keyed([vectors[(1, i)] for i in range(4)])
    assert batch["images"].shape == (4, 6) and batch["keys"].tolist() == [[1, i] for i in range(4)]
    files = KeyedImages(TensorDataset(torch.zeros(3, 10, dtype=torch.uint8), torch.zeros(3)))
    assert len(collate_keyed([files[i] for i in range(3)])["encoded"]) == 3


def test_datamodule_batches_and_fixed_probe_set():
    def dm(seed: int) -> SSLDataModule:
        return SSLDataModule(SRC, simclr(), lambda x: x * 2, batch_size=16, num_workers=0, probe_size=12, seed=seed)

    first = dm(5)
    first.setup()
    views, labels = next(iter(first.train_dataloader()))
    assert len(views) == 2 and views[0].shape == (16, 1, 8, 8) and labels.shape == (16,)
    x1, y1 = first.probe_set()
    x2, y2 = dm(5).probe_set()
    assert x1.shape == (12, 1, 8, 8) and torch.equal(x1, x2) and torch.equal(y1, y2)
    x3, _ = dm(6).probe_set()
    assert not torch.equal(x1, x3)
    assert float(x1.max()) > 1.0  # the eval transform (x2 here) was applied


def test_vector_data_gets_its_normalised_copies_in_the_workers():
    vectors = SyntheticImages(n_samples=40, input_shape=(6,), num_classes=2)
    aug = NoAugmentation(image_size=None, channels=None, mean=(0.5,), std=(2.0,), n_views=2)
    dm = SSLDataModule(vectors, aug, batch_size=8, num_workers=0)
    dm.setup()
    loader = dm.train_dataloader()
    (v1, v2), _ = next(iter(loader))
    raw = torch.stack([vectors.load("train")[i][0] for _, i in list(loader.sampler)[:8]])
    assert torch.equal(v1, (raw - 0.5) / 2.0) and torch.equal(v1, v2) and v1.data_ptr() != v2.data_ptr()


def test_datamodule_rejects_batch_larger_than_train_set_and_a_callable_augmentation():
    dm = SSLDataModule(
        SyntheticImages(n_samples=40, input_shape=(1, 8, 8), num_classes=4), simclr(), batch_size=64, num_workers=0
    )
    with pytest.raises(ValueError, match=r"datamodule\.batch_size"):
        dm.setup()
    with pytest.raises(ValueError, match=r"augmentation must be a view pipeline"):
        SSLDataModule(SRC, lambda x: [x, x])  # type: ignore[arg-type]
