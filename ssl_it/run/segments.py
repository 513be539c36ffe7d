"""A run's segments: its first start and every resume, each with its command line and wall time.

A resumed run trains in several processes, one segment each. Every segment
appends to ``<run dir>/segments.jsonl`` (one JSON line per event, flushed
and fsync'ed, so a kill loses nothing written): a ``start`` line when it
begins training (command line, overrides, time, host, pid) and an ``end``
line when it stops (``finished``, ``preempted`` or ``failed``, and its wall
time). A segment killed outright (SIGKILL, a crashed node) leaves a start
line with no end. :func:`read_segments` pairs the lines up; ``summary.json``
carries them with the total wall time (run_summary.py), and
:func:`last_status` is the status ``compare_runs.py`` shows.
"""

from __future__ import annotations

import json
import os
import shlex
import socket
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

SEGMENTS_FILE = "segments.jsonl"


def _append(run_dir: Path, line: dict[str, Any]) -> None:
    with (Path(run_dir) / SEGMENTS_FILE).open("a") as f:
        f.write(json.dumps(line) + "\n")
        f.flush()
        os.fsync(f.fileno())


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def begin(run_dir: Path, overrides: Sequence[str], argv: Sequence[str] | None = None) -> None:
    """Record that a segment starts training: its command line (``sys.argv``) and Hydra overrides."""
    _append(
        run_dir,
        {
            "event": "start",
            "started": _now(),
            "command": shlex.join(sys.argv if argv is None else argv),
            "overrides": list(overrides),
            "host": socket.gethostname(),
            "pid": os.getpid(),
        },
    )


def end(run_dir: Path, status: str, wall_time_s: float) -> None:
    """Record how the running segment ended and the seconds it took."""
    _append(run_dir, {"event": "end", "ended": _now(), "status": status, "wall_time_s": round(wall_time_s, 2)})


def read_segments(run_dir: Path) -> list[dict[str, Any]]:
    """One dict per segment, oldest first: ``command``, ``overrides``, ``started``, and, once it ended,
    ``ended``, ``status`` and ``wall_time_s`` (``None`` for a segment that never recorded its end).
    An end with no start of its own (a summary written outside ``train()``) is a segment with no command."""
    path = Path(run_dir) / SEGMENTS_FILE
    if not path.is_file():
        return []
    segments: list[dict[str, Any]] = []
    for text in path.read_text().splitlines():
        if not text.strip():
            continue
        line = json.loads(text)
        event = line.pop("event")
        if event == "start" or not segments or segments[-1]["status"] is not None:
            segments.append(
                {
                    "command": None,
                    "overrides": [],
                    "started": None,
                    "host": None,
                    "pid": None,
                    "ended": None,
                    "status": None,
                    "wall_time_s": None,
                }
            )
        segments[-1].update(line)
    return segments


def last_status(segments: Sequence[dict[str, Any]]) -> str | None:
    """How the latest segment ended; for one that recorded no end: ``running`` while its process is alive on
    this host, ``killed`` once it is not, ``killed or running`` when it ran on another host. ``None``: no segments."""
    if not segments:
        return None
    last = segments[-1]
    if last["status"] is not None:
        return str(last["status"])
    if last.get("host") != socket.gethostname() or last.get("pid") is None:
        return "killed or running"
    try:
        os.kill(int(last["pid"]), 0)
    except ProcessLookupError:
        return "killed"
    except PermissionError:  # alive, another user's
        return "running"
    return "running"
