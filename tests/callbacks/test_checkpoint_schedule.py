"""Trajectory checkpoints: the schedule's steps, the disk bound's thinning, the manifest, resume, bad settings."""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from hydra.errors import InstantiationException

from ssl_it.callbacks import CheckpointSchedule
from ssl_it.callbacks.checkpoint_schedule import log_steps, thinning_victim
from ssl_it.run.config_checks import ConfigError
from ssl_it.train import build_callbacks, train
from tests.test_reliability import LEAN, killed_run


class FakeTrainer:
    """What the callback reads of a Trainer; a checkpoint is a file of ``size`` bytes."""

    def __init__(self, size: int) -> None:
        self.size, self.global_step, self.current_epoch, self.is_global_zero = size, 0, 0, True
        self.strategy = SimpleNamespace(broadcast=lambda obj, src=0: obj)

    def save_checkpoint(self, path: Path, weights_only: bool) -> None:
        Path(path).write_bytes(b"\0" * self.size)


def run_steps(cb: CheckpointSchedule, trainer: FakeTrainer, last: int, after_each=None) -> None:
    cb.on_train_start(trainer, None)
    for step in range(trainer.global_step + 1, last + 1):
        trainer.global_step = step
        cb.on_train_batch_end(trainer)
        if after_each is not None:
            after_each()


def manifest(folder: Path) -> dict:
    return json.loads((folder / "index.json").read_text())


def test_log_steps_are_per_decade_and_do_not_depend_on_the_run_length() -> None:
    # round(10^(k/10)), k = 0..20: 1, 1, 2, 2, 3, 3, 4, 5, 6, 8, 10, 13, 16, 20, 25, 32, 40, 50, 63, 79, 100
    assert log_steps(10, 100) == [1, 2, 3, 4, 5, 6, 8, 10, 13, 16, 20, 25, 32, 40, 50, 63, 79, 100]
    assert log_steps(10, 10_000)[:18] == log_steps(10, 100)
    assert log_steps(3, 1000) == [1, 2, 5, 10, 22, 46, 100, 215, 464, 1000]


@pytest.mark.parametrize(
    "schedule, extra, saved",
    [
        ("log", {"per_decade": 3}, [0, 1, 2, 5, 10, 22, 46, 100]),
        ("every", {"every_n_steps": 25}, [0, 25, 50, 75, 100]),
        ("every", {"every_n_steps": 40, "at_start": False}, [40, 80]),
        ("none", {}, []),
    ],
)
def test_the_schedule_saves_exactly_its_steps(tmp_path, schedule, extra, saved) -> None:
    cb = CheckpointSchedule(str(tmp_path), schedule=schedule, **extra)
    run_steps(cb, FakeTrainer(10), 100)
    folder = tmp_path / "checkpoints" / "trajectory"
    assert sorted(int(p.stem.split("_")[1]) for p in folder.glob("step_*.ckpt")) == saved
    if saved:
        assert [c["step"] for c in manifest(folder)["checkpoints"]] == saved
        assert [c["file"] for c in manifest(folder)["checkpoints"]] == [f"step_{s}.ckpt" for s in saved]
    assert not list(tmp_path.rglob(".*tmp-*"))


def test_thinning_drops_the_checkpoint_whose_neighbours_are_closest_in_log_step() -> None:
    # spans log(1+s): around 1: log(11) - log(1) = 2.40; around 10: log(101) - log(2) = 3.92;
    # around 100: log(102) - log(11) = 2.23
    assert thinning_victim([0, 1, 10, 100, 101]) == 3
    assert thinning_victim([5, 9]) == 0 and thinning_victim([5]) == 0


def test_the_disk_bound_holds_after_every_step_and_the_kept_set_spans_the_run(tmp_path) -> None:
    cb = CheckpointSchedule(str(tmp_path), schedule="log", per_decade=10, max_disk_mb=0.35)  # 3 of 100 kB
    folder = tmp_path / "checkpoints" / "trajectory"
    sizes: list[int] = []
    run_steps(
        cb, FakeTrainer(100_000), 1000, lambda: sizes.append(sum(p.stat().st_size for p in folder.glob("*.ckpt")))
    )
    assert max(sizes) <= 350_000
    kept = [c["step"] for c in manifest(folder)["checkpoints"]]
    assert kept[0] == 0 and kept[-1] == 1000 and len(kept) == 3
    assert sorted(p.name for p in folder.glob("*.ckpt")) == sorted(f"step_{s}.ckpt" for s in kept)
    scheduled = [0, *log_steps(10, 1000)]
    assert (
        sorted(kept + manifest(folder)["removed"]) == scheduled
    )  # each scheduled step saved once, then kept or removed


def test_the_count_bound_keeps_a_log_spaced_subset(tmp_path) -> None:
    cb = CheckpointSchedule(str(tmp_path), schedule="log", per_decade=10, max_checkpoints=6, max_disk_mb=None)
    run_steps(cb, FakeTrainer(10), 10_000)
    kept = [c["step"] for c in manifest(tmp_path / "checkpoints" / "trajectory")["checkpoints"]]
    assert len(kept) == 6 and kept[0] == 0 and kept[-1] == 10_000
    gaps = [math.log1p(b) - math.log1p(a) for a, b in zip(kept[1:], kept[2:])]
    assert max(gaps) / min(gaps) < 2.5  # after the start, within a factor 2.5 of even spacing in log(1 + step)


