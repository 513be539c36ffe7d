"""Read an offline W&B run file back (the reader ``wandb sync`` itself uses)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def offline_run_files(root: Path) -> list[Path]:
    return sorted(Path(root).rglob("offline-run-*/run-*.wandb"))


def read_offline_run(path: Path) -> dict[str, Any]:
    """``{"history": [row dicts], "summary": {...}, "config": {...}, "run_id": str}``."""
    from wandb.proto import wandb_internal_pb2
    from wandb.sdk.internal.datastore import DataStore

    store = DataStore()
    store.open_for_scan(str(path))
    out: dict[str, Any] = {"history": [], "summary": {}, "config": {}, "run_id": None}
    while (data := store.scan_data()) is not None:
        rec = wandb_internal_pb2.Record()
        rec.ParseFromString(data)
        kind = rec.WhichOneof("record_type")
        if kind == "history":
            row: dict[str, Any] = {}
            for item in rec.history.item:
                key = item.key or "/".join(item.nested_key)
                _put(row, key, json.loads(item.value_json))
            out["history"].append(row)
        elif kind == "summary":
            for item in rec.summary.update:
                key = item.key or "/".join(item.nested_key)
                out["summary"][key] = json.loads(item.value_json)
        elif kind == "run":
            out["run_id"] = rec.run.run_id
            for item in rec.run.config.update:
                out["config"][item.key or "/".join(item.nested_key)] = json.loads(item.value_json)
        elif kind == "config":
            for item in rec.config.update:
                out["config"][item.key or "/".join(item.nested_key)] = json.loads(item.value_json)
    return out


def _put(row: dict[str, Any], key: str, value: Any) -> None:
    row[key] = value
