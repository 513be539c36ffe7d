"""The DataModule: views in the workers or on the device (keys,
reproducibility, the same views in both placements), stratified probe /
validation order / evaluation subset, its own evaluation transform."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch

from ssl_it.augmentation import MultiCrop, NoAugmentation, SimCLRViews
from ssl_it.augmentation.batched import BatchedViews
from ssl_it.data import SSLDataModule, SyntheticImages
from ssl_it.data.datamodule import PROBE_VIEW_EPOCH
from ssl_it.data.sampling import stratified_order

SRC = SyntheticImages(n_samples=120, input_shape=(3, 12, 12), num_classes=4, seed=1)


def make_dm(aug=None, **kwargs) -> SSLDataModule:
    aug = aug or SimCLRViews(image_size=12, channels=3, mean=SRC.mean, std=SRC.std)
    dm = SSLDataModule(SRC, aug, **{"batch_size": 8, "num_workers": 0, "probe_size": 16, "seed": 5, **kwargs})
    dm.setup()
    return dm


def views_by_index(dm: SSLDataModule, epoch: int) -> dict[int, list[torch.Tensor]]:
    """Every training view of one epoch, by sample index: through the transfer
    hooks (views on the device) or as the loader's workers made them."""
    loader = dm.train_dataloader()
    loader.sampler.set_epoch(epoch)
    keys = iter(list(loader.sampler))
    out = {}
    for batch in loader:
        if dm.on_device:
            batch_keys = batch["keys"].tolist()
            batch = dm.on_after_batch_transfer(dm.on_before_batch_transfer(batch, 0), 0)
        views, labels = batch
        if not dm.on_device:
            batch_keys = [next(keys) for _ in labels]
        for row, (e, i) in enumerate(batch_keys):
            assert e == epoch
            out[i] = [v[row] for v in views]
    return out


def test_device_views_depend_on_seed_epoch_index_only():
    first = views_by_index(make_dm(views_on_device=True, drop_last=False), epoch=1)
    assert all(v.shape == (3, 12, 12) for views in first.values() for v in views)
    resumed = views_by_index(make_dm(views_on_device=True, drop_last=False, batch_size=24), epoch=1)  # other batches
    assert set(first) == set(resumed) == set(range(88))  # the 88 training samples (30 per class, 8 held out)
    for i in first:
        for a, b in zip(first[i], resumed[i]):
            torch.testing.assert_close(a, b, atol=1e-5, rtol=0)
    later = views_by_index(make_dm(views_on_device=True), epoch=2)
    common = sorted(set(first) & set(later))[:5]
    assert all(not torch.allclose(first[i][0], later[i][0]) for i in common)


@pytest.mark.parametrize(
    "aug",
    [
        None,
        MultiCrop(image_size=12, channels=3, mean=SRC.mean, std=SRC.std, n_local=2),
        NoAugmentation(image_size=12, channels=3, mean=SRC.mean, std=SRC.std),
    ],
    ids=["simclr", "multicrop", "none"],
)
def test_cpu_and_device_placements_draw_the_same_views_for_one_key(aug):
    """A CPU run and a GPU run of one config see the same views: here both
    placements on the CPU, the CPU one in a loader worker process."""
    in_workers = views_by_index(make_dm(aug, drop_last=False, num_workers=1), epoch=3)
    on_device = views_by_index(make_dm(aug, views_on_device=True, drop_last=False), epoch=3)
    other_batches = views_by_index(make_dm(aug, views_on_device=True, drop_last=False, batch_size=24), epoch=3)
    assert set(in_workers) == set(on_device) == set(range(88))
    for i in in_workers:  # the same batches: identical; other batches: up to float rounding
        assert all(torch.equal(a, b) for a, b in zip(in_workers[i], on_device[i]))
        for a, b in zip(in_workers[i], other_batches[i]):
            torch.testing.assert_close(a, b, atol=1e-6, rtol=0)


def test_views_on_device_auto_is_off_on_the_cpu_and_vectors_are_refused():
    assert not make_dm().on_device
    views, labels = next(iter(make_dm().train_dataloader()))
    assert views[0].shape == (8, 3, 12, 12) and labels.shape == (8,)
    vectors = SyntheticImages(n_samples=40, input_shape=(6,), num_classes=2)
    dm = SSLDataModule(
        vectors, NoAugmentation(None, None, (0.0,), (1.0,)), views_on_device=True, num_workers=0, batch_size=4
    )
    with pytest.raises(ValueError, match=r"datamodule\.views_on_device"):
        dm.setup()
    with pytest.raises(ValueError, match=r"datamodule\.views_on_device"):
        make_dm(views_on_device="yes")


def test_probe_views_are_made_the_way_training_views_are():
    dm = make_dm(views_on_device=True)
    views = dm.probe_views()
    idx = dm._probe_indices()
    images = torch.stack([dm._base(dm.probe_split, "uint8")[int(i)][0] for i in idx])
    keys = torch.tensor([[PROBE_VIEW_EPOCH, int(i)] for i in idx])
    expected = BatchedViews(dm.augmentation, dm.seed)(images, keys)
    assert len(views) == 2 and views[0].shape == (16, 3, 12, 12)
    for a, b in zip(views, expected):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=0)
    in_workers = make_dm().probe_views()  # the CPU placement: the same views, the same at every call
    assert all(torch.equal(a, b) for a, b in zip(in_workers, views))
    assert all(torch.equal(a, b) for a, b in zip(in_workers, make_dm().probe_views()))


def test_probe_set_and_eval_subset_are_stratified_and_val_order_interleaves_classes():
    dm = make_dm(eval_size=40, probe_size=12)
    x, y = dm.probe_set()
    assert x.shape == (12, 3, 12, 12) and Counter(y.tolist()) == {c: 3 for c in range(4)}
    eval_labels = torch.cat([b[1] for b in dm.train_eval_dataloader()])
    assert Counter(eval_labels.tolist()) == {c: 10 for c in range(4)}
    assert dm.train_eval_dataloader() is dm.train_eval_dataloader()  # one loader, kept
    first_batch = next(iter(dm.val_dataloader()))[1][:8]
    assert Counter(first_batch.tolist()) == {c: 2 for c in range(4)}  # a prefix holds every class


def test_stratified_order_prefixes_keep_class_proportions():
    labels = np.repeat(np.arange(5), [50, 30, 10, 5, 5])  # sorted, unbalanced
    order = stratified_order(labels, seed=0)
    assert sorted(order.tolist()) == list(range(100))
    for m in (10, 37, 64):
        counts = np.bincount(labels[order[:m]], minlength=5)
        expected = m * np.array([50, 30, 10, 5, 5]) / 100
        assert np.abs(counts - expected).max() <= 1.0
    assert not np.array_equal(order, stratified_order(labels, seed=1))


def test_eval_transform_is_built_from_the_source():
    dm = make_dm()
    x, _ = dm.val_set[0]
    raw, _ = dm._base("val")[0]
    mean, std = torch.tensor(SRC.mean).view(-1, 1, 1), torch.tensor(SRC.std).view(-1, 1, 1)
    torch.testing.assert_close(x, (raw - mean) / std)
