import math

from ssl_it.analysis.plotting import plot_information_plane, save_figure
from ssl_it.run.trajectory import COLUMNS, TrajectoryFile, read_trajectory


def rows(step: int) -> list[dict]:
    return [
        {
            "step": step,
            "epoch": step / 10,
            "layer": layer,
            "estimator": "kde",
            "bound": "upper",
            "I_XT": 1.0 + step,
            "I_TY": 0.5,
            "log_n": math.log(100),
            "H_Y": math.log(10),
        }
        for layer in ("backbone", "projector")
    ]


def test_append_read_and_truncate_for_resume(tmp_path):
    traj = TrajectoryFile(tmp_path / "infoplane.csv")
    traj.append(rows(0))
    traj.append(rows(10))
    bookmark = traj.rows_written
    traj.append(rows(20))  # written after the checkpoint, lost by a kill
    assert len(read_trajectory(traj.path)) == 6
    resumed = TrajectoryFile(tmp_path / "infoplane.csv")
    resumed.truncate_to(bookmark)
    back = read_trajectory(traj.path)
    assert [r["step"] for r in back] == [0, 0, 10, 10]
    assert back[2]["I_XT"] == 11.0 and back[0]["I_Z1Z2"] is None
    assert list(back[0].keys()) == COLUMNS


def test_plot_writes_png(tmp_path):
    fig = plot_information_plane([("a", rows(0) + rows(10)), ("b", rows(5))], units="bits")
    save_figure(fig, tmp_path / "p.png")
    assert (tmp_path / "p.png").stat().st_size > 5000
