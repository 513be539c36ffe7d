"""Read an offline W&B run file (``run-<id>.wandb``) back, to check what was logged.

Written here because wandb 0.31 no longer ships the Python reader
(``wandb.sdk.internal.datastore``) that ``wandb sync`` used. The file is a
7-byte header (``:W&B``, magic 0xBEE1, version) followed by 32 KiB blocks of
LevelDB-log records: a 7-byte header (crc32, length, type: 1 full, 2 first,
3 middle, 4 last) and the payload, a protobuf ``wandb.proto.Record``. The
crc is zlib's crc32 of the type byte followed by the payload.

``run.finish()`` can return while W&B's service is still writing the file
(seen once in CI: a record cut in half), so :func:`read_offline_run` waits
until the file ends in complete records and holds the run's exit record.
"""

from __future__ import annotations

import json
import struct
import time
import zlib
from pathlib import Path
from typing import Any

BLOCK = 32 * 1024
HEADER = struct.Struct("<IHB")
FILE_HEADER = struct.Struct("<4sHB")


def offline_run_files(root: Path) -> list[Path]:
    return sorted(Path(root).rglob("offline-run-*/run-*.wandb"))


class Incomplete(Exception):
    """The file ends inside a record (still being written)."""


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
        crc, length, kind = HEADER.unpack_from(data, pos)
        pos += HEADER.size
        chunk = data[pos : pos + length]
        pos += length
        if kind == 0 and length == 0:
            break
        if len(chunk) < length or zlib.crc32(chunk, zlib.crc32(bytes([kind]))) != crc:
            raise Incomplete(f"{path}: record at byte {pos - length - HEADER.size} is not complete")
        if kind == 1:
            yield chunk
        elif kind == 2:
            pending = chunk
        elif kind == 3:
            pending += chunk
        elif kind == 4:
            yield pending + chunk
            pending = b""


def read_offline_run(path: Path, timeout: float = 30.0) -> dict[str, Any]:
    """``{"history": [row dicts], "summary": {...}, "config": {...}, "run_id": str}``,
    once the file is complete (polled for up to ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            out = _read_once(path)
            if out["exited"]:
                return out
        except Incomplete:
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise AssertionError(f"{path}: no exit record after {timeout} s")
        time.sleep(0.2)


def _read_once(path: Path) -> dict[str, Any]:
    from wandb.proto import wandb_internal_pb2

    out: dict[str, Any] = {"history": [], "summary": {}, "config": {}, "run_id": None, "exited": False}
    for payload in iter_payloads(path):
        rec = wandb_internal_pb2.Record()
        rec.ParseFromString(payload)
        kind = rec.WhichOneof("record_type")
        if kind == "exit":
            out["exited"] = True
        elif kind == "history":
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
