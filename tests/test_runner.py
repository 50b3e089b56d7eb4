"""The job runner: the protocol per image, resume from the store, failures as rows, bad input."""

from __future__ import annotations

import dataclasses
import os
import signal
import time
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

import bench
from bench import BenchError, get_dataset
from bench.plugins import load_plugins
from bench.protocol import noisy_version, psnr
from bench.runner import JobSpec, centre_crop, run_job
from bench.store import FAILED, OK, ResultStore, row_key

TEST_PLUGINS = Path(__file__).parent / "plugins"


@pytest.fixture(autouse=True, scope="module")
def test_plugins() -> None:
    load_plugins([str(TEST_PLUGINS / "bench_test_plugins.py")])


def job(**changes) -> JobSpec:
    base = JobSpec(method="sleepy", dataset="synthetic", sigma=25.0,
                   dataset_options={"n": 3, "size": 16})
    return dataclasses.replace(base, **changes)


def test_rows_follow_the_protocol(tmp_path: Path) -> None:
    rows = run_job(job(), ResultStore(tmp_path))
    assert [row["image_id"] for row in rows] == ["img00", "img01", "img02"]
    dataset = get_dataset("synthetic", n=3, size=16)
    for row in rows:
        clean = dataset.load(row["image_id"])
        noisy = noisy_version(clean, "synthetic", row["image_id"], 25.0, 0)
        assert row["psnr"] == pytest.approx(psnr(clean, noisy))  # sleepy is the identity
        assert row["status"] == OK and row["error"] == "" and 0 <= row["seconds"] < 5
        assert row["version"] == bench.__version__ and (row["height"], row["width"]) == (16, 16)


def test_every_method_sees_the_same_noise(tmp_path: Path) -> None:
    store = ResultStore(tmp_path)
    ours = run_job(job(), store)
    baseline = run_job(job(method="noisy"), store)
    assert [row["psnr"] for row in ours] == [row["psnr"] for row in baseline]
    assert ours[0]["config_hash"] != baseline[0]["config_hash"]


def test_a_second_run_reuses_finished_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = tmp_path / "calls"
    monkeypatch.setenv("BENCH_TEST_CALLS", str(calls))
    first = run_job(job(), ResultStore(tmp_path / "store"))
    second = run_job(job(), ResultStore(tmp_path / "store"))
    assert second == first and len(calls.read_text().splitlines()) == 3
    run_job(job(method_options={"delay": 0.001}), ResultStore(tmp_path / "store"))
    assert len(calls.read_text().splitlines()) == 6  # other options: another configuration


def test_limit_takes_the_first_images_and_crop_is_a_different_dataset(tmp_path: Path) -> None:
    cropped = run_job(job(limit=2, crop=8), ResultStore(tmp_path))
    assert [(row["image_id"], row["height"], row["width"]) for row in cropped] == [
        ("img00", 8, 8), ("img01", 8, 8)]
    assert cropped[0]["dataset_hash"] != job().dataset_hash


@pytest.mark.parametrize("mode, message", [
    ("nan", "NaN"), ("shape", "shape (15, 16), expected (16, 16)"), ("raise", "deliberate failure")])
def test_a_failing_method_is_a_failed_row_and_the_job_goes_on(
        tmp_path: Path, mode: str, message: str) -> None:
    spec = job(method="broken", method_options={"mode": mode, "fail_every": 2},
               dataset_options={"n": 4, "size": 16})
    rows = run_job(spec, ResultStore(tmp_path))
    assert [row["status"] for row in rows] == [OK, FAILED, OK, FAILED]
    assert message in rows[1]["error"] and rows[1]["psnr"] is None
    assert len(ResultStore(tmp_path).rows()) == 4


def test_failed_images_are_retried_on_resume(tmp_path: Path) -> None:
    spec = job(method="broken", method_options={"mode": "nan", "fail_every": 2},
               dataset_options={"n": 4, "size": 16})
    run_job(spec, ResultStore(tmp_path))
    # a fresh instance retries img01 (its 1st call: fine) and img03 (its 2nd call: fails again)
    rows = run_job(spec, ResultStore(tmp_path))
    assert [row["status"] for row in rows] == [OK, OK, OK, FAILED]
    assert len(ResultStore(tmp_path).rows()) == 6


@pytest.mark.parametrize("method, sigma, message", [
    ("sleepy", 0.0, "sigma must be > 0"),
    ("sleepy", -5.0, "sigma must be > 0"),
    ("sleepy", None, "'sleepy' is not blind: it needs sigma"),
    ("broken", None, "sigma is missing"),
])
def test_a_bad_sigma_stops_the_job_before_any_row(
        tmp_path: Path, method: str, sigma: float | None, message: str) -> None:
    with pytest.raises(BenchError, match=message):
        run_job(job(method=method, sigma=sigma), ResultStore(tmp_path))
    assert ResultStore(tmp_path).rows() == []


def test_an_empty_dataset_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(BenchError, match="'synthetic' has no images"):
        run_job(job(dataset_options={"n": 0}), ResultStore(tmp_path))


