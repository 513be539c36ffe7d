"""A run never silently does something other than what was asked, and never loses work.

One test per case: each asserts the outcome (exit status, or the exception
raised before any training) and the message naming the key or file. Cases
that need Hydra's own command line (run directories, multirun, Optuna) run
``train.py`` in a subprocess and are marked ``slow``.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from ssl_it.callbacks import Diverged
from ssl_it.run.config_checks import ConfigError
from ssl_it.train import train
from tests.conftest import CLI_TINY
from tests.helpers import SimulatedKill

ROOT = Path(__file__).resolve().parents[1]
# in-process runs: only what a case needs (synthetic data: 76 training samples = 4 steps of 16, 20 val)
LEAN = [
    "infoplane=none",
    "callbacks.linear_eval=null",
    "callbacks.knn=null",
    "callbacks.diagnostics=null",
    "callbacks.lr_monitor=null",
]
CLI_FAST = [
    *CLI_TINY,
    "callbacks.embedding_view=null",
    "callbacks.linear_eval=null",
    "torch_threads=1",
    "logger=none",
]


def cli(*args: str, cwd: Path, timeout: int = 300, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``python train.py <args>`` with ``cwd`` as the working directory (so ``outputs/`` lands there)."""
    environ = {**os.environ, "PYTHONPATH": str(ROOT), "WANDB_MODE": "offline", **(env or {})}
    return subprocess.run(
        [sys.executable, str(ROOT / "train.py"), *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def step_losses(run_dir: Path) -> dict[int, float]:
    with (run_dir / "metrics.csv").open(newline="") as f:
        return {int(r["step"]): float(r["train/loss_step"]) for r in csv.DictReader(f) if r.get("train/loss_step")}


def killed_run(make_cfg, tmp_path: Path, *overrides: str, step: int, run: str = "run") -> Path:
    kill = f"+callbacks.kill={{_target_: tests.helpers.KillAtStep, step: {step}}}"
    with pytest.raises(SimulatedKill):
        train(make_cfg(*LEAN, *overrides, kill, run=run))
    saved = OmegaConf.load(tmp_path / run / "config.yaml")
    del saved.callbacks["kill"]  # the kill is not part of the run
    OmegaConf.save(saved, tmp_path / run / "config.yaml")
    return tmp_path / run


# ---------------------------------------------------------------- resume
def test_resume_continues_the_saved_run_length_not_the_command_line_default(make_cfg, tmp_path):
    run = killed_run(make_cfg, tmp_path, "trainer.max_epochs=2", step=6)
    resumed = make_cfg(f"resume={run}", fast=False)  # trainer.max_epochs is the default 10 here
    assert resumed.trainer.max_epochs == 10
    train(resumed, overrides=[f"resume={run}"])
    assert max(step_losses(run)) == 7  # 2 epochs of 4 steps, as saved
    assert torch.load(run / "checkpoints" / "last.ckpt", weights_only=False)["epoch"] == 1
    assert OmegaConf.load(run / "config.yaml").trainer.max_epochs == 2


def test_resume_applies_an_extension_of_max_epochs_and_records_it(make_cfg, tmp_path):
    run = killed_run(make_cfg, tmp_path, "trainer.max_epochs=2", step=6)
    train(make_cfg(f"resume={run}", "trainer.max_epochs=3"), overrides=[f"resume={run}", "trainer.max_epochs=3"])
    assert max(step_losses(run)) == 11
    assert OmegaConf.load(run / "config.yaml").trainer.max_epochs == 3  # a later resume agrees


def test_resume_refuses_an_objective_change_naming_it(make_cfg, tmp_path):
    run = killed_run(make_cfg, tmp_path, "trainer.max_epochs=2", step=6)
    before = sorted(p.name for p in run.rglob("*"))
    typed = [f"resume={run}", "objective=simclr", "trainer.max_epochs=2"]
    with pytest.raises(ConfigError, match=r"objective=simclr would change the resumed run") as err:
        train(make_cfg(*typed), overrides=typed)
    assert "trainer.max_epochs" in str(err.value)  # names what may be given instead
    assert sorted(p.name for p in run.rglob("*")) == before


def test_resume_refuses_fewer_epochs_than_already_trained(make_cfg, tmp_path):
    run = killed_run(make_cfg, tmp_path, "trainer.max_epochs=3", step=10)
    typed = [f"resume={run}", "trainer.max_epochs=1"]
    with pytest.raises(ConfigError, match=r"trainer\.max_epochs=1: .* already trained 2 epochs"):
        train(make_cfg(*typed), overrides=typed)


def test_truncated_last_checkpoint_is_named_with_the_readable_alternative(make_cfg, tmp_path):
    run = killed_run(make_cfg, tmp_path, "trainer.max_epochs=2", step=6)
    last = run / "checkpoints" / "last.ckpt"
    last.write_bytes(last.read_bytes()[:5000])
    with pytest.raises(ConfigError) as err:
        train(make_cfg(f"resume={run}"), overrides=[f"resume={run}"])
    message = str(err.value)
    assert f"'{last}' cannot be read" in message
    assert f"'best.ckpt' (epoch 0): resume={run / 'checkpoints' / 'best.ckpt'}" in message


def test_kill_mid_epoch_then_resume_repeats_every_loss_exactly(make_cfg, tmp_path):
    """MIB draws noise from the global RNG and a loader worker prefetches: the
    resumed run (in a process whose RNG state differs) must still match."""
    overrides = ["objective=mib", "datamodule.num_workers=1", "trainer.max_epochs=2"]
    train(make_cfg(*LEAN, *overrides, run="straight"))
    run = killed_run(make_cfg, tmp_path, *overrides, step=6, run="split")
    torch.manual_seed(12345), np.random.seed(12345)  # a fresh process starts elsewhere
    train(make_cfg(*overrides, f"resume={run}"), overrides=[f"resume={run}"])
    straight, resumed = step_losses(tmp_path / "straight"), step_losses(run)
    assert sorted(resumed) == list(range(8))
    assert resumed == straight


# ----------------------------------------------------------- divergence
def test_non_finite_training_stops_at_once_naming_the_step_and_what_to_check(make_cfg, tmp_path):
    with pytest.raises(Diverged) as err:
        train(make_cfg("optimizer.lr=1e6", "infoplane.log_spaced_evals=2"))
    message = str(err.value)
    assert err.value.step == 1 and "at step 1 (epoch 0)" in message
    assert "learning rate (optimizer.lr; now" in message and "trainer.precision=32-true" in message
    assert "objective." in message
    assert not (tmp_path / "run" / "checkpoints").exists()  # nothing was saved from diverged weights


def test_divergence_keeps_the_last_good_checkpoint(make_cfg, tmp_path):
    blow_up = "+callbacks.blow_up={_target_: tests.helpers.ScaleLRAtStep, step: 5, factor: 1.0e+12}"
    with pytest.raises(Diverged, match=r"at step [56] \(epoch 1\)"):
        train(make_cfg(*LEAN, "trainer.max_epochs=3", blow_up))
    state = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=False)
    assert state["epoch"] == 0 and state["global_step"] == 4
    assert all(torch.isfinite(v).all() for v in state["state_dict"].values() if v.is_floating_point())


# ------------------------------------------------------ data and sizes
def write_arrays(
    path: Path, n_x: int = 100, n_y: int = 100, nan_row: int | None = None, negative: bool = False
) -> Path:
    rng = np.random.default_rng(0)
    x = rng.random((n_x, 8)).astype(np.float32)
    y = np.arange(n_y) % 4
    if nan_row is not None:
        x[nan_row, 3] = np.nan
    if negative:
        y[7] = -1
    np.savez(path, x=x, y=y)
    return path


@pytest.mark.parametrize(
    "case, message",
    [
        ({"n_x": 1000, "n_y": 900}, r"'x' has 1000 rows but 'y' has 900 labels"),
        ({"nan_row": 5}, r"array 'x' holds NaN or inf .* in 1 of 100 rows \(first: row 5\)"),
        ({"negative": True}, r"labels 'y' must be >= 0, found 1 negative \(first: row 7, value -1\)"),
    ],
    ids=["lengths", "nan", "negative-label"],
)
def test_bad_arrays_file_fails_before_training_naming_the_file_and_array(make_cfg, tmp_path, case, message):
    path = write_arrays(tmp_path / "data.npz", **case)
    with pytest.raises(ConfigError, match=rf"data\.path: '{path}'.*{message}"):
        train(make_cfg("data=arrays", f"data.path={path}", "augmentation=none", "backbone=mlp"))
    assert not (tmp_path / "run").exists()


def test_fixed_split_arrays_name_the_bad_array_and_unreadable_files_name_the_file(tmp_path):
    from ssl_it.data import Arrays

    x, y = np.zeros((10, 4), np.float32), np.arange(10) % 2
    bad_val = x.copy()
    bad_val[2, 0] = np.inf
    np.savez(tmp_path / "split.npz", x_train=x, y_train=y, x_val=bad_val, y_val=y)
    with pytest.raises(ValueError, match=r"array 'x_val' holds NaN or inf .* \(first: row 2\)"):
        Arrays(str(tmp_path / "split.npz"))
    (tmp_path / "broken.npz").write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(ValueError, match=rf"data\.path: '{tmp_path / 'broken.npz'}' cannot be read"):
        Arrays(str(tmp_path / "broken.npz"))


def test_batch_of_one_fails_before_training_naming_the_key(make_cfg, tmp_path):
    with pytest.raises(ConfigError, match=r"datamodule\.batch_size=1: objective 'VICReg' needs .* at least 2"):
        train(make_cfg("datamodule.batch_size=1"))
    assert not (tmp_path / "run").exists()


def test_a_checkpoint_monitoring_a_removed_callbacks_metric_fails_before_training(make_cfg, tmp_path):
    with pytest.raises(
        ConfigError, match=r"callbacks\.best_checkpoint\.monitor='val/probe_acc': .*callbacks\.online_probe"
    ):
        train(make_cfg("~callbacks.online_probe"))
    assert not (tmp_path / "run").exists()
    with pytest.raises(ConfigError, match=r"callbacks\.best_checkpoint\.monitor='val/knn_acc': .*callbacks\.knn"):
        train(make_cfg("callbacks.best_checkpoint.monitor=val/knn_acc", "~callbacks.knn", run="knn"))
    # without the monitoring checkpoint the same run trains, and linear evaluation still reports
    assert 0.0 <= train(make_cfg("~callbacks.online_probe", "~callbacks.best_checkpoint", run="ok")) <= 1.0


def test_whitening_batch_narrower_than_the_embedding_fails_before_training(make_cfg):
    with pytest.raises(ConfigError, match=r"datamodule\.batch_size=16: objective 'WMSE' needs .* at least 65"):
        train(make_cfg("objective=wmse", "objective.out_dim=64"))


def test_a_last_batch_of_one_sample_fails_naming_drop_last(make_cfg):
    with pytest.raises(ConfigError, match=r"datamodule\.drop_last=false: the last training batch would hold 1"):
        train(make_cfg("datamodule.drop_last=false", "datamodule.batch_size=75"))  # 76 training samples


@pytest.mark.parametrize(
    "estimator, needs",
    [("estimator=ksg estimator.k=50", r"at least 51 \(.*estimator\.k=50"), ("estimator=mine", "at least 20")],
)
def test_probe_set_too_small_for_the_estimator_fails_before_training(make_cfg, tmp_path, estimator, needs):
    with pytest.raises(ConfigError, match=rf"datamodule\.probe_size: the probe set holds 16 samples.*{needs}"):
        train(make_cfg(*estimator.split(), "datamodule.probe_size=16"))
    assert not (tmp_path / "run").exists()


def test_probe_size_larger_than_the_split_is_clamped_and_said_once_at_info(make_cfg, tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="ssl_it"):
        train(make_cfg(*LEAN[1:], "datamodule.probe_size=1000", "datamodule.probe_split=val"))
    clamps = [(r.levelname, r.getMessage()) for r in caplog.records if "exceeds the" in r.getMessage()]
    assert clamps == [
        (
            "INFO",
            "datamodule.probe_size=1000 exceeds the 20 samples of the 'val' split: the probe set holds all 20; "
            "datamodule.probe_split=all draws from train+val",
        )
    ]
    rows = list(csv.DictReader((tmp_path / "run" / "infoplane.csv").open()))
    assert {r["n_probe"] for r in rows} == {"20"}
    assert OmegaConf.load(tmp_path / "run" / "hparams.yaml").probe_size_used == 20


# ------------------------------------------------------------- loggers
def test_wandb_with_a_refused_key_and_no_network_falls_back_offline_in_bounded_time(tmp_path, monkeypatch):
    from ssl_it.run.loggers import make_wandb_logger

    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.setenv("WANDB_API_KEY", "0123456789abcdef" * 2 + "01234567")  # 40 characters, not a real key
    monkeypatch.setenv("WANDB_BASE_URL", "http://127.0.0.1:9")  # nothing listens there
    start = time.perf_counter()
    logger = make_wandb_logger(save_dir=str(tmp_path), run_id="abcd1234", init_timeout=3)
    assert time.perf_counter() - start < 30
    assert logger._wandb_init["mode"] == "offline" and logger._wandb_init["id"] == "abcd1234"
    logger.log_metrics({"train/loss": 1.0}, step=0)  # no "run ID abcd1234 is in use"
    logger.experiment.finish()
    assert len(list((tmp_path / "wandb").glob("offline-run-*-abcd1234"))) == 1
    assert not list((tmp_path / "wandb").glob("run-*-abcd1234"))


# ----------------------------------------------------------- run dirs
def test_a_directory_that_holds_a_run_is_never_reused_by_a_new_run(make_cfg, tmp_path):
    train(make_cfg(*LEAN))
    run_id = (tmp_path / "run" / "wandb_run_id.txt").read_text()
    with pytest.raises(ConfigError, match=rf"hydra\.run\.dir=.*already holds run {run_id}.*resume="):
        train(make_cfg(*LEAN))


def test_run_and_sweep_directories_differ_between_commands_and_stay_fixed_within_one():
    from hydra import compose, initialize_config_dir

    from ssl_it.train import CONFIG_DIR

    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        first, second = (compose("train", return_hydra_config=True) for _ in range(2))
    assert first.hydra.sweep.dir == first.hydra.sweep.dir  # every job of a sweep resolves the same directory
    assert first.hydra.run.dir != second.hydra.run.dir and first.hydra.sweep.dir != second.hydra.sweep.dir
    assert first.hydra.run.dir.rsplit("-", 1)[1] == first.hydra.sweep.dir.rsplit("-", 1)[1]


@pytest.mark.slow
def test_configuration_errors_leave_no_directory_behind(tmp_path):
    proc = cli("resume=/nonexistent", "logger=none", cwd=tmp_path)
    assert proc.returncode == 2
    assert "invalid configuration: resume=/nonexistent: no checkpoint" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_resume_reads_what_was_typed_on_the_command_line(make_cfg, tmp_path):
    run = killed_run(make_cfg, tmp_path, "trainer.max_epochs=2", step=6)
    proc = cli(f"resume={run}", "objective=simclr", cwd=tmp_path)
    assert proc.returncode == 2
    assert f"invalid configuration: resume={run}: objective=simclr would change the resumed run" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # Hydra's directory for the command is gone


@pytest.mark.slow
def test_a_diverged_run_exits_3_with_one_clear_message(tmp_path):
    proc = cli(*CLI_FAST, "optimizer.lr=1e6", "hydra.run.dir=run", cwd=tmp_path)
    assert proc.returncode == 3
    assert "ssl_it: training diverged: the training loss is inf at step 1 (epoch 0)" in proc.stderr
    assert "No checkpoint had been written yet." in proc.stderr and "Traceback" not in proc.stderr
    assert "training diverged" in (tmp_path / "run" / "train.log").read_text()


@pytest.fixture(scope="module")
def concurrent_runs(tmp_path_factory):
    """Three runs started together, in Hydra's default run directories."""
    cwd = tmp_path_factory.mktemp("concurrent")
    environ = {**os.environ, "PYTHONPATH": str(ROOT), "WANDB_MODE": "offline"}
    args = [sys.executable, str(ROOT / "train.py"), *CLI_FAST, "logger=wandb"]
    procs = [
        subprocess.Popen(args, cwd=cwd, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    outputs = [p.communicate(timeout=300) for p in procs]
    return cwd, [p.returncode for p in procs], outputs


@pytest.mark.slow
def test_runs_started_together_get_their_own_directories_checkpoints_and_wandb_ids(concurrent_runs):
    cwd, codes, outputs = concurrent_runs
    assert codes == [0, 0, 0], [err[-2000:] for _, err in outputs]
    run_dirs = sorted(p.parent for p in cwd.glob("outputs/*/*/config.yaml"))
    assert len(run_dirs) == 3
    assert all((d / "checkpoints" / "last.ckpt").is_file() for d in run_dirs)
    ids = {(d / "wandb_run_id.txt").read_text() for d in run_dirs}
    assert len(ids) == 3
    assert all(
        len(list((d / "wandb").glob(f"offline-run-*-{(d / 'wandb_run_id.txt').read_text()}"))) == 1 for d in run_dirs
    )


@pytest.mark.slow
def test_train_log_holds_the_run_log(concurrent_runs):
    cwd, codes, _ = concurrent_runs
    log = next(cwd.glob("outputs/*/*/train.log")).read_text()
    assert "[pytorch_lightning" in log and "max_epochs=1` reached" in log
    assert "[ssl_it][INFO] - ssl_it: final val linear-probe accuracy" in log


# -------------------------------------------------------------- sweeps
@pytest.mark.slow
def test_a_bad_job_does_not_end_the_multirun(tmp_path):
    proc = cli("-m", "optimizer.lr=-1,0.001", *CLI_FAST, f"hydra.sweep.dir={tmp_path}", cwd=tmp_path)
    assert proc.returncode == 1
    assert "ssl_it: sweep finished: 2 job(s), 1 failed" in proc.stderr
    rows = [json.loads(line) for line in (tmp_path / "sweep_summary.jsonl").read_text().splitlines()]
    assert [(r["job"], r["status"]) for r in rows] == [(0, "failed"), (1, "ok")]
    assert rows[0]["message"] == "invalid configuration: optimizer.lr=-1: must be a number > 0"
    failed = Path(rows[0]["run_dir"]) / "FAILED"
    assert failed.read_text().startswith("invalid configuration: optimizer.lr=-1")
    assert (Path(rows[1]["run_dir"]) / "checkpoints" / "last.ckpt").is_file()


@pytest.mark.slow
def test_a_trial_that_raises_is_recorded_as_failed_and_the_study_goes_on(tmp_path):
    pytest.importorskip("optuna")
    # TPE with seed 0 samples lr = 0.001, 1e6, 0.001: the second trial diverges during training
    proc = cli(
        "-m",
        "hparams_search=optuna",
        "hydra.sweeper.n_trials=3",
        "optimizer.lr=choice(1e6,0.001)",
        "seed=0",
        *CLI_FAST,
        f"hydra.sweep.dir={tmp_path}",
        cwd=tmp_path,
    )
    assert proc.returncode == 1
    rows = [json.loads(line) for line in (tmp_path / "sweep_summary.jsonl").read_text().splitlines()]
    assert [r["status"] for r in rows] == ["ok", "failed", "ok"]
    assert rows[1]["message"].startswith("training diverged:") and "optimizer.lr" in rows[1]["message"]
    results = OmegaConf.load(tmp_path / "optimization_results.yaml")
    assert results.best_params["optimizer.lr"] == 0.001 and not math.isnan(results.best_value)


# ------------------------------------------------- unit-level promises
def test_checkpoints_are_replaced_atomically(tmp_path, monkeypatch):
    from ssl_it.run.checkpoint_io import AtomicCheckpointIO

    io = AtomicCheckpointIO()
    target = tmp_path / "last.ckpt"
    io.save_checkpoint({"epoch": 1}, target)

    def dies_mid_write(obj, f, *args, **kwargs):
        f.write(b"partial")
        raise OSError("killed while writing")

    monkeypatch.setattr(torch, "save", dies_mid_write)
    with pytest.raises(OSError):
        io.save_checkpoint({"epoch": 2}, target)
    monkeypatch.undo()
    assert torch.load(target, weights_only=False) == {"epoch": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]


def test_a_resumed_loader_starts_at_the_checkpoints_epoch():
    """Lightning builds the training loader (and a worker's prefetch) before it
    restores its loops; the order must already be the resumed epoch's."""
    from ssl_it.augmentation import EvalTransform, NoAugmentation
    from ssl_it.data import SSLDataModule, SyntheticImages

    source = SyntheticImages(n_samples=40, num_classes=4)
    aug = NoAugmentation(source.image_size, source.channels, source.mean, source.std)
    dm = SSLDataModule(source, aug, EvalTransform((0.5,), (0.29,)), batch_size=8, num_workers=0)
    dm.setup()
    dm.load_state_dict({"next_epoch": 2})
    keys = list(dm.train_dataloader().sampler)
    assert {epoch for epoch, _ in keys} == {2}


def test_each_batch_draws_the_same_random_numbers_whatever_came_before():
    from ssl_it.callbacks.step_seed import StepSeed

    class Trainer:
        current_epoch = 2

    seeder = StepSeed(seed=7)
    draws = []
    for noise in (1, 2):
        torch.manual_seed(noise)  # a different history
        seeder.on_train_batch_start(Trainer(), None, None, 3)
        draws.append((torch.rand(3), np.random.rand(), __import__("random").random()))
    assert torch.equal(draws[0][0], draws[1][0]) and draws[0][1:] == draws[1][1:]


def test_sweep_job_failure_or_nan_metric_is_recorded_and_optimising_sweepers_see_an_exception(tmp_path):
    from ssl_it.run.job import Job
    from ssl_it.run.sweep_failures import JobFailed, SweepJob, report

    sweep = SweepJob(num=3, sweep_dir=tmp_path, job_dir=tmp_path / "3_x", overrides=["optimizer.lr=-1"])
    assert math.isnan(Job(tmp_path / "3_x", tmp_path, sweep=sweep).failed("invalid configuration: bad", 2))
    with pytest.raises(JobFailed, match="diverged"):
        Job(tmp_path / "3_x", tmp_path, sweep=sweep, raise_on_failure=True).failed("diverged", 3)
    with pytest.raises(JobFailed, match="metric is nan"):
        Job(tmp_path / "3_x", tmp_path, sweep=sweep, raise_on_failure=True).finished(float("nan"))
    text, any_failed = report(tmp_path)
    assert any_failed and "3 job(s), 3 failed" in text
    assert "job 3 (optimizer.lr=-1) FAILED: invalid configuration" in text
    assert (tmp_path / "3_x" / "FAILED").read_text().startswith("the run finished but its metric is nan")


def test_a_single_run_failure_exits_with_its_status(tmp_path):
    from ssl_it.run.job import EXIT_DIVERGED, Job

    hydra_dir = tmp_path / "outputs" / "day" / "run"
    (hydra_dir / ".hydra").mkdir(parents=True)
    with pytest.raises(SystemExit) as exit_:
        Job(hydra_dir, tmp_path / "outputs").failed("invalid configuration: x", 2)
    assert exit_.value.code == 2 and not (tmp_path / "outputs").exists()
    with pytest.raises(SystemExit) as exit_:
        Job(tmp_path, tmp_path, run_dir=tmp_path).failed("training diverged", EXIT_DIVERGED)
    assert exit_.value.code == 3 and tmp_path.exists()


# ------------------------------------------------- collapsed layers (item 5)
def _every_estimator() -> dict[str, object]:
    """Every estimator a run can choose: each option of the ``estimator`` group,
    and each quantity's estimator of ``estimator=calibrated``."""
    from hydra import compose, initialize_config_dir
    from hydra.utils import instantiate

    from ssl_it.train import CONFIG_DIR

    built: dict[str, object] = {}
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        for option in sorted(p.stem for p in (Path(CONFIG_DIR) / "estimator").glob("*.yaml")):
            node = compose("train", overrides=[f"estimator={option}"]).estimator
            if "_target_" in node:
                built[option] = instantiate(node)
            else:
                built.update({f"{option}.{q}": instantiate(sub) for q, sub in node.items()})
    return built


def test_every_estimator_measures_constant_duplicated_and_rank_one_features():
    """A collapsed layer is a measurement: a finite value from every estimator,
    about 0 for constant features (KSG's tie-breaking jitter gives ~0.01)."""
    gen = torch.Generator().manual_seed(0)
    n = 128
    labels, inputs, z = torch.arange(n) % 4, torch.randn(n, 8, generator=gen), torch.randn(n, 1, generator=gen)
    features = {
        "constant": torch.full((n, 16), 0.5),
        "duplicated": z.repeat(1, 16),
        "rank-1": z @ torch.randn(1, 16, generator=gen),
    }
    label_only = {"classifier", "calibrated.I_TY"}
    pair_only = {"calibrated.I_XT", "calibrated.I_Z1Z2"}
    measured = []
    for name, estimator in _every_estimator().items():
        for kind, t in features.items():
            calls = [] if name in pair_only else [("labels", t, labels)]
            calls += [] if name in label_only else [("pair", inputs, t)]
            for call, a, b in calls:
                value = estimator.estimate_with_info(a, b).value  # type: ignore[attr-defined]
                assert math.isfinite(value), (name, kind, call, value)
                if kind == "constant":
                    assert abs(value) <= 0.02, (name, call, value)
                measured.append((name, kind, call))
    assert len(measured) == 13 * 3 * 2 + 4 * 3  # 13 estimators x 3 features x 2 calls; 4 take one kind of call
    default = _every_estimator()["calibrated.I_TY"]
    collapsed = default.estimate_with_info(features["constant"], labels)  # type: ignore[attr-defined]
    assert collapsed.value == 0.0 and "constant features" in collapsed.diagnostics["note"]


# ------------------------------------------- self-contained run folders (item 1)
def checksums(folder: Path) -> dict[str, str]:
    import hashlib

    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_a_copied_run_resumed_to_more_epochs_leaves_the_original_unchanged(make_cfg, tmp_path):
    import shutil

    train(make_cfg(*LEAN[1:], "infoplane.log_spaced_evals=0", "trainer.max_epochs=1", run="original"))
    original = tmp_path / "original"
    copy = tmp_path / "elsewhere" / "copy"
    shutil.copytree(original, copy)
    before = checksums(original)
    assert {"checkpoints/last.ckpt", "checkpoints/best.ckpt", "infoplane.csv", "metrics.csv"} <= set(before)
    typed = [f"resume={copy}", "trainer.max_epochs=2"]
    train(make_cfg(*typed), overrides=typed)
    assert checksums(original) == before
    assert torch.load(copy / "checkpoints" / "last.ckpt", weights_only=False)["epoch"] == 1
    assert max(float(r["epoch"]) for r in csv.DictReader((copy / "infoplane.csv").open())) == 2.0  # end of epoch 2
    saved = OmegaConf.load(copy / "config.yaml")
    assert saved.paths.output_dir == str(copy) and saved.infoplane.run_dir == str(copy)
    assert saved.callbacks.last_checkpoint.dirpath == str(copy / "checkpoints")


# ------------------------------------------------------ preemption (item 2)
@pytest.mark.slow
def test_sigterm_is_a_visible_preemption_and_resume_finishes_with_the_uninterrupted_numbers(tmp_path):
    run = [*CLI_FAST, "trainer.max_epochs=3"]
    straight = cli(*run, "hydra.run.dir=straight", cwd=tmp_path)
    assert straight.returncode == 0, straight.stderr[-2000:]
    term = "+callbacks.term={_target_: tests.helpers.SignalAtStep, step: 5}"  # 2 steps per epoch: in epoch 2
    stopped = cli(*run, term, "hydra.run.dir=split", cwd=tmp_path)
    assert stopped.returncode == 143, stopped.stderr[-2000:]
    assert "ssl_it: preempted by SIGTERM at epoch 2, step 5" in stopped.stderr
    assert f"continue with: python train.py resume={tmp_path / 'split'}" in stopped.stderr
    assert "Traceback" not in stopped.stderr
    summary = json.loads((tmp_path / "split" / "summary.json").read_text())
    assert summary["status"] == "preempted" and summary["epochs_saved"] == 2
    saved = OmegaConf.load(tmp_path / "split" / "config.yaml")
    del saved.callbacks["term"]  # the signal is not part of the run
    OmegaConf.save(saved, tmp_path / "split" / "config.yaml")
    resumed = cli("resume=split", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    done, reference = (json.loads((tmp_path / d / "summary.json").read_text()) for d in ("split", "straight"))
    assert done["status"] == "finished" and done["final/val_probe_acc"] == reference["final/val_probe_acc"]
    assert step_losses(tmp_path / "split") == step_losses(tmp_path / "straight")


# ------------------------------------------- resume compares group choices (item 4)
@pytest.mark.parametrize("typed", ["debug=fast", "experiment=ib_tanh", "hparams_search=optuna", "~scheduler"])
def test_resume_refuses_a_group_choice_even_of_a_group_without_keys_of_its_own(make_cfg, tmp_path, typed):
    run = killed_run(make_cfg, tmp_path, "trainer.max_epochs=2", step=6)
    before = checksums(run)
    overrides = [f"resume={run}", typed]
    with pytest.raises(ConfigError, match=rf"resume={run}: {typed} would change the resumed run"):
        train(make_cfg(*overrides, fast=False), overrides=overrides)  # debug=fast removes keys the fast set changes
    assert checksums(run) == before


def test_resume_compares_group_choices_with_the_saved_runs_choices():
    from ssl_it.run.resume import check_overrides

    saved = OmegaConf.create({"run": {"choices": {"objective": "vicreg", "debug": "fast"}}, "paths": {}})
    groups = ["debug", "experiment", "objective"]
    assert check_overrides(saved, saved, ["debug=fast", "objective=vicreg"], "r", groups) == {}
    for typed in ("debug=null", "experiment=ib_relu", "objective=simclr"):
        with pytest.raises(ConfigError, match=rf"{typed} would change the resumed run"):
            check_overrides(saved, saved, [typed], "r", groups)


@pytest.mark.slow
def test_resume_with_debug_fast_exits_2(make_cfg, tmp_path):
    run = killed_run(make_cfg, tmp_path, "trainer.max_epochs=2", step=6)
    before = checksums(run)
    proc = cli(f"resume={run}", "debug=fast", cwd=tmp_path)
    assert proc.returncode == 2
    assert f"ssl_it: invalid configuration: resume={run}: debug=fast would change the resumed run" in proc.stderr
    assert checksums(run) == before


# -------------------------------------------------- image folders (item 3)
def test_a_symlink_loop_in_an_image_folder_is_skipped_and_the_true_class_counts_reported(tmp_path, caplog):
    from PIL import Image

    from ssl_it.data import ImageFolder

    for split in ("train", "val"):
        for c, name in enumerate("abc"):
            folder = tmp_path / split / name
            folder.mkdir(parents=True)
            for i in range(16 if split == "train" else 4):
                Image.fromarray(np.full((12, 12, 3), 20 * c + i, np.uint8)).save(folder / f"{i}.png")
    (tmp_path / "train" / "a" / "loop").symlink_to("..")  # back to train/: every class again, 40 levels deep
    (tmp_path / "train" / "b" / "self").symlink_to(".")
    with caplog.at_level(logging.INFO, logger="ssl_it"), pytest.warns(UserWarning) as warned:
        source = ImageFolder(str(tmp_path / "train"), str(tmp_path / "val"))
    assert source.num_classes == 3 and len(source._samples["train"]) == 48
    skipped = sorted(str(w.message).split("'")[1] for w in warned if "skipped the symlink" in str(w.message))
    assert skipped == [str(tmp_path / "train" / "a" / "loop"), str(tmp_path / "train" / "b" / "self")]
    assert "data.train_dir: 48 images in 3 classes: a 16, b 16, c 16" in caplog.text


# ---------------------------------------- finished runs, used folders (item 6)
def test_resuming_a_finished_run_without_overrides_is_a_no_op(make_cfg, tmp_path, capsys):
    value = train(make_cfg(*LEAN))
    run = tmp_path / "run"
    before = checksums(run)
    assert json.loads((run / "summary.json").read_text())["status"] == "finished"
    assert train(make_cfg(f"resume={run}"), overrides=[f"resume={run}"]) == value
    assert f"run {run} has already finished its 1 epoch(s); nothing to do" in capsys.readouterr().out
    assert checksums(run) == before


@pytest.mark.slow
def test_a_new_run_or_sweep_in_a_used_folder_is_refused_and_changes_no_file(tmp_path):
    first = cli(*CLI_FAST, "hydra.run.dir=run", cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    before = checksums(tmp_path / "run")
    again = cli(*CLI_FAST, "hydra.run.dir=run", cwd=tmp_path)
    assert again.returncode == 2 and "Traceback" not in again.stderr
    assert "ssl_it: invalid configuration: hydra.run.dir=run: the directory already holds run" in again.stderr
    assert checksums(tmp_path / "run") == before
    sweep = cli("-m", *CLI_FAST, "seed=0", "hydra.sweep.dir=sweep", cwd=tmp_path)
    assert sweep.returncode == 0, sweep.stderr[-2000:]
    before = checksums(tmp_path / "sweep")
    second = cli("-m", *CLI_FAST, "seed=1", "hydra.sweep.dir=sweep", cwd=tmp_path)
    assert second.returncode == 2
    assert "ssl_it: invalid configuration: hydra.sweep.dir=sweep: the directory already holds a sweep" in second.stderr
    assert checksums(tmp_path / "sweep") == before


# ------------------------------------------------ one-line errors (item 7)
@pytest.mark.slow
@pytest.mark.parametrize(
    "typed, message",
    [
        (["objective=vicregg"], "objective=vicregg: no such option; did you mean vicreg, vicreg_logdet?"),
        (["optimizer.lrr=0.1"], "optimizer.lrr: no such key; did you mean optimizer.lr"),
        (["hydra.run.dir=blocker/run"], "hydra.run.dir: cannot create 'blocker/run' (Not a directory)"),
        (["hydra.run.dir=" + "a" * 300], "hydra.run.dir: cannot create '" + "a" * 300 + "' (File name too long)"),
    ],
    ids=["unknown-option", "unknown-key", "path-through-a-file", "name-too-long"],
)
def test_hydra_errors_are_one_line_and_exit_2(tmp_path, typed, message):
    (tmp_path / "blocker").write_text("a regular file")
    proc = cli(*typed, "logger=none", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith(f"ssl_it: invalid configuration: {message}")
    assert "Traceback" not in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocker"]


def test_a_resumed_run_whose_config_is_not_yaml_is_named(make_cfg, tmp_path):
    run = killed_run(make_cfg, tmp_path, "trainer.max_epochs=2", step=6)
    (run / "config.yaml").write_text("trainer: {max_epochs: [1,\n")
    with pytest.raises(ConfigError, match=rf"resume={run}: '{run / 'config.yaml'}' is not readable YAML"):
        train(make_cfg(f"resume={run}"), overrides=[f"resume={run}"])


def test_a_checkpoint_write_cut_short_is_removed_and_named_on_resume(make_cfg, tmp_path, caplog):
    run = killed_run(make_cfg, tmp_path, "trainer.max_epochs=2", step=6)
    (run / "checkpoints" / ".last.ckpt.tmp-4242").write_bytes(b"\0" * 2_000_000)
    with caplog.at_level(logging.WARNING, logger="ssl_it"):
        train(make_cfg(f"resume={run}"), overrides=[f"resume={run}"])
    assert "removed checkpoint writes cut short by a kill: .last.ckpt.tmp-4242 (2.0 MB)" in caplog.text
    assert not list((run / "checkpoints").glob(".*.tmp-*"))


def test_an_unknown_tapped_layer_fails_before_the_trainer_starts(make_cfg, tmp_path):
    with pytest.raises(
        ConfigError,
        match=r"^infoplane\.layers: must be an alias \(backbone, projector\) or a submodule of the model; "
        r"the backbone's tap points: .*; got 'backbone\.nope'$",
    ):
        train(make_cfg("infoplane.layers=[backbone,backbone.nope]"))
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    "typed, key",
    [
        (["objective=simclr", "objective.temperature=-1"], "objective.temperature: must be a number > 0; got -1"),
        (["estimator=kde", "estimator.noise_var=-1"], "estimator.noise_var: must be a number > 0; got -1"),
    ],
    ids=["objective", "estimator"],
)
def test_range_errors_name_the_full_key(make_cfg, typed, key):
    with pytest.raises(ConfigError) as err:
        train(make_cfg(*typed))
    assert str(err.value) == key


# ------------------------------------------- third round: #16 leftovers and #17 item 4
def one_line_exit_2(proc: subprocess.CompletedProcess, message: str) -> None:
    """The command stopped with exit 2, its last stderr line the given configuration error, no traceback."""
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines()[-1].startswith(f"ssl_it: invalid configuration: {message}")
    assert "Traceback" not in proc.stderr


NO_KEY = {"WANDB_API_KEY": "", "NETRC": "/nonexistent/netrc", "WANDB_MODE": "online"}


def test_wandb_online_without_a_key_stops_unless_an_offline_fallback_is_allowed(tmp_path, monkeypatch, caplog):
    from ssl_it.run.loggers import make_wandb_logger

    for key, value in NO_KEY.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(
        ValueError,
        match=r"^WANDB_MODE=online: W&B online logging needs an API key .*"
        r"logger\.offline_fallback=true$",
    ):
        make_wandb_logger(save_dir=str(tmp_path), run_id="abcd1234")
    with caplog.at_level(logging.WARNING, logger="ssl_it"):
        logger = make_wandb_logger(save_dir=str(tmp_path), run_id="abcd1234", offline_fallback=True)
    assert logger._wandb_init["mode"] == "offline"
    assert "WANDB_MODE=online but no W&B API key is set: logging offline" in caplog.text
    monkeypatch.delenv("WANDB_MODE")
    with pytest.raises(ValueError, match=r"^logger\.mode=online: W&B online logging needs an API key"):
        make_wandb_logger(save_dir=str(tmp_path), run_id="abcd1234", mode="online")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="ssl_it"):  # nothing asked for online: offline, silently
        assert make_wandb_logger(save_dir=str(tmp_path), run_id="abcd1234")._wandb_init["mode"] == "offline"
    assert caplog.text == ""


@pytest.mark.slow
def test_wandb_online_without_a_key_exits_2_before_training_or_runs_offline_when_allowed(tmp_path):
    stopped = cli(*CLI_FAST, "logger=wandb", "hydra.run.dir=stopped", cwd=tmp_path, env=NO_KEY)
    one_line_exit_2(stopped, "WANDB_MODE=online: W&B online logging needs an API key")
    assert not (tmp_path / "stopped").exists()
    allowed = cli(
        *CLI_FAST, "logger=wandb", "logger.offline_fallback=true", "hydra.run.dir=allowed", cwd=tmp_path, env=NO_KEY
    )
    assert allowed.returncode == 0, allowed.stderr[-2000:]
    assert "logging offline (logger.offline_fallback=true)" in (tmp_path / "allowed" / "train.log").read_text()
    assert len(list((tmp_path / "allowed" / "wandb").glob("offline-run-*"))) == 1


@pytest.mark.parametrize(
    "typed, message",
    [
        (
            "+backbone.out_dim=0",
            "backbone.out_dim: not a setting of backbone (ssl_it.backbones.ConvNet takes no "
            "argument 'out_dim'); backbone accepts: input_shape, channels, convs_per_stage",
        ),
        ("+objective.tau=0.1", "objective.tau: not a setting of objective (ssl_it.objectives.VICReg"),
        ("+callbacks.knn.kk=3", "callbacks.knn.kk: not a setting of callbacks.knn (ssl_it.callbacks.KNNClassifier"),
        ("+estimator.I_TY.depth=2", "estimator.I_TY.depth: not a setting of estimator.I_TY"),
        ("+trainer.max_epoch=2", "trainer.max_epoch: not a setting of trainer (pytorch_lightning.Trainer"),
    ],
    ids=["backbone", "objective", "callback", "nested-estimator", "trainer"],
)
def test_a_key_no_constructor_takes_fails_before_anything_is_built_naming_what_the_group_accepts(
    make_cfg, tmp_path, typed, message
):
    with pytest.raises(ConfigError) as err:
        train(make_cfg(typed))
    assert str(err.value).startswith(message)
    assert not (tmp_path / "run").exists()


def test_every_option_of_every_group_passes_the_constructor_key_check():
    from hydra import compose, initialize_config_dir

    from ssl_it.run.config_checks import check_constructor_keys
    from ssl_it.run.hydra_job import CONFIG_DIR, config_groups

    checked = 0
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        for group in config_groups():
            for option in sorted((Path(CONFIG_DIR) / group).glob("*.yaml")):
                check_constructor_keys(
                    compose("train", overrides=[f"{group}={option.stem}", "paths.output_dir=x", "paths.outputs_root=x"])
                )
                checked += 1
    assert checked == len([p for p in Path(CONFIG_DIR).glob("*/*.yaml") if p.parent.name != "hydra"]) == 77


@pytest.mark.slow
def test_an_unexpected_constructor_key_and_a_broken_saved_config_are_one_line_exit_2(make_cfg, tmp_path):
    one_line_exit_2(cli(*CLI_FAST, "+backbone.out_dim=0", cwd=tmp_path), "backbone.out_dim: not a setting of backbone")
    run = killed_run(make_cfg, tmp_path, "trainer.max_epochs=2", step=6)
    (run / "config.yaml").write_text("trainer: {max_epochs: [1,\n")
    one_line_exit_2(cli(f"resume={run}", cwd=tmp_path), f"resume={run}: '{run / 'config.yaml'}' is not readable YAML")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_checkpoint_writes_of_dead_processes_are_removed_and_live_ones_kept(tmp_path):
    from ssl_it.run.checkpoint_io import remove_partial_writes

    stale, live = tmp_path / f".last.ckpt.tmp-{dead_pid()}", tmp_path / f".last.ckpt.tmp-{os.getpid()}"
    stale.write_bytes(b"\0" * 3_000_000)
    live.write_bytes(b"\0" * 1_000_000)
    removed, kept = remove_partial_writes(tmp_path)
    assert removed == [f"{stale.name} (3.0 MB)"] and kept == [f"{live.name} (1.0 MB)"]
    assert not stale.exists() and live.exists()


def test_a_first_checkpoint_write_cut_short_is_named_by_resume_and_by_a_refused_new_run(make_cfg, tmp_path, capsys):
    from ssl_it.run.hydra_job import SweepReport

    train(make_cfg(*LEAN, "trainer.max_epochs=1"))
    run = tmp_path / "run"
    (run / "checkpoints" / "last.ckpt").unlink()  # as if the first write had been killed
    tmp = run / "checkpoints" / f".last.ckpt.tmp-{dead_pid()}"
    tmp.write_bytes(b"\0" * 2_000_000)
    with pytest.raises(
        ConfigError,
        match=rf"resume={run}: no checkpoint at .*: a checkpoint write was cut short by "
        rf"a kill: {tmp.name} \(2\.0 MB\) .* start the run again",
    ):
        train(make_cfg(f"resume={run}"), overrides=[f"resume={run}"])
    with pytest.raises(SystemExit) as exited:
        SweepReport().on_run_start(OmegaConf.create({"hydra": {"run": {"dir": str(run)}}, "resume": None}))
    assert exited.value.code == 2
    assert f"a checkpoint write was cut short by a kill: {tmp.name} (2.0 MB)" in capsys.readouterr().err
    assert tmp.exists()  # a refused start changes no file


def test_preemption_signals_are_checked_and_left_to_lightning_under_slurm_auto_requeue(make_cfg):
    import signal

    import pytorch_lightning as pl
    from lightning_fabric.plugins.environments import SLURMEnvironment

    from ssl_it.callbacks import PreemptionSignals

    with pytest.raises(
        ConfigError,
        match=r"^callbacks\.preemption\.signals: must be USR1 or USR2 \(SIGTERM is always handled\); got 'KILL'$",
    ):
        train(make_cfg("callbacks.preemption.signals=[KILL]"))
    before = signal.getsignal(signal.SIGUSR1)
    requeue = pl.Trainer(plugins=[SLURMEnvironment(auto_requeue=True)], accelerator="cpu", logger=False)
    PreemptionSignals(["SIGUSR1"]).on_train_start(requeue, None)
    assert signal.getsignal(signal.SIGUSR1) is before
    try:
        PreemptionSignals(["usr1"]).on_train_start(pl.Trainer(accelerator="cpu", logger=False), None)
        assert signal.getsignal(signal.SIGUSR1) is not before
    finally:
        signal.signal(signal.SIGUSR1, before)


@pytest.mark.slow
def test_sigusr1_when_configured_is_a_resumable_preemption_and_otherwise_kills(tmp_path):
    run = [*CLI_FAST, "trainer.max_epochs=3"]
    usr1 = "+callbacks.usr1={_target_: tests.helpers.SignalAtStep, step: 5, signum: 10}"
    stopped = cli(*run, usr1, "callbacks.preemption.signals=[USR1]", "hydra.run.dir=split", cwd=tmp_path)
    assert stopped.returncode == 143, stopped.stderr[-2000:]
    assert "ssl_it: preempted by SIGUSR1 at epoch 2, step 5; the checkpoint after 2 epoch(s) is kept" in stopped.stderr
    summary = json.loads((tmp_path / "split" / "summary.json").read_text())
    assert (summary["status"], summary["signal"], summary["epochs_saved"]) == ("preempted", "SIGUSR1", 2)
    unconfigured = cli(*run, usr1, "hydra.run.dir=killed", cwd=tmp_path)
    assert unconfigured.returncode == -10  # SIGUSR1's default action
    saved = OmegaConf.load(tmp_path / "split" / "config.yaml")
    del saved.callbacks["usr1"]
    OmegaConf.save(saved, tmp_path / "split" / "config.yaml")
    resumed = cli("resume=split", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert json.loads((tmp_path / "split" / "summary.json").read_text())["status"] == "finished"


def test_a_gpu_trainer_without_cuda_and_more_devices_than_there_are_name_the_key():
    from ssl_it.run.config_checks import check_hardware

    with pytest.raises(
        ConfigError,
        match=r"^trainer\.accelerator=gpu: this machine has no CUDA device .* "
        r"use trainer=cpu",
    ):
        check_hardware(OmegaConf.create({"accelerator": "gpu", "devices": 1}), cuda_devices=0)
    with pytest.raises(ConfigError, match=r"^trainer\.devices=4: this machine has 2 CUDA device\(s\)"):
        check_hardware(OmegaConf.create({"accelerator": "gpu", "devices": 4}), cuda_devices=2)
    check_hardware(OmegaConf.create({"accelerator": "auto", "devices": "auto"}), cuda_devices=0)
    check_hardware(OmegaConf.create({"accelerator": "gpu", "devices": 2}), cuda_devices=2)


def test_a_download_without_network_fails_before_training_naming_data_root_and_download(
    make_cfg, tmp_path, monkeypatch
):
    import urllib.error
    import urllib.request

    def unreachable(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", unreachable)
    with pytest.raises(ConfigError) as err:
        train(make_cfg(*LEAN, "data=cifar10", f"data.root={tmp_path / 'data'}"))
    assert str(err.value).startswith(
        f"data.download=true: CIFAR10 is not under data.root='{tmp_path / 'data'}' and cannot be downloaded "
        "([Errno -3] Temporary failure in name resolution); without network, copy the dataset"
    )
    assert "'cifar-10-batches-py' inside it" in str(err.value) and "data.download=false" in str(err.value)
    assert not (tmp_path / "run").exists()


UNREACHABLE = {key: "http://127.0.0.1:9" for key in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY")}


@pytest.mark.slow
@pytest.mark.parametrize(
    "typed, env, message",
    [
        (["trainer=gpu"], {}, "trainer.accelerator=gpu: this machine has no CUDA device"),
        (
            ["data=cifar10", "data.root=data"],
            {**UNREACHABLE, "no_proxy": "", "NO_PROXY": ""},
            "data.download=true: CIFAR10 is not under data.root=",
        ),
        (
            ["-m", "launcher=slurm", "seed=0,1"],
            {"PATH": str(Path(sys.executable).parent)},
            "launcher=slurm: there is no SLURM here (sbatch is not on PATH)",
        ),
        (["objective=simclrr"], {}, "objective=simclrr: no such option; did you mean simclr? (options: barlow_twins,"),
    ],
    ids=["gpu-without-cuda", "download-without-network", "slurm-without-slurm", "unknown-option"],
)
def test_setup_mistakes_exit_2_with_one_line_naming_the_key_and_the_fix(tmp_path, typed, env, message):
    if typed == ["trainer=gpu"] and torch.cuda.is_available():
        pytest.skip("this machine has a CUDA device")
    proc = cli(*typed, "debug=fast", cwd=tmp_path, env=env)
    one_line_exit_2(proc, message)
    assert not (tmp_path / "outputs").exists()


def test_help_describes_every_config_group_and_its_most_used_keys_exist():
    from hydra import compose, initialize_config_dir

    from ssl_it.run.help_text import GROUPS, KEYS, groups_text, option_description
    from ssl_it.run.hydra_job import CONFIG_DIR, config_groups

    assert sorted(GROUPS) == config_groups()
    options = sorted(Path(CONFIG_DIR).glob("*/*.yaml"))
    assert all(option_description(p) for p in options if p.parent.name != "hydra"), "an option file has no comment"
    text = groups_text(Path(CONFIG_DIR), {"objective": "simclr"})
    assert "  * simclr          SimCLR (Chen et al. 2020, arXiv:2002.05709): NT-Xent over the global batch." in text
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfgs = [compose("train"), compose("train", overrides=["data=cifar10"])]

    def has(cfg, key):
        parent, _, leaf = key.rpartition(".")
        node = OmegaConf.select(cfg, parent) if parent else cfg
        return node is not None and leaf in node

    missing = [key for key, _ in KEYS if not any(has(cfg, key) for cfg in cfgs)]
    assert missing == []


@pytest.mark.slow
def test_help_is_ours_not_hydras_config_dump(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(ROOT / "train.py"), "--help", "objective=simclr"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    from ssl_it.run.help_text import GROUPS, KEYS

    for group, about in GROUPS.items():
        assert f"\n{group}: {about}" in proc.stdout
    assert "  * simclr " in proc.stdout and "  * vicreg " not in proc.stdout
    assert "  trainer.max_epochs=10 " in proc.stdout and "  logger.offline_fallback=false " in proc.stdout
    assert all(f"  {key}" in proc.stdout for key, _ in KEYS)
    assert "Powered by Hydra" not in proc.stdout and "_target_" not in proc.stdout


def test_trainer_plugins_from_the_config_are_kept_beside_the_atomic_checkpoint_writer(make_cfg):
    from lightning_fabric.plugins.environments import SLURMEnvironment

    from ssl_it.callbacks.preemption_signals import auto_requeue
    from ssl_it.run.checkpoint_io import AtomicCheckpointIO
    from ssl_it.train import prepare

    slurm = "+trainer.plugins=[{_target_: lightning_fabric.plugins.environments.SLURMEnvironment, auto_requeue: false}]"
    run = prepare(make_cfg(*LEAN, slurm))
    assert isinstance(run.trainer._accelerator_connector.cluster_environment, SLURMEnvironment)
    assert not auto_requeue(run.trainer)
    assert isinstance(run.trainer.strategy.checkpoint_io, AtomicCheckpointIO)


def test_the_data_module_is_set_up_before_training_with_the_trainer_s_device(make_cfg, monkeypatch):
    from ssl_it.data import SSLDataModule
    from ssl_it.train import prepare

    seen = []
    original = SSLDataModule._device
    monkeypatch.setattr(SSLDataModule, "_device", lambda self: seen.append(self.trainer) or original(self))
    run = prepare(make_cfg(*LEAN))
    # set up once, before training, knowing the trainer (on a GPU node its device makes the views there)
    assert seen and all(t is run.trainer for t in seen) and run.datamodule.trainer is run.trainer
    assert run.datamodule._device() == run.trainer.strategy.root_device
