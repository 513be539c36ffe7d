"""The information-plane callback inside real (tiny) training runs."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
from hydra.utils import instantiate

from ssl_it.train import CONFIG_DIR, train

# single-estimator options (calibrated.yaml is the per-quantity form: tests/callbacks/test_infoplane_quantities.py);
# classifier estimates I(T;Y) from class labels only, so it cannot serve every quantity
ESTIMATORS = sorted(
    p.stem
    for p in (Path(CONFIG_DIR) / "estimator").glob("*.yaml")
    if "_target_" in p.read_text() and p.stem != "classifier"
)
NEURAL = {"mine", "nwj", "infonce", "js", "smile", "club"}


def rows(run: Path) -> list[dict[str, str]]:
    with (run / "infoplane.csv").open(newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_every_estimator_works_in_the_callback(make_cfg, tmp_path, estimator):
    extra = ["estimator.steps=30", "estimator.eval_every=10"] if estimator in NEURAL else []
    cfg = make_cfg(f"estimator={estimator}", *extra, "infoplane.at_start=false", "callbacks.linear_eval=null")
    own_ceiling = instantiate(cfg.estimator).ceiling
    train(cfg)
    got = rows(tmp_path / "run")
    layers = [r for r in got if r["layer"] != "views"]
    assert {r["layer"] for r in layers} == {"backbone", "projector"}
    assert all(r["estimator"] == estimator for r in got)
    for r in got:
        assert r["estimator_Z1Z2" if r["layer"] == "views" else "estimator_XT"] == estimator
    for r in layers:
        assert math.isfinite(float(r["I_XT"])) and math.isfinite(float(r["I_TY"])), r
        assert float(r["H_Y"]) <= math.log(10) + 1e-9
        # every estimator has both ceilings: at most H(Y) (not log N) and at most log N
        assert 0 < float(r["ceiling_TY"]) <= float(r["H_Y"]) + 1e-12
        assert 0 < float(r["ceiling_XT"]) <= float(r["log_n"]) + 1e-12
        # H(Y) and log N, or the estimator's own lower maximum (KSG: psi(N) - psi(k); InfoNCE: log of its batch)
        n = round(math.exp(float(r["log_n"])))
        expected_xt = min(float(r["H_X"]), own_ceiling(n) if own_ceiling(n) is not None else math.inf)
        if estimator != "infonce":  # InfoNCE's batch is clamped to its held-out split, not known here
            assert float(r["ceiling_TY"]) == float(r["H_Y"])
            assert float(r["ceiling_XT"]) == pytest.approx(expected_xt)
        if estimator not in NEURAL:
            # I(T;Y) <= H(Y), up to small-sample bias. Not asserted for the neural
            # bounds here: with 32 probe samples their held-out split has ~10, where
            # a DV/NWJ estimate has no useful guarantee (the callback test is about
            # wiring; their accuracy is tested in tests/estimators).
            assert float(r["I_TY"]) <= float(r["H_Y"]) + 0.2


def test_binning_respects_log_n_and_h_y_and_taps_named_layers(make_cfg, tmp_path):
    layers = "[backbone,projector,backbone.layer1,backbone.pool]"
    train(
        make_cfg(
            "estimator=binning", f"infoplane.layers={layers}", "infoplane.log_spaced_evals=2", "infoplane.max_dim=256"
        )
    )
    got = [r for r in rows(tmp_path / "run") if r["layer"] != "views"]
    assert {r["layer"] for r in got} == {"backbone", "projector", "backbone.layer1", "backbone.pool"}
    for r in got:
        # layers wider than max_dim (the flattened conv map) are projected to it
        assert int(r["estimated_dim"]) == min(int(r["dim"]), 256)
        if r["layer"] == "backbone.layer1":
            assert int(r["dim"]) > 256
        assert float(r["log_n"]) == pytest.approx(math.log(int(r["n_probe"])))
        assert float(r["I_XT"]) <= float(r["log_n"]) + 1e-9
        assert float(r["I_TY"]) <= float(r["H_Y"]) + 1e-9
        assert r["bound"] == "plugin" and '"n_bins": 30' in r["settings"]
    steps = sorted({int(r["step"]) for r in got})
    assert steps[0] == 0 and steps[-1] == 4 and len(steps) >= 3  # start, log-spaced, epoch end
    assert (tmp_path / "run" / "infoplane.png").stat().st_size > 5000


def test_unknown_layer_fails_before_training(make_cfg):
    from ssl_it.run.config_checks import ConfigError

    with pytest.raises((ConfigError, ValueError), match=r"infoplane\.layers"):
        train(make_cfg("infoplane.layers=[backbone.nope]"))


def test_wide_layer_projection_is_fixed_per_layer_and_seed(tmp_path):
    # the same P at every evaluation and after a resume (a new callback, same seed)
    import torch

    from ssl_it.callbacks.infoplane import InformationPlane
    from ssl_it.estimators import BinningMI

    t = torch.randn(20, 300)
    make = lambda seed: InformationPlane(BinningMI(), str(tmp_path), max_dim=16, seed=seed)  # noqa: E731
    first, resumed, other_seed = make(0), make(0), make(1)
    a = first._narrowed("backbone.layer1", t)
    assert a.shape == (20, 16)
    assert torch.equal(a, first._narrowed("backbone.layer1", t))
    assert torch.equal(a, resumed._narrowed("backbone.layer1", t))
    assert not torch.equal(a, first._narrowed("backbone.layer2", t))
    assert not torch.equal(a, other_seed._narrowed("backbone.layer1", t))
    assert first._narrowed("projector", torch.randn(20, 16)).shape == (20, 16)  # not wider: untouched
