"""W&B sweep files under scripts/sweeps: the command line a W&B agent builds
from them runs train.py, and the run reports the sweep's metric."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from omegaconf import OmegaConf

from ssl_it.run.summary import check_optimized_metric
from tests.conftest import FAST, FAST_DATA
from tests.wandb_files import iter_payloads, offline_run_files, read_offline_run

ROOT = Path(__file__).resolve().parents[1]
SWEEPS = sorted((ROOT / "scripts" / "sweeps").glob("*.yaml"))


def sweep_point(sweep: dict[str, Any]) -> dict[str, Any]:
    """One point of the sweep's space (first value, or the lower bound)."""
    point = {}
    for name, spec in sweep["parameters"].items():
        point[name] = spec["values"][0] if "values" in spec else spec.get("value", spec.get("min"))
    return point


def agent_command(sweep: dict[str, Any], point: dict[str, Any], monkeypatch, tmp_path: Path) -> tuple[list[str], dict]:
    """The command list and environment that wandb's own ``Agent._command_run``
    builds for a run of ``point`` (the subprocess is recorded, not started)."""
    from wandb import wandb_agent

    started: dict[str, Any] = {}

    class Recorder:
        def __init__(self, command: list[str] | None = None, env: dict | None = None, **_: Any) -> None:
            started.update(command=command, env=env)

    monkeypatch.setattr(wandb_agent, "AgentProcess", Recorder)
    for var in ("WANDB_RUN_ID", "WANDB_SWEEP_PARAM_PATH"):  # set by the agent, restored after the test
        monkeypatch.setenv(var, "unset")
    monkeypatch.setenv("WANDB_SWEEP_ID", "sweep123")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    agent = wandb_agent.Agent(api=None, queue=None, sweep_id="sweep123")
    agent._sweep_command = list(sweep["command"])
    args = {k: {"value": v} for k, v in point.items()}
    agent._command_run({"type": "run", "run_id": "run4567", "program": sweep["program"], "args": args})
    return started["command"], started["env"]


@pytest.mark.parametrize("path", SWEEPS, ids=[p.stem for p in SWEEPS])
def test_sweep_file_points_compose_and_name_a_final_metric(path, make_cfg):
    sweep = yaml.safe_load(path.read_text())
    assert "${args_no_hyphens}" in sweep["command"] and "${args}" not in sweep["command"]
    fixed = [c for c in sweep["command"] if not c.startswith("${")]
    point = sweep_point(sweep)
    cfg = make_cfg(*fixed, *[f"{k}={v}" for k, v in point.items()])
    for key, value in point.items():
        if "." in key:
            assert OmegaConf.select(cfg, key) == value
        else:  # a config group: its option's target was composed
            for path, target in option_targets(key, value).items():
                assert OmegaConf.select(cfg, f"{key}{path}._target_") == target
    cfg.optimized_metric = sweep["metric"]["name"]
    check_optimized_metric(cfg)  # raises when the metric can never be in the run's summary


def option_targets(group: str, option: str) -> dict[str, str]:
    """``{"": target}`` of a one-node option, or ``{".I_XT": target, ...}`` of
    an option made of other options by its defaults list (``estimator=calibrated``)."""
    node = OmegaConf.load(ROOT / "configs" / group / f"{option}.yaml")
    if "_target_" in node:
        return {"": node._target_}
    targets = {}
    for entry in node.defaults:
        if isinstance(entry, str):
            continue
        ((source, choice),) = entry.items()  # "/estimator@I_XT": pca_ksg
        targets["." + source.split("@")[1]] = OmegaConf.load(ROOT / "configs" / group / f"{choice}.yaml")._target_
    assert targets, f"{group}={option} composes no target"
    return targets


