"""KSG's compiled KD-tree search (ssl_it.estimators.ksg_tree) against the chunked brute-force search."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ssl_it import synthetic
from ssl_it.estimators import KSGMI
from ssl_it.estimators.ksg import _ksg_brute
from ssl_it.estimators.ksg_tree import build_tree, joint_knn, ksg_tree_counts, radius_counts
from ssl_it.estimators.pairwise import space_dists

METRICS = ("max", "euclidean")


def _standardize_and_jitter(t: np.ndarray, seed: int, noise: float = 1e-10) -> np.ndarray:
    t = (t - t.mean(0)) / t.std(0, ddof=1)
    return t + noise * np.random.default_rng(seed).standard_normal(t.shape)


def _pairs(name: str) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(31)
    if name == "gauss5":
        s = synthetic.correlated_gaussian(2500, 5, synthetic.rho_for_mi(1.0, 5), seed=32)
        return _standardize_and_jitter(np.asarray(s.x), 1), _standardize_and_jitter(np.asarray(s.y), 2)
    if name == "unequal":  # 2 + 7 dimensions, heavy tails
        x = rng.standard_t(2, (2000, 2))
        y = np.hstack([x, rng.standard_normal((2000, 5))]) + rng.standard_t(3, (2000, 7))
        return _standardize_and_jitter(x, 3), _standardize_and_jitter(y, 4)
    if name == "discrete":  # few distinct values per column, ties broken by the estimator's jitter
        x = rng.integers(0, 4, (2000, 3)).astype(float)
        y = np.hstack([x[:, :1], rng.integers(0, 3, (2000, 2))]).astype(float)
        return _standardize_and_jitter(x, 5), _standardize_and_jitter(y, 6)
    raise ValueError(name)


@pytest.mark.parametrize("data", ["gauss5", "unequal", "discrete"])
@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("algorithm", [1, 2])
def test_counts_equal_brute_force(data: str, metric: str, algorithm: int) -> None:
    x, y = _pairs(data)
    nx, ny = ksg_tree_counts(x, y, 3, algorithm, metric)
    bx, by = _ksg_brute(torch.from_numpy(x), torch.from_numpy(y), 3, algorithm, metric)
    assert np.array_equal(nx, bx)
    assert np.array_equal(ny, by)


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("k", [1, 4])
def test_exact_ties_algorithm_1(metric: str, k: int) -> None:
    # Integer lattice without jitter: many equal distances, duplicates included;
    # algorithm 1 depends only on distance values, so ties cannot split the paths.
    rng = np.random.default_rng(33)
    x = rng.integers(0, 5, (1500, 2)).astype(float)
    y = (x[:, :1] + rng.integers(0, 2, (1500, 1))).astype(float)
    nx, ny = ksg_tree_counts(x, y, k, 1, metric)
    bx, by = _ksg_brute(torch.from_numpy(x), torch.from_numpy(y), k, 1, metric)
    assert np.array_equal(nx, bx)
    assert np.array_equal(ny, by)


@pytest.mark.parametrize("metric", METRICS)
def test_joint_knn_distances_equal_brute_force(metric: str) -> None:
    x, y = _pairs("gauss5")
    dist, idx = joint_knn(x, y, 5, metric)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    joint = torch.maximum(space_dists(tx, tx, metric), space_dists(ty, ty, metric))  # (N, N): N is small here
    ref = torch.topk(joint, 6, dim=1, largest=False).values.numpy()
    assert dist.shape == idx.shape == (len(x), 6)
    assert np.array_equal(idx[:, 0], np.arange(len(x)))  # no duplicates: each row is its own nearest
    found = joint.numpy()[np.arange(len(x))[:, None], idx]
    if metric == "max":  # max-norm distances are exact in any implementation
        assert np.array_equal(dist, ref) and np.array_equal(found, dist)
    else:  # torch and the tree sum the squares in different orders: equal to the last bits
        np.testing.assert_allclose(dist, ref, rtol=1e-14, atol=0)
        np.testing.assert_allclose(found, dist, rtol=1e-14, atol=0)


@pytest.mark.parametrize("metric", METRICS)
def test_radius_counts_strict_and_inclusive_at_exact_distances(metric: str) -> None:
    rng = np.random.default_rng(34)
    p = rng.standard_normal((1200, 4))
    d = space_dists(torch.from_numpy(p), torch.from_numpy(p), metric).numpy()
    radius = d[np.arange(1200), rng.integers(0, 1200, 1200)]  # each radius is the distance to some row
    assert np.array_equal(radius_counts(p, radius, metric, strict=True), (d < radius[:, None]).sum(1))
    assert np.array_equal(radius_counts(p, radius, metric, strict=False), (d <= radius[:, None]).sum(1))


def test_tree_partitions_the_rows_into_boxes() -> None:
    p = np.random.default_rng(35).standard_normal((1000, 3))
    tree = build_tree(p, leaf_size=16)
    assert np.array_equal(np.sort(tree.perm), np.arange(1000))
    assert np.array_equal(tree.points, p[tree.perm])
    leaves = range(tree.first_leaf, len(tree.start))
    assert sum(tree.end[n] - tree.start[n] for n in leaves) == 1000
    assert max(tree.end[n] - tree.start[n] for n in leaves) <= 16
    for n in leaves:
        rows = tree.points[tree.start[n] : tree.end[n]]
        assert (rows >= tree.lo[n]).all() and (rows <= tree.hi[n]).all()


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("algorithm", [1, 2])
def test_estimator_value_is_the_same_for_both_searches(metric: str, algorithm: int) -> None:
    s = synthetic.correlated_gaussian(3000, 5, synthetic.rho_for_mi(1.0, 5), seed=36)
    a = KSGMI(algorithm=algorithm, metric=metric, search="kdtree").estimate_with_info(s.x, s.y)
    b = KSGMI(algorithm=algorithm, metric=metric, search="brute").estimate_with_info(s.x, s.y)
    assert a.value == b.value
    assert (a.diagnostics["search"], b.diagnostics["search"]) == ("kdtree", "brute")


def test_high_dimension_16_plus_16() -> None:
    # pca_ksg keeps up to 16 axes per side: the tree still gives the brute-force counts there.
    s = synthetic.correlated_gaussian(1500, 16, synthetic.rho_for_mi(2.0, 16), seed=37)
    a = KSGMI(metric="euclidean", search="kdtree").estimate(s.x, s.y)
    b = KSGMI(metric="euclidean", search="brute").estimate(s.x, s.y)
    assert a == b


def test_a_tree_search_leaves_torch_thread_count_as_it_found_it() -> None:
    """numba's OpenMP layer sets the calling thread's OpenMP thread count when it starts (first launch in a
    process, so a fresh one, after torch has used OpenMP there): the estimate must not leave torch's
    one-thread budget at numba's count (it did: 1 before, 2 after)."""
    code = (
        "import torch; torch.set_num_threads(1)\n"
        "from ssl_it.estimators import KSGMI, ClassifierMI\n"
        "g = torch.Generator().manual_seed(0); x = torch.randn(400, 4, generator=g)\n"
        "ClassifierMI().estimate(torch.randn(400, 32, generator=g), torch.arange(400) % 4)\n"
        "KSGMI(k=3, search='kdtree').estimate(x, x + torch.randn(400, 4, generator=g))\n"
        "print(torch.get_num_threads())\n"
    )
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split()[-1] == "1"
