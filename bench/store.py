"""The results store: every per-image result ever computed, safe against kill -9 and concurrent
writers, locally and on a shared cluster filesystem.

A store is a directory. Each writer (one per job process) appends JSON lines to a file of its own,
`rows-<host>-<pid>-<random>.jsonl`, flushing and fsync-ing after every row, so
- a process killed mid-way loses at most the row it was writing (a truncated last line, which
  readers skip) and never damages a row already written;
- writers never share a file, so no locking is needed and no row is lost when many write at once
  (also over NFS, where append-mode writes from two hosts to one file may interleave).
A row's key is (config hash, dataset hash, image id, σ, seed, noise model); rows written before
noise models existed have no `noise` field and are `gaussian`, the only protocol there was. Several rows may share a key (a
failure followed by a retry, or two workers racing on the same job); `latest_rows` picks one: the
most recent successful row, else the most recent failure.
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

from bench.protocol import DEFAULT_NOISE

Row = dict[str, Any]
RowKey = tuple[str, str, str, float, int, str]

OK = "ok"
FAILED = "failed"


def row_key(row: Row) -> RowKey:
    """The identity of a result: same key → same method, options, image, noise."""
    return (
        str(row["config_hash"]),
        str(row["dataset_hash"]),
        str(row["image_id"]),
        float(row["sigma"]),
        int(row["seed"]),
        row_noise(row),
    )


def row_noise(row: Row) -> str:
    """The row's noise model; rows from before noise models existed are gaussian."""
    noise = row.get("noise")
    return noise if isinstance(noise, str) and noise else DEFAULT_NOISE


def latest_rows(rows: Iterable[Row]) -> list[Row]:
    """One row per key: the newest successful one if any, else the newest failure.

    Rows are ranked by their `finished_at` timestamp (ISO 8601 UTC, so strings sort by time)."""
    best: dict[RowKey, Row] = {}
    for row in rows:
        key = row_key(row)
        current = best.get(key)
        if current is None or _rank(row) > _rank(current):
            best[key] = row
    return list(best.values())


def _rank(row: Row) -> tuple[bool, str]:
    return (row.get("status") == OK, str(row.get("finished_at", "")))


class ResultStore:
    """Append-only rows in a directory; created on first write."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root).expanduser()
        self._file: TextIO | None = None

    def append(self, row: Row) -> None:
        """Write one row durably (flushed and fsync-ed before returning)."""
        handle = self._writer()
        handle.write(json.dumps(row, sort_keys=True, allow_nan=True) + "\n")
        handle.flush()
        os.fsync(handle.fileno())

    def rows(self) -> list[Row]:
        """Every complete row of every writer's file (a torn last line is skipped)."""
        return [row for path in sorted(self.root.glob("rows-*.jsonl")) for row in _read_lines(path)]

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _writer(self) -> TextIO:
        if self._file is None:
            self.root.mkdir(parents=True, exist_ok=True)
            name = f"rows-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}.jsonl"
            self._file = open(self.root / name, "a", encoding="utf-8")
        return self._file


def _read_lines(path: Path) -> Iterator[Row]:
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if not line.endswith("\n"):
                return  # torn write of a killed process
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(row, dict):
                yield row
