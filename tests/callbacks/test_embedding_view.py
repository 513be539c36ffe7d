"""The embedding view: a t-SNE picture per information-plane evaluation, in
the run folder, in W&B and in TensorBoard; and the t-SNE it draws with."""

from __future__ import annotations

import csv
import math

import pytest
import torch
from omegaconf import OmegaConf

from ssl_it import checks
from ssl_it.callbacks.embedding_view import EmbeddingView
from ssl_it.callbacks.tsne import conditional_probabilities, joint_probabilities, kl_divergence, pca, tsne
from ssl_it.train import train
from tests.wandb_files import offline_run_files, read_offline_run


def test_each_rows_perplexity_is_the_one_asked_for():
    x = torch.randn(200, 10, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    cond = conditional_probabilities(x, perplexity=20.0)
    entropy = -(cond * cond.clamp_min(1e-300).log()).sum(1)
    assert torch.allclose(entropy, torch.full((200,), math.log(20.0), dtype=torch.float64), atol=1e-6)
    assert cond.diagonal().abs().max().item() == 0.0
    p = joint_probabilities(x, perplexity=20.0)
    assert p.sum().item() == pytest.approx(1.0) and torch.allclose(p, p.T)


def test_tsne_separates_clusters_and_matches_scikit_learns_objective():
    from sklearn.manifold import TSNE

    g = torch.Generator().manual_seed(0)
    labels = torch.arange(300) % 3
    x = torch.randn(3, 20, generator=g, dtype=torch.float64)[labels] * 4 + torch.randn(
        300, 20, generator=g, dtype=torch.float64
    )
    y = tsne(x, perplexity=30, n_iter=300)
    assert y.shape == (300, 2)
    nearest = torch.cdist(y, y).fill_diagonal_(math.inf).argmin(1)
    assert (labels[nearest] == labels).float().mean().item() == 1.0  # every point's 2-D neighbour shares its cluster
    p = joint_probabilities(pca(x, 50), 30)
    theirs = TSNE(2, perplexity=30, init="pca", random_state=0, method="exact").fit_transform(x.numpy())
    ours, reference = kl_divergence(p, y), kl_divergence(p, torch.from_numpy(theirs))
    assert ours <= reference * 1.10, (ours, reference)


def test_a_warm_start_keeps_the_previous_layout():
    x = torch.randn(64, 8, generator=torch.Generator().manual_seed(1))
    first = tsne(x, n_iter=200)
    again = tsne(x, n_iter=30, init=first)
    assert (again - first).norm() / first.norm() < 0.2


def test_too_few_points_are_refused():
    with pytest.raises(ValueError, match="n >= 4"):
        tsne(torch.zeros(3, 5))


def test_the_view_is_saved_and_logged_at_each_evaluation(make_cfg, tmp_path):
    cfg = make_cfg("logger=wandb", "trainer.max_epochs=2", "infoplane.every_n_epochs=1", "callbacks.linear_eval=null")
    train(cfg)
    run_dir = tmp_path / "run"
    steps = sorted(int(p.stem.split("_")[1]) for p in (run_dir / "embeddings").glob("step_*.png"))
    with (run_dir / "infoplane.csv").open(newline="") as f:
        infoplane_steps = sorted({int(float(r["step"])) for r in csv.DictReader(f)})
    assert steps == infoplane_steps == [0, 4, 8]  # 4 batches an epoch: at start, after each of 2 epochs
    run = read_offline_run(offline_run_files(run_dir)[0])
    logged = [r for r in run["history"] if "embeddings/figure" in r]
    assert len(logged) == 3 and all(r["embeddings/figure"]["_type"] == "image-file" for r in logged)
    assert [r["trainer/global_step"] for r in logged] == steps


def test_the_view_goes_to_tensorboard(make_cfg, tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    train(make_cfg("logger=tensorboard", "callbacks.linear_eval=null", "infoplane=none"))
    (folder,) = {p.parent for p in (tmp_path / "run" / "tensorboard").rglob("events.out.tfevents.*")}
    events = EventAccumulator(str(folder), size_guidance={"images": 0})
    events.Reload()
    images = events.Images("embeddings/figure")
    assert [i.step for i in images] == [0, 1, 2, 4] and images[0].width > 100


def test_debug_fast_has_no_view(make_cfg):
    assert OmegaConf.select(make_cfg("debug=fast", fast=False), "callbacks.embedding_view") is None


def test_an_empty_layer_list_gets_the_standard_wording(tmp_path):
    with pytest.raises(checks.InvalidValue) as err:
        EmbeddingView(str(tmp_path), layers=[])
    assert str(err.value) == "callbacks.embedding_view.layers: must be a non-empty list of layer names; got []"
