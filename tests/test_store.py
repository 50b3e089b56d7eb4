"""The results store: durable appends, torn lines skipped, concurrent writers lose nothing."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from bench.store import FAILED, OK, ResultStore, latest_rows, row_key


def make_row(image_id: str, status: str = OK, finished_at: str = "2026-01-01T00:00:00", **extra):
    return {"config_hash": "c", "dataset_hash": "d", "image_id": image_id, "sigma": 25.0,
            "seed": 0, "status": status, "finished_at": finished_at, "psnr": 30.0, **extra}


def test_rows_written_by_one_store_are_read_back_by_another(tmp_path: Path) -> None:
    with ResultStore(tmp_path / "store") as store:
        store.append(make_row("a"))
        store.append(make_row("b", status=FAILED))
    rows = ResultStore(tmp_path / "store").rows()
    assert [row["image_id"] for row in rows] == ["a", "b"]
    assert [row_key(row) for row in rows] == [("c", "d", "a", 25.0, 0, "gaussian"), ("c", "d", "b", 25.0, 0, "gaussian")]


def test_an_empty_or_missing_store_has_no_rows(tmp_path: Path) -> None:
    assert ResultStore(tmp_path / "nothing").rows() == []


def test_a_torn_last_line_from_a_killed_writer_is_skipped(tmp_path: Path) -> None:
    with ResultStore(tmp_path) as store:
        store.append(make_row("a"))
    (written,) = tmp_path.glob("rows-*.jsonl")
    with open(written, "a") as handle:
        handle.write('{"config_hash": "c", "image_id": "b", "sig')  # killed mid-write
    with ResultStore(tmp_path) as store:
        store.append(make_row("c"))
    assert sorted(row["image_id"] for row in ResultStore(tmp_path).rows()) == ["a", "c"]


def test_latest_rows_prefers_success_then_recency() -> None:
    rows = [
        make_row("a", status=FAILED, finished_at="2026-01-03"),
        make_row("a", finished_at="2026-01-01", psnr=1.0),
        make_row("a", finished_at="2026-01-02", psnr=2.0),
        make_row("b", status=FAILED, finished_at="2026-01-01", error="old"),
        make_row("b", status=FAILED, finished_at="2026-01-02", error="new"),
    ]
    chosen = {row["image_id"]: row for row in latest_rows(rows)}
    assert chosen["a"]["psnr"] == 2.0 and chosen["a"]["status"] == OK
    assert chosen["b"]["error"] == "new"
    assert row_key(chosen["a"]) == ("c", "d", "a", 25.0, 0, "gaussian")


WRITER = """
import sys, time
from pathlib import Path
from bench.store import ResultStore
folder, name, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
(folder / f"ready-{name}").touch()
while not (folder / "go").exists():  # start writing together
    time.sleep(0.01)
store = ResultStore(folder / "store")
for index in range(count):
    store.append({"config_hash": name, "dataset_hash": "d", "image_id": str(index),
                  "sigma": 25.0, "seed": 0, "status": "ok", "finished_at": "t"})
    time.sleep(0.001)
"""


def test_two_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    names = ("first", "second")
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), name, "300"])
               for name in names]
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"ready-{name}").exists() for name in names):
        assert time.monotonic() < deadline, "writers did not start"
        time.sleep(0.01)
    (tmp_path / "go").touch()
    assert [writer.wait(timeout=120) for writer in writers] == [0, 0]
    keys = [row_key(row) for row in ResultStore(tmp_path / "store").rows()]
    assert len(keys) == len(set(keys)) == 600