@pytest.mark.slow
def test_wandb_agent_command_line_runs_train(tmp_path, monkeypatch):
    sweep = yaml.safe_load((ROOT / "scripts" / "sweeps" / "vicreg_coefficients.yaml").read_text())
    point = {"objective.sim_coeff": 12.5, "objective.std_coeff": 30.0, "objective.cov_coeff": 0.5}
    command, env = agent_command(sweep, point, monkeypatch, tmp_path)
    assert command == [
        "/usr/bin/env",
        "python",
        "train.py",
        "objective=vicreg",
        "objective.sim_coeff=12.5",
        "objective.std_coeff=30.0",
        "objective.cov_coeff=0.5",
    ]
    assert env["WANDB_RUN_ID"] == "run4567" and env["WANDB_SWEEP_ID"] == "sweep123"
    # the agent's command as it is, then test-sized settings for this machine
    small = [o for o in FAST_DATA + FAST if not o.startswith("logger=")]
    run_dir = tmp_path / "run"
    env = {
        **env,
        "WANDB_MODE": "offline",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}",
        "PYTHONPATH": str(ROOT),
    }
    proc = subprocess.run(
        [*command, *small, f"hydra.run.dir={run_dir}"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    files = offline_run_files(run_dir)
    assert len(files) == 1
    run = read_offline_run(files[0])
    assert run["run_id"] == "run4567" == (run_dir / "wandb_run_id.txt").read_text()
    assert sweep["metric"]["name"] in run["summary"]
    assert run["config"]["objective.sim_coeff"] == 12.5  # the sweep's parameters, as W&B stores them
    record = run_record(files[0])
    assert record.run_group == "sweep123"
    assert record.display_name == "vicreg-convnet-calibrated-sim_coeff=12.5-std_coeff=30.0-cov_coeff=0.5-s0"
    assert {"objective:vicreg", "backbone:convnet", "estimator:calibrated", "data:synthetic"} <= set(record.tags)


def run_record(path: Path) -> Any:
    """The run record (name, group, tags) of an offline W&B run file."""
    from wandb.proto import wandb_internal_pb2

    for payload in iter_payloads(path):
        rec = wandb_internal_pb2.Record()
        rec.ParseFromString(payload)
        if rec.WhichOneof("record_type") == "run":
            return rec.run
    raise AssertionError(f"no run record in {path}")


@pytest.mark.slow
def test_swept_group_keeps_its_own_settings_in_the_wandb_config(tmp_path, monkeypatch):
    """A W&B sweep over config groups (objective x estimator): W&B locks the
    run config's ``objective`` and ``estimator`` to the option names; the
    run's own config, flattened with ``/``, still holds the swept objective's
    and estimator's settings, and no name appears twice in W&B's view."""
    sweep = yaml.safe_load((ROOT / "scripts" / "sweeps" / "objectives_x_estimators.yaml").read_text())
    point = {"objective": "simclr", "estimator": "calibrated"}
    command, env = agent_command(sweep, point, monkeypatch, tmp_path)
    assert command[-2:] == ["objective=simclr", "estimator=calibrated"]
    assert yaml.safe_load(Path(env["WANDB_SWEEP_PARAM_PATH"]).read_text())["objective"] == {"value": "simclr"}
    small = [o for o in FAST_DATA + FAST if not o.startswith("logger=")]
    run_dir = tmp_path / "run"
    env = {
        **env,
        "WANDB_MODE": "offline",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}",
        "PYTHONPATH": str(ROOT),
    }
    proc = subprocess.run(
        [*command, *small, f"hydra.run.dir={run_dir}"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "was locked by 'sweep'" not in proc.stderr + proc.stdout
    config = read_offline_run(offline_run_files(run_dir)[0])["config"]
    simclr = OmegaConf.load(ROOT / "configs" / "objective" / "simclr.yaml")
    assert config["objective"] == "simclr" and config["estimator"] == "calibrated"  # set by the sweep
    assert config["objective/_target_"] == "ssl_it.objectives.SimCLR"
    assert config["objective/temperature"] == simclr.temperature
    assert config["objective/hidden_dims"] == list(simclr.hidden_dims)
    assert config["estimator/I_XT/_target_"] == OmegaConf.load(ROOT / "configs" / "estimator" / "pca_ksg.yaml")._target_
    assert config["run/choices/objective"] == "simclr"
    shown = ui_names({k: v for k, v in config.items() if k != "_wandb"})
    assert len(shown) == len(set(shown)), sorted(n for n in shown if shown.count(n) > 1)


def ui_names(config: dict[str, Any], prefix: str = "") -> list[str]:
    """The column names W&B shows for a config: nested keys joined with dots."""
    names: list[str] = []
    for key, value in config.items():
        if isinstance(value, dict) and value:
            names += ui_names(value, f"{prefix}{key}.")
        else:
            names.append(f"{prefix}{key}")
    return names