def test_job_spec_reads_the_hydra_config() -> None:
    cfg = OmegaConf.create({
        "method": {"name": "wavelet", "options": {"wavelet": "db2"}},
        "dataset": {"name": "skimage", "images": ["camera"], "options": {"images": "${..images}"}},
        "sigma": 50, "seed": 3, "limit": None, "crop": 64})
    spec = JobSpec.from_config(cfg)
    assert spec == JobSpec(method="wavelet", dataset="skimage", sigma=50.0, seed=3,
                           method_options={"wavelet": "db2"},
                           dataset_options={"images": ["camera"]}, crop=64)


@pytest.mark.parametrize("key, value, message", [
    ("sigma", "abc", "sigma must be a number"),
    ("seed", 1.5, "seed must be a whole number"),
    ("limit", 0, "limit must be a positive whole number"),
    ("crop", -3, "crop must be a positive whole number"),
])
def test_job_spec_rejects_bad_values(key: str, value: object, message: str) -> None:
    cfg = OmegaConf.create({"method": {"name": "noisy", "options": {}},
                            "dataset": {"name": "skimage", "options": {}},
                            "sigma": 25, "seed": 0, "limit": None, "crop": None, key: value})
    with pytest.raises(BenchError, match=message):
        JobSpec.from_config(cfg)


def test_a_missing_mandatory_dataset_option_is_named() -> None:
    cfg = OmegaConf.create({"method": {"name": "noisy", "options": {}},
                            "dataset": {"name": "folder", "root": "???", "options": {"root": "${..root}"}},
                            "sigma": 25, "seed": 0})
    with pytest.raises(BenchError, match="missing value for dataset.root"):
        JobSpec.from_config(cfg)


def test_centre_crop_keeps_short_sides_whole() -> None:
    image = np.arange(6 * 10).reshape(6, 10)
    assert centre_crop(image, 4).tolist() == image[1:5, 3:7].tolist()
    assert centre_crop(image, 8).shape == (6, 8)
    assert centre_crop(image, None) is image


def ok_rows(store: Path) -> list:
    return [row for row in ResultStore(store).rows() if row["status"] == OK]


def test_a_sweep_killed_mid_way_resumes_without_losing_or_repeating_rows(bench_cli, tmp_path: Path) -> None:
    store, calls = tmp_path / "outputs" / "store", tmp_path / "calls"
    args = ["method=sleepy", "method.options.delay=0.3", "dataset=synthetic", "dataset.n=10",
            "hydra.callbacks.leaderboard.gallery_images=0"]  # no extra denoise calls for report.html
    process = bench_cli.start(*args, BENCH_TEST_CALLS=str(calls))
    deadline = time.monotonic() + 120
    while len(ok_rows(store)) < 3:
        assert process.poll() is None and time.monotonic() < deadline, "run ended before rows appeared"
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    kept = len(ok_rows(store))
    assert 3 <= kept < 10
    calls.unlink()

    result = bench_cli(*args, BENCH_TEST_CALLS=str(calls))
    assert result.returncode == 0, result.stderr
    rows = ok_rows(store)
    assert len(rows) == len({row_key(row) for row in rows}) == 10  # none lost, none repeated
    assert len(calls.read_text().splitlines()) == 10 - kept


def test_retrained_parameters_are_not_mistaken_for_the_old_ones(tmp_path: Path) -> None:
    """A method's `fingerprint(sigma)` (e.g. its weight file's hash) is part of the row key."""
    from bench.registry import METHODS

    class Versioned:
        blind = False
        version = "weights-v1"

        def fingerprint(self, sigma: float | None) -> str:
            return Versioned.version

        def denoise(self, noisy: np.ndarray, sigma: float | None) -> np.ndarray:
            return noisy

    METHODS.register("versioned")(Versioned)
    store = ResultStore(tmp_path)
    first = run_job(job(method="versioned"), store)
    assert run_job(job(method="versioned"), store)[0]["finished_at"] == first[0]["finished_at"]
    Versioned.version = "weights-v2"
    retrained = run_job(job(method="versioned"), store)
    assert retrained[0]["config_hash"] != first[0]["config_hash"]
    assert retrained[0]["finished_at"] != first[0]["finished_at"]


def test_each_job_stamps_its_rows_with_the_commit_of_its_own_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A launcher's worker runs many jobs; a commit between two of them must show in the rows."""
    commits = iter(["aaa", "bbb"])

    def fake_git(folder: Path, *args: str) -> str:  # a clean checkout whose HEAD moves on
        if "--show-toplevel" in args:
            return str(Path(bench.__file__).resolve().parent.parent)
        return "" if "status" in args else next(commits)

    monkeypatch.setattr("bench.provenance._git", fake_git)
    first = run_job(job(), ResultStore(tmp_path / "a"))
    second = run_job(job(), ResultStore(tmp_path / "b"))
    assert {row["commit"] for row in first} == {"aaa"} and {row["commit"] for row in second} == {"bbb"}
