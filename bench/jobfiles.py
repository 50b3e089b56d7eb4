"""What a job leaves in its own Hydra folder for the report built after the run or sweep.

Launchers (joblib, submitit) run jobs in other processes or on other hosts, and the callback that
builds the leaderboard sees only the filesystem: each job writes `job_rows.csv` (its rows, new or
reused from the store) or, if the job could not run, `job_error.txt` (one line)."""

from __future__ import annotations

from pathlib import Path

from bench.leaderboard import JOB_ROWS, write_rows_csv
from bench.store import Row

JOB_ERROR = "job_error.txt"


def write_job_rows(job_dir: Path, rows: list[Row]) -> None:
    job_dir.mkdir(parents=True, exist_ok=True)
    write_rows_csv(rows, job_dir / JOB_ROWS)


def write_job_error(job_dir: Path, message: str) -> None:
    job_dir.mkdir(parents=True, exist_ok=True)
    (job_dir / JOB_ERROR).write_text(" ".join(message.split()) + "\n", encoding="utf-8")


def read_job_errors(folder: Path) -> list[str]:
    """The error lines of the failed jobs under `folder`, in job-folder order."""
    return [path.read_text(encoding="utf-8").strip() for path in sorted(folder.rglob(JOB_ERROR))]
