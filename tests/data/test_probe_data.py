"""The ProbeData protocol: one interface to measurement data, implemented by the DataModule."""

from __future__ import annotations

import pytest
import torch

from ssl_it.augmentation import MultiView, Normalize, SimCLRViews, ViewRecipe
from ssl_it.data import InMemoryProbeData, ProbeData, SSLDataModule, SyntheticImages

SRC = SyntheticImages(n_samples=120, input_shape=(3, 12, 12), num_classes=4, seed=1)


def make_dm(aug=None, **kwargs) -> SSLDataModule:
    aug = aug or SimCLRViews(image_size=12, channels=3, mean=SRC.mean, std=SRC.std)
    return SSLDataModule(
        SRC, aug, **{"batch_size": 8, "num_workers": 0, "probe_size": 16, "seed": 5, "eval_size": 40, **kwargs}
    )


def joined(batches) -> tuple[torch.Tensor, torch.Tensor]:
    xs, ys = zip(*batches)
    return torch.cat(xs), torch.cat(ys)


def test_the_datamodule_serves_every_source_through_the_protocol():
    dm: ProbeData = make_dm()
    assert dm.num_classes == 4
    x, y = joined(dm.probe_batches("probe"))
    px, py = make_dm().probe_set()
    assert torch.equal(x, px) and torch.equal(y, py) and dm.probe_count("probe") == 16
    views = make_dm().probe_views()
    for i, source in enumerate(("view0", "view1")):
        v, vy = joined(dm.probe_batches(source))
        assert torch.equal(v, views[i]) and torch.equal(vy, py) and dm.probe_count(source) == 16
    assert dm.probe_batches("view0")[0][0] is dm.probe_batches("view0")[0][0]  # drawn once
    train_x, train_y = joined(dm.probe_batches("train_eval"))
    assert train_x.shape == (40, 3, 12, 12) and dm.probe_count("train_eval") == 40
    val_x, val_y = joined(dm.probe_batches("val"))
    assert len(val_y) == dm.probe_count("val") == len(dm.val_set)


def test_no_view_sources_when_the_first_two_views_differ_in_shape():
    class GlobalAndLocal(MultiView):
        def __init__(self) -> None:
            self.views, self.normalize = [ViewRecipe(size=12), ViewRecipe(size=6)], Normalize(SRC.mean, SRC.std, 3)
            self.n_global_views, self.global_size, self.local_size = 1, 12, 6

    dm = make_dm(GlobalAndLocal())
    assert dm.probe_count("view0") == 0 and dm.probe_count("probe") == 16
    with pytest.raises(ValueError, match="no two views of one shape"):
        dm.probe_batches("view1")


def test_in_memory_probe_data_serves_what_it_was_given():
    x, y = torch.randn(6, 3), torch.tensor([0, 1, 2, 0, 1, 2])
    data = InMemoryProbeData(x, y, [x + 1, x - 1])
    assert data.num_classes == 3 and data.probe_count("view1") == 6 and data.probe_count("val") == 0
    assert torch.equal(data.probe_batches("view1")[0][0], x - 1)
    assert InMemoryProbeData(x, y, [x, torch.randn(6, 2)]).probe_count("view0") == 0
    with pytest.raises(ValueError, match="'val'"):
        data.probe_batches("val")
