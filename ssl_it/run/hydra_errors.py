"""Hydra's own errors, before a job starts, as one line and exit status 2.

Hydra reports a failure to compose the configuration (an unknown group
option, an unknown key) or to create the run directory with a multi-line
message and exit status 1 (``hydra._internal.utils.run_and_report``).
:func:`one_line_errors` replaces that reporter while ``train.py`` runs:
before the task function has started, an error is an invalid configuration
(``ssl_it: invalid configuration: <key>: ...`` with the close matches,
exit 2); once a job runs, Hydra's reporter handles it as before.
"""

from __future__ import annotations

import difflib
import functools
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

EXIT_CONFIG = 2
_state = {"task_started": False}

_MISSING_OPTION = re.compile(r"Could not find '([^']+)/([^']+)'")
_MISSING_KEY = re.compile(r"Could not override '([^']+)'|Key '([^']+)' is not in struct")


def task_started() -> None:
    """Called by the task function: later errors are the job's, not the configuration's."""
    _state["task_started"] = True


def _reraise(error: BaseException) -> NoReturn:
    raise error


def _flat_keys(node: Any, prefix: str = "") -> list[str]:
    keys = []
    for key, value in node.items() if hasattr(node, "items") else []:
        full = f"{prefix}{key}"
        keys.append(full)
        keys += _flat_keys(value, f"{full}.") if hasattr(value, "items") else []
    return keys


def _default_keys(config_dir: str) -> list[str]:
    """Every key of the default configuration (for close matches); empty if it cannot be composed."""
    try:
        from hydra import compose, initialize_config_dir
        from hydra.core.global_hydra import GlobalHydra
        from omegaconf import OmegaConf

        GlobalHydra.instance().clear()
        with initialize_config_dir(config_dir=config_dir, version_base="1.3"):
            cfg = compose("train")
        return _flat_keys(OmegaConf.to_container(cfg, resolve=False))
    except Exception:
        return []


def _listed_options(lines: list[str]) -> list[str]:
    """The option names Hydra lists after ``Available options in '<group>':``."""
    start = next((i for i, line in enumerate(lines) if line.startswith("Available options")), None)
    if start is None:
        return []
    options = []
    for line in lines[start + 1 :]:
        if line.startswith("Config search path") or " " in line or "=" in line:
            break
        options.append(line)
    return options


def one_line(err: BaseException, config_dir: str, multirun: bool) -> str:
    """The error as ``<key>: <what is wrong>; <what is allowed>``."""
    text = str(err)
    lines = [line.strip() for line in text.splitlines() if line.strip() and "HYDRA_FULL_ERROR" not in line]
    if isinstance(err, OSError) and err.filename is not None:
        key = "hydra.sweep.dir" if multirun else "hydra.run.dir"
        return f"{key}: cannot create '{err.filename}' ({err.strerror or type(err).__name__})"
    option = _MISSING_OPTION.search(text)
    if option:
        group, name = option.groups()
        available = _listed_options(lines)
        close = difflib.get_close_matches(name, available, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        return f"{group}={name}: no such option{hint} (options: {', '.join(available)})"
    key_match = _MISSING_KEY.search(text)
    if key_match and "Could not override" in text:
        key = key_match.group(1)
        close = difflib.get_close_matches(key, _default_keys(config_dir), n=3)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        return f"{key}: no such key; {hint}(+{key}=... adds a key that is not in the config)"
    return "; ".join(lines) or type(err).__name__


@contextmanager
def one_line_errors(config_dir: str) -> Iterator[None]:
    """Within the block, Hydra's errors before the task starts are one line, exit 2."""
    import hydra._internal.utils as hydra_utils

    original: Callable[[Any], Any] = hydra_utils.run_and_report

    def run_and_report(func: Any) -> Any:
        try:
            return func()
        except Exception as err:
            if _state["task_started"]:
                # bound now: Python unbinds ``err`` when this except block ends
                return original(functools.partial(_reraise, err))
            multirun = "-m" in sys.argv or "--multirun" in sys.argv
            print(f"ssl_it: invalid configuration: {one_line(err, config_dir, multirun)}", file=sys.stderr, flush=True)
            sys.exit(EXIT_CONFIG)

    setattr(hydra_utils, "run_and_report", run_and_report)  # noqa: B010  (a module attribute Hydra reads at call time)
    try:
        yield
    finally:
        setattr(hydra_utils, "run_and_report", original)  # noqa: B010
