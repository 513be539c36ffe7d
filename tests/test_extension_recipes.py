"""The extension recipes of docs/extend/ work outside the repository.

Each test copies a page's titled code blocks (```python title="my_x.py"```,
```yaml title="configs/<group>/<option>.yaml"```) into a folder outside the
checkout, runs the page's `ssl-it-train` command from there as
`python train.py` (one epoch of three batches on the embedded digits), and
checks that the user's class was built and used. The pages are the only copy
of the code, so they cannot go stale.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import math
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
EXTEND = ROOT / "docs" / "extend"
BLOCK = re.compile(r"^```(\w+)([^\n]*)\n(.*?)^```", re.M | re.S)
TITLE = re.compile(r'title="([^"]+)"')
FAST = ["debug=fast"]  # 1 epoch of 3 batches, no W&B


def page_files(page: str) -> dict[str, str]:
    """``{relative path: content}`` of the page's titled code blocks."""
    text = (EXTEND / page).read_text(encoding="utf-8")
    return {TITLE.search(attrs).group(1): body for _, attrs, body in BLOCK.findall(text) if TITLE.search(attrs)}


def page_command(page: str) -> str:
    """The page's ``ssl-it-train`` command line (the first bash block holding one)."""
    text = (EXTEND / page).read_text(encoding="utf-8")
    lines = [
        line
        for lang, _, body in BLOCK.findall(text)
        if lang == "bash"
        for line in body.splitlines()
        if "ssl-it-train" in line
    ]
    assert lines, f"docs/extend/{page}: no ssl-it-train command"
    return lines[0]


def write_project(page: str, folder: Path) -> Path:
    project = folder / "my_ssl"
    for name, body in page_files(page).items():
        path = project / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body, encoding="utf-8")
    return project


def run_recipe(page: str, tmp_path: Path, extra: list[str]) -> Path:
    """Write the page's files to ``tmp_path/my_ssl``, run its command there; returns the run folder."""
    project = write_project(page, tmp_path)
    tokens = shlex.split(page_command(page))
    env = {**os.environ, "WANDB_MODE": "offline", "WANDB_SILENT": "true"}
    while re.fullmatch(r"[A-Z_]+=.*", tokens[0]):
        key, value = tokens.pop(0).split("=", 1)
        env[key] = value
    assert tokens.pop(0) == "ssl-it-train"
    env["PYTHONPATH"] = os.pathsep.join([env.get("PYTHONPATH", ""), str(ROOT)])  # the page's folder, then ssl_it
    run_dir = tmp_path / "run"
    command = [sys.executable, str(ROOT / "train.py"), *tokens, *FAST, *extra, f"hydra.run.dir={run_dir}"]
    proc = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return run_dir


def metric_values(run_dir: Path, key: str) -> list[float]:
    with (run_dir / "metrics.csv").open(newline="") as f:
        return [float(row[key]) for row in csv.DictReader(f) if row.get(key)]


def saved_config(run_dir: Path) -> dict:
    return yaml.safe_load((run_dir / "config.yaml").read_text())


@pytest.mark.parametrize("page", ["estimator.md", "objective.md", "backbone.md", "callback.md"])
def test_each_page_has_a_module_an_option_file_and_a_command(page):
    names = list(page_files(page))
    assert any(n.endswith(".py") for n in names) and any(n.startswith("configs/") for n in names), names
    assert "hydra.searchpath=[file://configs]" in page_command(page)


def test_estimator_recipe_reads_the_mi_of_a_correlated_gaussian(tmp_path):
    project = write_project("estimator.md", tmp_path)
    spec = importlib.util.spec_from_file_location("my_estimators", project / "my_estimators.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(20000, 1, generator=g)
    y = 0.8 * x + 0.6 * torch.randn(20000, 1, generator=g)
    estimate = module.FirstComponentMI().estimate_with_info(x, y)
    assert estimate.value == pytest.approx(-0.5 * math.log(1 - 0.8**2), abs=0.01)  # 0.511 nats
    assert estimate.bound == "point" and estimate.n_samples == 20000


@pytest.mark.slow
def test_estimator_recipe_measures_i_xt_in_a_run(tmp_path):
    run_dir = run_recipe(
        "estimator.md", tmp_path, ["infoplane=default", "infoplane.bands=false", "datamodule.probe_size=128"]
    )
    with (run_dir / "infoplane.csv").open(newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["layer"] in ("backbone", "projector")]
    assert rows
    assert {r["estimator_XT"] for r in rows} == {"first_component"}
    assert {r["estimator_TY"] for r in rows} == {"classifier"}
    assert all(math.isfinite(float(r["I_XT"])) and float(r["I_XT"]) >= 0 for r in rows)
    assert saved_config(run_dir)["estimator"]["I_XT"]["_target_"] == "my_estimators.FirstComponentMI"


@pytest.mark.slow
def test_objective_recipe_trains_and_logs_its_terms(tmp_path):
    run_dir = run_recipe("objective.md", tmp_path, [])
    assert saved_config(run_dir)["objective"]["_target_"] == "my_objectives.AlignUniform"
    align, uniform = metric_values(run_dir, "train/align_step"), metric_values(run_dir, "train/uniformity_step")
    assert len(align) == 3 and len(uniform) == 3  # one per training batch
    assert all(0 <= a <= 4 for a in align)  # squared distance of two unit vectors
    assert all(-4 * 2.0 <= u <= 0 for u in uniform)  # log mean exp(-t d^2), d^2 in [0, 4], t = 2


@pytest.mark.slow
def test_backbone_recipe_is_the_trained_backbone(tmp_path):
    run_dir = run_recipe("backbone.md", tmp_path, [])
    assert saved_config(run_dir)["backbone"]["_target_"] == "my_backbones.TwoConv"
    state = torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)["state_dict"]
    assert tuple(state["backbone.conv1.0.weight"].shape) == (64, 1, 3, 3)  # width 64, greyscale digits
    assert state["objective.projector.0.weight"].shape[1] == 64  # the projector reads out_dim = width


@pytest.mark.slow
def test_callback_recipe_logs_and_reports_its_number(tmp_path):
    run_dir = run_recipe("callback.md", tmp_path, [])
    norms = metric_values(run_dir, "probe/feature_norm")
    assert len(norms) == 1 and norms[0] > 0  # one validation in one epoch
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["final/feature_norm"] == pytest.approx(norms[0])
    assert saved_config(run_dir)["callbacks"]["feature_norm"]["_target_"] == "my_callbacks.FeatureNorm"


def test_the_in_memory_recipe_measures_a_model_without_a_run(tmp_path):
    files = page_files("callback.md")
    (tmp_path / "measure_in_memory.py").write_text(files["measure_in_memory.py"])
    proc = subprocess.run(
        [sys.executable, "measure_in_memory.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    i_xt, i_ty = (float(v) for v in proc.stdout.split()[-2:])
    assert math.isfinite(i_xt) and i_xt > 0 and math.isfinite(i_ty)
    with (tmp_path / "outputs" / "notebook" / "infoplane.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["layer"] for r in rows] == ["backbone"] and float(rows[0]["I_XT"]) == pytest.approx(i_xt)
