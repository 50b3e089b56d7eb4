"""The Hydra callback that writes the leaderboard when a run or a whole sweep ends.

Callbacks run in the launching process while jobs may run elsewhere (joblib workers, submitit
on SLURM), so the report is built from the files the jobs left in the run or sweep folder (see
`bench.jobfiles`): a multirun's leaderboard and `report.html` cover every job of the sweep. Jobs
that could not run are reported after the leaderboard of the ones that did: Hydra turns
exceptions raised in callbacks into warnings, so their error lines are handed to
`bench.__main__.main` via `failed_jobs()`."""

from __future__ import annotations

import datetime
import json
import platform
import socket
import time
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from bench.errors import BenchError
from bench.jobfiles import read_job_errors
from bench.leaderboard import collect_rows, print_summary, write_report
from bench.provenance import command_line, git_commit, package_version
from bench.report.page import write_html_report

_failed_jobs: list[str] = []


def failed_jobs() -> list[str]:
    """Error lines of the jobs that could not run, from every report made in this process."""
    return list(_failed_jobs)


class LeaderboardCallback(Callback):
    """`gallery_images` (config `hydra.callbacks.leaderboard.gallery_images`): how many images the
    report's gallery re-runs the methods on; 0 for none."""

    def __init__(self, gallery_images: int = 1) -> None:
        self._started = time.time()
        self._gallery_images = gallery_images

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._started = time.time()

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._started = time.time()

    def on_run_end(self, config: DictConfig, **kwargs: Any) -> None:
        report(Path(config.hydra.runtime.output_dir), self._started, self._gallery_images)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        report(Path(str(config.hydra.sweep.dir)), self._started, self._gallery_images)


def report(folder: Path, started: float, gallery_images: int = 1) -> None:
    """Leaderboard files, report.html and run_info.json in `folder`; failed jobs are remembered."""
    _failed_jobs.extend(read_job_errors(folder))
    try:
        rows = collect_rows([folder]) if folder.is_dir() else []
        if rows:
            info = run_info(started)
            board = write_report(rows, folder, info)
            (folder / "run_info.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
            print_summary(board, folder)
            page = write_html_report(rows, folder / "report.html", info, gallery_images=gallery_images)
            print(f"report: {page}")
    except BenchError as error:
        _failed_jobs.append(f"no leaderboard written in {folder}: {error}")


def run_info(started: float) -> dict[str, Any]:
    """Provenance of a report: how to reproduce it and how long it took."""
    return {
        "command": command_line(),
        "version": package_version(),
        "commit": git_commit(),
        "started_at": _iso(started),
        "wall_seconds": round(time.time() - started, 3),
        "host": socket.gethostname(),
        "python": platform.python_version(),
    }


def _iso(timestamp: float) -> str:
    return datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc).isoformat(timespec="seconds")