def test_a_checkpoint_larger_than_the_bound_stops_the_schedule_with_one_warning(tmp_path) -> None:
    cb = CheckpointSchedule(str(tmp_path), schedule="every", every_n_steps=1, max_disk_mb=0.001)
    with pytest.warns(
        UserWarning, match=r"callbacks\.checkpoint_schedule\.max_disk_mb=0\.001: one checkpoint takes more"
    ) as seen:
        run_steps(cb, FakeTrainer(2000), 5)
    assert len([w for w in seen if "max_disk_mb" in str(w.message)]) == 1
    folder = tmp_path / "checkpoints" / "trajectory"
    assert cb.stopped and not list(folder.glob("*.ckpt"))
    assert manifest(folder)["stopped"] is True and manifest(folder)["checkpoints"] == []


def test_state_round_trips_and_a_resume_deletes_what_came_after_its_checkpoint(tmp_path) -> None:
    cb = CheckpointSchedule(str(tmp_path), schedule="every", every_n_steps=2)
    trainer = FakeTrainer(10)
    run_steps(cb, trainer, 4)
    state = json.loads(json.dumps(cb.state_dict()))
    run_steps(cb, trainer, 8)  # the segment a kill cuts short, after the checkpoint at step 4
    folder = tmp_path / "checkpoints" / "trajectory"
    (folder / ".step_10.ckpt.tmp-999999999").write_bytes(b"half")  # a write a kill cut short
    resumed = CheckpointSchedule(str(tmp_path), schedule="every", every_n_steps=2)
    resumed.load_state_dict(state)
    trainer.global_step = 4
    resumed.on_train_start(trainer, None)
    assert sorted(p.name for p in folder.iterdir()) == ["index.json", "step_0.ckpt", "step_2.ckpt", "step_4.ckpt"]
    run_steps(resumed, trainer, 6)
    assert [c["step"] for c in manifest(folder)["checkpoints"]] == [0, 2, 4, 6]


SMALL = [
    "objective.hidden_dims=[32]",
    "objective.out_dim=32",
    "callbacks.best_checkpoint=null",
    "callbacks.embedding_view=null",
]


def test_a_killed_and_resumed_run_keeps_the_trajectory_of_an_unbroken_one(make_cfg, tmp_path) -> None:
    """Killed after step 6 (its checkpoint: step 4, the end of epoch 0), resumed: the same kept steps, thinning
    included, as a run never stopped. Of the scheduled 0, 1, 2, 3, 4, 5, 6, 8 four are kept; the killed segment
    had thinned step 4 away and written step 6, after the checkpoint."""
    schedule = [
        "trainer.max_epochs=2",
        "callbacks.checkpoint_schedule.schedule=log",
        "callbacks.checkpoint_schedule.max_checkpoints=4",
    ]
    train(make_cfg(*LEAN, *SMALL, *schedule, run="straight"))
    split = killed_run(make_cfg, tmp_path, *SMALL, *schedule, step=6, run="split")
    folder = split / "checkpoints" / "trajectory"
    assert [c["step"] for c in manifest(folder)["checkpoints"]] == [0, 1, 2, 6]
    train(make_cfg(*schedule, f"resume={split}", run="ignored"))
    straight, resumed = manifest(tmp_path / "straight" / "checkpoints" / "trajectory"), manifest(folder)
    steps = [(c["step"], c["epoch"], c["file"]) for c in resumed["checkpoints"]]
    assert steps == [(c["step"], c["epoch"], c["file"]) for c in straight["checkpoints"]]
    assert steps == [(0, 0, "step_0.ckpt"), (2, 0, "step_2.ckpt"), (6, 1, "step_6.ckpt"), (8, 1, "step_8.ckpt")]
    assert sorted(resumed["removed"]) == sorted(straight["removed"]) == [1, 3, 4, 5]
    assert sorted(p.name for p in folder.glob("*.ckpt")) == [f for _, _, f in steps]
    weights = torch.load(folder / "step_6.ckpt", map_location="cpu", weights_only=False)
    assert weights["global_step"] == 6 and "optimizer_states" not in weights
    assert any(k.startswith("backbone.") for k in weights["state_dict"])


@pytest.mark.parametrize(
    "override, message",
    [
        (
            "schedule=sometimes",
            r"callbacks\.checkpoint_schedule\.schedule: must be one of none, log, every; got 'sometimes'",
        ),
        ("per_decade=0", r"callbacks\.checkpoint_schedule\.per_decade: must be an integer >= 1; got 0"),
        ("max_checkpoints=1", r"callbacks\.checkpoint_schedule\.max_checkpoints: must be an integer >= 2; got 1"),
        ("max_disk_mb=0", r"callbacks\.checkpoint_schedule\.max_disk_mb: must be a number > 0; got 0"),
        ("weights_only=1", r"callbacks\.checkpoint_schedule\.weights_only: must be true or false; got 1"),
    ],
)
def test_bad_settings_name_the_full_key_and_the_allowed_values(make_cfg, override, message) -> None:
    with pytest.raises(InstantiationException, match=message):
        build_callbacks(make_cfg(f"callbacks.checkpoint_schedule.{override}"))


def test_a_bad_setting_stops_the_run_before_training(make_cfg, tmp_path) -> None:
    with pytest.raises(
        ConfigError, match=r"^callbacks\.checkpoint_schedule\.schedule: must be one of none, log, every"
    ):
        train(make_cfg("callbacks.checkpoint_schedule.schedule=logarithmic"))
    assert not (tmp_path / "run").exists()
