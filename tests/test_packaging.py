"""The built wheel is a complete package: its configs ship inside it, and the installed copy trains.

The wheel is built from a copy of the source tree (the build writes ``build/``
and ``*.egg-info`` where it runs), installed with ``pip --target`` into a
temporary folder, and run from a folder outside the checkout with only that
folder on ``PYTHONPATH``, so the installed files, not the checkout, are imported.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "setup.py", "README.md", "LICENSE", "ssl_it", "configs", "hydra_plugins")


def build_wheel(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    for name in SOURCES:
        if not (ROOT / name).exists():  # hydra_plugins/ only while the package has Hydra plugins
            continue
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            src.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    command = [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path / "dist"), str(src)]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("ssl_it-*.whl")
    return wheel


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wheel(tmp_path_factory.mktemp("wheel"))


def test_the_wheel_holds_every_config_the_license_and_the_hydra_plugins(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    configs = {p.relative_to(ROOT / "configs").as_posix() for p in (ROOT / "configs").rglob("*.yaml")}
    shipped = {n.removeprefix("ssl_it/configs/") for n in names if n.startswith("ssl_it/configs/")}
    assert shipped == configs | {"__init__.py"} and "train.yaml" in shipped  # __init__.py: pkg://ssl_it.configs
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    plugins = {p.relative_to(ROOT).as_posix() for p in (ROOT / "hydra_plugins").rglob("*.py")}
    assert plugins <= names
    code = {p.relative_to(ROOT).as_posix() for p in (ROOT / "ssl_it").rglob("*.py")}
    assert code <= names and "ssl_it/py.typed" in names


def test_license_matches_pyproject():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License") and "the ssl_it authors" in text


@pytest.mark.slow
def test_the_installed_wheel_trains_from_a_folder_outside_the_checkout(wheel, tmp_path):
    site = tmp_path / "site"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-compile",
            "--quiet",
            "--target",
            str(site),
            str(wheel),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "SSL_IT_CONFIG_DIR"}
    env.update(PYTHONPATH=str(site), WANDB_MODE="offline")
    run_dir = elsewhere / "run"
    script = (
        "import runpy, sys, ssl_it, ssl_it.run.config_dir as c\n"
        "from hydra import compose, initialize_config_module\n"
        "print('ssl_it file:', ssl_it.__file__); print('config dir:', c.CONFIG_DIR)\n"
        "from hydra.core.plugins import Plugins; from hydra.plugins.sweeper import Sweeper\n"
        "found = Plugins.instance().discover(Sweeper)\n"
        "print('sweepers:', ' '.join(sys.modules[s.__module__].__file__ for s in found\n"
        "                            if s.__module__.startswith('hydra_plugins.ssl_it')))\n"
        "with initialize_config_module('ssl_it.configs', version_base='1.3'):\n"
        "    print('pkg objective:', compose('train', overrides=['objective=simclr']).objective._target_)\n"
        "sys.argv = ['ssl-it-train', *sys.argv[1:]]; runpy.run_module('ssl_it.train', run_name='__main__')"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, "debug=fast", "logger=csv", f"hydra.run.dir={run_dir}"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    printed = ("ssl_it file", "config dir", "pkg objective", "sweepers")
    lines = dict(line.split(": ", 1) for line in proc.stdout.splitlines() if line.startswith(printed))
    assert Path(lines["ssl_it file"]).resolve() == (site / "ssl_it" / "__init__.py").resolve()
    assert Path(lines["config dir"]).resolve() == (site / "ssl_it" / "configs").resolve()
    assert lines["pkg objective"] == "ssl_it.objectives.SimCLR"  # pkg://ssl_it.configs composes too
    ours = [Path(f).resolve() for f in lines["sweepers"].split()]  # Hydra's plugin scan finds the shipped sweeper
    assert bool(ours) == (ROOT / "hydra_plugins" / "ssl_it_sweepers").is_dir()
    assert all(site.resolve() in f.parents for f in ours), ours
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "finished" and summary["final/val_probe_acc"] is not None
