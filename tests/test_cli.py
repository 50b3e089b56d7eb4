"""The command line end to end: runs, sweeps, launchers, one-line errors, leaderboard rebuild.

Each test starts real `python -m bench` processes (a few seconds each), on tiny images: the
embedded `skimage` dataset cropped to 32 × 32, or the test plugins' `synthetic` dataset."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from bench.leaderboard import read_rows_csv

TINY = ["crop=32", "limit=2"]


def leaderboard_of(folder: Path) -> pd.DataFrame:
    return pd.read_csv(folder / "leaderboard.csv")


def test_a_single_run_on_the_embedded_dataset_writes_a_leaderboard(bench_cli) -> None:
    result = bench_cli(*TINY, "hydra.run.dir=run")
    assert result.returncode == 0, result.stderr
    run = bench_cli.folder / "run"
    board = leaderboard_of(run)
    assert board[["method", "dataset", "sigma", "n_images"]].values.tolist() == [
        ["wavelet", "skimage", 25.0, 2]]
    assert {"psnr_mean", "psnr_se", "ssim_mean", "seconds_mean", "n_failed"} <= set(board.columns)
    assert "| wavelet | skimage | gaussian | 25 | 2 |" in result.stdout
    info = json.loads((run / "run_info.json").read_text())
    assert info["command"].startswith("python -m bench") and "crop=32" in info["command"]
    assert info["version"] and info["wall_seconds"] > 0
    assert len(read_rows_csv(run / "rows.csv")) == 2
    assert len(list((bench_cli.folder / "outputs" / "store").glob("rows-*.jsonl"))) == 1


def test_a_sweep_reports_every_job_and_records_failures_per_image(bench_cli) -> None:
    result = bench_cli("-m", "method=sleepy,broken", "sigma=25,50", "dataset=synthetic",
                       "hydra.sweep.dir=sweep")
    assert result.returncode == 0, result.stderr
    assert "method=broken sigma=50 dataset=synthetic" in result.stdout.split("#3 : ")[1]  # job index
    sweep = bench_cli.folder / "sweep"
    board = leaderboard_of(sweep).set_index(["method", "sigma"])
    assert board.n_images.to_dict() == {("sleepy", 25): 4, ("sleepy", 50): 4,
                                        ("broken", 25): 2, ("broken", 50): 2}
    assert board.n_failed.to_dict() == {("sleepy", 25): 0, ("sleepy", 50): 0,
                                        ("broken", 25): 2, ("broken", 50): 2}
    paired = pd.read_csv(sweep / "paired.csv")
    assert [{a, b} for a, b in zip(paired.method_a, paired.method_b)] == [{"sleepy", "broken"}] * 2
    assert paired.n_images.tolist() == [2, 2] and paired.psnr_diff_mean.tolist() == [0, 0]  # both identity
    markdown = (sweep / "leaderboard.md").read_text()
    assert "## Failures" in markdown and "NaN" in markdown

    rebuilt = subprocess.run([sys.executable, "-m", "bench.leaderboard", str(sweep), "--out", "rebuilt"],
                             cwd=bench_cli.folder, capture_output=True, text=True, timeout=120)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert leaderboard_of(bench_cli.folder / "rebuilt").equals(leaderboard_of(sweep))


@pytest.mark.parametrize("args, message", [
    (["dataset=xyz"], "error: unknown dataset 'xyz'; available: "),
    (["noise=salt"], "error: unknown noise 'salt'; available: clipped, gaussian, quantized"),
    (["sigma=-5"], "error: sigma must be > 0, got -5.0"),
    (["method=sleepy", "dataset=synthetic", "sigma=null"],
     "error: method 'sleepy' is not blind: it needs sigma"),
])
def test_bad_input_is_one_line_and_exit_status_2(bench_cli, args: list[str], message: str) -> None:
    result = bench_cli(*args)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith(message)
    assert "Traceback" not in result.stderr


def test_an_unknown_method_lists_shipped_and_plugin_methods(bench_cli) -> None:
    result = bench_cli("method=xyz")
    assert result.returncode == 2 and result.stderr.count("\n") == 1  # exactly one line
    error = result.stderr.strip()
    assert {"noisy", "wavelet", "sleepy", "broken"} <= set(error.split("available: ")[1].split(", "))


def test_an_unreadable_image_file_is_named(bench_cli) -> None:
    images = bench_cli.folder / "images"
    images.mkdir()
    (images / "notes.png").write_text("not an image")
    result = bench_cli("dataset=folder", f"dataset.root={images}", "method=noisy")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith(f"error: cannot read image {images / 'notes.png'}")


def test_a_job_that_cannot_run_keeps_the_rest_of_the_sweep(bench_cli) -> None:
    result = bench_cli("-m", "method=sleepy", "dataset=synthetic", "sigma=25,-1", "hydra.sweep.dir=sweep")
    assert result.returncode == 2
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith("error: job #1 (") and error.endswith(
        "method=sleepy dataset=synthetic sigma=-1): sigma must be > 0, got -1.0")
    assert leaderboard_of(bench_cli.folder / "sweep")[["sigma", "n_images"]].values.tolist() == [[25, 4]]


def test_submitit_local_launcher_runs_a_sweep(bench_cli) -> None:
    result = bench_cli("-m", "hydra/launcher=submitit_local", "method=noisy,wavelet", *TINY,
                       "hydra.sweep.dir=sweep", timeout=300)
    assert result.returncode == 0, result.stderr
    sweep = bench_cli.folder / "sweep"
    assert (sweep / ".submitit").is_dir()
    board = leaderboard_of(sweep)
    assert sorted(board.method) == ["noisy", "wavelet"] and board.n_images.tolist() == [2, 2]


def test_joblib_launcher_runs_jobs_in_two_worker_processes(bench_cli) -> None:
    result = bench_cli("-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "method=sleepy",
                       "dataset=synthetic", "sigma=25,50", "hydra.sweep.dir=sweep")
    assert result.returncode == 0, result.stderr
    assert leaderboard_of(bench_cli.folder / "sweep").n_images.tolist() == [4, 4]
    writers = list((bench_cli.folder / "outputs" / "store").glob("rows-*.jsonl"))
    assert len({path.name.split("-")[-2] for path in writers}) == 2  # two worker pids


def test_the_console_script_is_installed(bench_cli) -> None:
    script = shutil.which("denoise-bench") or str(Path(sys.executable).with_name("denoise-bench"))
    result = subprocess.run([script, "method=xyz"], capture_output=True, text=True, timeout=120,
                            cwd=bench_cli.folder)
    assert result.returncode == 2 and result.stderr.startswith("error: unknown method 'xyz'")
