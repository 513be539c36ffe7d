"""A run folder is self-contained: paths saved in its config follow the folder.

``config.yaml`` is saved resolved, so every path a run writes
(``paths.output_dir``, ``infoplane.run_dir``, ``callbacks.*.dirpath``) is
stored as an absolute path of the folder where the run first started. A run
that was moved, copied or renamed and then resumed would write there, into
another run. :func:`relocate` rewrites every string of the saved config
that is that folder, or a path inside it, to the same path inside the folder
being resumed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import DictConfig, ListConfig


def _moved(value: str, old: str, new: str) -> str | None:
    if value == old:
        return new
    if value.startswith(old.rstrip("/") + "/"):
        return new.rstrip("/") + value[len(old.rstrip("/")) :]
    return None


def _walk(node: Any, prefix: str, old: str, new: str, changed: dict[str, str]) -> None:
    keys: list[Any] = list(node.keys()) if isinstance(node, DictConfig) else list(range(len(node)))
    for key in keys:
        full = prefix + str(key) if isinstance(node, DictConfig) else f"{prefix[:-1]}[{int(key)}]"
        child = node._get_node(key)
        if isinstance(child, (DictConfig, ListConfig)):
            _walk(child, f"{full}.", old, new, changed)
            continue
        value = child._value() if child is not None else None
        moved = _moved(value, old, new) if isinstance(value, str) else None
        if moved is not None:
            node[key] = moved
            changed[full] = moved


def relocate(config: DictConfig, old_dir: str | Path, new_dir: str | Path) -> dict[str, str]:
    """Rewrite, in place, every path of ``config`` inside ``old_dir`` to the
    same path inside ``new_dir``; returns ``{key: new path}`` of what changed
    (nothing when the folder has not moved)."""
    old, new = str(old_dir), str(new_dir)
    changed: dict[str, str] = {}
    if old and Path(old) != Path(new):
        _walk(config, "", old, new, changed)
    return changed
