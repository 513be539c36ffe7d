"""Read an offline W&B run file (``run-<id>.wandb``) back, to check what was logged.

Written here because wandb 0.31 no longer ships the Python reader
(``wandb.sdk.internal.datastore``) that ``wandb sync`` used. The file is a
7-byte header (``:W&B``, magic 0xBEE1, version) followed by 32 KiB blocks of
LevelDB-log records: a 7-byte header (crc32, length, type: 1 full, 2 first,
3 middle, 4 last) and the payload, a protobuf ``wandb.proto.Record``.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

BLOCK = 32 * 1024
HEADER = struct.Struct("<IHB")
FILE_HEADER = struct.Struct("<4sHB")


def offline_run_files(root: Path) -> list[Path]:
    return sorted(Path(root).rglob("offline-run-*/run-*.wandb"))


def iter_payloads(path: Path):  # noqa: ANN201
    data = Path(path).read_bytes()
    ident, magic, _version = FILE_HEADER.unpack_from(data, 0)
    assert ident == b":W&B" and magic == 0xBEE1, "not a W&B run file"
    pos, pending = FILE_HEADER.size, b""
    while pos + HEADER.size <= len(data):
        left_in_block = BLOCK - pos % BLOCK
        if left_in_block < HEADER.size:
            pos += left_in_block
            continue
        _crc, length, kind = HEADER.unpack_from(data, pos)
        pos += HEADER.size
        chunk = data[pos : pos + length]
        pos += length
        if kind == 0 and length == 0:
            break
        if kind == 1:
            yield chunk
        elif kind == 2:
            pending = chunk
        elif kind == 3:
            pending += chunk
        elif kind == 4:
            yield pending + chunk
            pending = b""


def read_offline_run(path: Path) -> dict[str, Any]:
    """``{"history": [row dicts], "summary": {...}, "config": {...}, "run_id": str}``."""
    from wandb.proto import wandb_internal_pb2

    out: dict[str, Any] = {"history": [], "summary": {}, "config": {}, "run_id": None}
    for payload in iter_payloads(path):
        rec = wandb_internal_pb2.Record()
        rec.ParseFromString(payload)
        kind = rec.WhichOneof("record_type")
        if kind == "history":
            row: dict[str, Any] = {}
            for item in rec.history.item:
                _put(row, list(item.nested_key) or [item.key], json.loads(item.value_json))
            out["history"].append(row)
        elif kind == "summary":
            for item in rec.summary.update:
                _put(out["summary"], list(item.nested_key) or [item.key], json.loads(item.value_json))
        elif kind in ("run", "config"):
            updates = rec.run.config.update if kind == "run" else rec.config.update
            if kind == "run":
                out["run_id"] = rec.run.run_id
            for item in updates:
                _put(out["config"], list(item.nested_key) or [item.key], json.loads(item.value_json))
    return out


def _put(target: dict[str, Any], keys: list[str], value: Any) -> None:
    for key in keys[:-1]:
        target = target.setdefault(key, {})
    target[keys[-1]] = value
