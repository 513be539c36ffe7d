"""Weighted kNN: hand-computed votes, separated clusters, chunking, errors, end to end."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
import torch

from ssl_it.callbacks import KNNClassifier
from ssl_it.callbacks.knn import knn_predict
from ssl_it.train import train

# bank on the unit circle: cosine similarities to the query (1, 0) are 1, 0, 0.6, -1
BANK = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8], [-1.0, 0.0]])
LABELS = torch.tensor([0, 1, 1, 0])
QUERY = torch.tensor([[2.0, 0.0]])  # not normalised: the function normalises


def test_weighted_vote_matches_hand_computation():
    """k=3 neighbours: sims 1 (class 0), 0.6 and 0 (class 1). At T=0.5 the
    weights exp(s/T) are e^2 for class 0 and e^1.2 + e^0 for class 1, so the
    nearer class 0 wins although class 1 has the majority of the votes."""
    scores = knn_predict(BANK, LABELS, QUERY, num_classes=2, k=3, temperature=0.5)
    assert scores.shape == (1, 2)
    assert scores[0, 0].item() == pytest.approx(math.exp(2.0), rel=1e-6)
    assert scores[0, 1].item() == pytest.approx(math.exp(1.2) + 1.0, rel=1e-6)
    assert scores.argmax(1).item() == 0


def test_high_temperature_turns_the_vote_into_a_majority():
    scores = knn_predict(BANK, LABELS, QUERY, num_classes=2, k=3, temperature=100.0)
    assert scores[0, 1].item() == pytest.approx(math.exp(0.006) + 1.0, rel=1e-6)
    assert scores.argmax(1).item() == 1


def test_two_separated_clusters_are_classified_perfectly():
    gen = torch.Generator().manual_seed(0)
    centres = torch.tensor([[5.0] + [0.0] * 7, [0.0] * 7 + [5.0]])
    bank_labels = torch.arange(200) % 2
    bank = centres[bank_labels] + 0.3 * torch.randn(200, 8, generator=gen)
    query_labels = torch.arange(50) % 2
    queries = centres[query_labels] + 0.3 * torch.randn(50, 8, generator=gen)
    pred = knn_predict(bank, bank_labels, queries, num_classes=2, k=20, temperature=0.07).argmax(1)
    assert (pred == query_labels).float().mean().item() == 1.0


def test_chunking_and_k_above_the_bank_size():
    gen = torch.Generator().manual_seed(1)
    bank, queries = torch.randn(30, 5, generator=gen), torch.randn(17, 5, generator=gen)
    labels = torch.randint(0, 3, (30,), generator=gen)
    whole = knn_predict(bank, labels, queries, 3, k=7, chunk_size=1024)
    assert torch.allclose(knn_predict(bank, labels, queries, 3, k=7, chunk_size=4), whole)
    all_neighbours = knn_predict(bank, labels, queries, 3, k=100, temperature=1.0)  # k capped at 30
    sims = torch.nn.functional.normalize(queries, dim=1) @ torch.nn.functional.normalize(bank, dim=1).T
    expected = torch.stack([(sims.exp() * (labels == c)).sum(1) for c in range(3)], dim=1)
    assert torch.allclose(all_neighbours, expected, atol=1e-5)


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"k": 0}, "callbacks.knn.k"),
        ({"temperature": 0.0}, "callbacks.knn.temperature"),
        ({"chunk_size": 0}, "callbacks.knn.chunk_size"),
        ({"num_classes": 1}, "callbacks.knn.num_classes"),
    ],
)
def test_bad_arguments_name_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field.replace(".", r"\.")):
        KNNClassifier(**kwargs)


def test_training_run_logs_knn_and_diagnostics(make_cfg, tmp_path):
    train(make_cfg())  # one epoch
    with (Path(tmp_path) / "run" / "metrics.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    knn = [float(r["val/knn_acc"]) for r in rows if r.get("val/knn_acc")]
    assert len(knn) == 1 and all(0.0 <= a <= 1.0 for a in knn)
    for layer, dim in (("backbone", 128), ("projector", 1024)):
        std = [float(r[f"diagnostics/{layer}/std"]) for r in rows if r.get(f"diagnostics/{layer}/std")]
        rank_key = f"diagnostics/{layer}/effective_rank"
        rank = [float(r[rank_key]) for r in rows if r.get(rank_key)]
        unif = [float(r[f"diagnostics/{layer}/uniformity"]) for r in rows if r.get(f"diagnostics/{layer}/uniformity")]
        align = [float(r[f"diagnostics/{layer}/alignment"]) for r in rows if r.get(f"diagnostics/{layer}/alignment")]
        assert len(std) == len(rank) == len(unif) == len(align) == 1
        assert all(0.0 <= s <= 1.0 / math.sqrt(dim) + 1e-9 for s in std)  # mean std <= sqrt(mean var) <= 1/sqrt(d)
        assert all(1.0 <= r <= 32 for r in rank)  # at most min(n_probe=32, d)
        assert all(-4.0 * 2.0 <= u <= 0.0 for u in unif) and all(0.0 <= a <= 4.0 for a in align)


def test_knn_bank_and_linear_evaluation_share_one_feature_pass(make_cfg, tmp_path, monkeypatch):
    """The final validation's kNN pass over the training subset (and its
    validation features) is the linear evaluation's: the training subset is
    read once per validation, and ``eval_size`` caps it (stratified)."""
    import ssl_it.callbacks.probe_cache as cache_module

    calls = []
    real = cache_module.probe_pass

    def counting(module, batches, layers, **kwargs):
        reps, labels = real(module, batches, layers, **kwargs)
        if not isinstance(batches, list):  # a loader (training subset or validation split), not the probe set
            calls.append(len(labels))
        return reps, labels

    monkeypatch.setattr(cache_module, "probe_pass", counting)
    train(make_cfg("trainer.max_epochs=2", "datamodule.eval_size=40"))
    assert calls == [40, 40]  # one bank per validation (2 epochs); the linear evaluation recomputed nothing
    rows = list(csv.DictReader((Path(tmp_path) / "run" / "metrics.csv").open(newline="")))
    assert [r for r in rows if r.get("final/linear_eval_top1")]
