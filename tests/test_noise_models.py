"""Noise models (issue #12): gaussian, clipped and quantized inputs pair over one draw, are part of
a row's identity and of the leaderboard's grouping, and rows from before them stay valid."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from bench import BenchError
from bench.leaderboard import labelled, leaderboard, paired_differences
from bench.methods.convnets import ConvNetMethod
from bench.patches import PatchSampler
from bench.plugins import load_plugins
from bench.protocol import NOISE_MODELS, apply_noise_model, noisy_version, validate_noise_model
from bench.runner import JobSpec, run_job
from bench.store import ResultStore, latest_rows, row_key

TEST_PLUGINS = Path(__file__).parent / "plugins"


@pytest.fixture(autouse=True, scope="module")
def test_plugins() -> None:
    load_plugins([str(TEST_PLUGINS / "bench_test_plugins.py")])


def job(**changes) -> JobSpec:
    base = JobSpec(method="sleepy", dataset="synthetic", sigma=50.0, dataset_options={"n": 3, "size": 16})
    return dataclasses.replace(base, **changes)


def test_noise_models_degrade_one_underlying_draw() -> None:
    clean = np.linspace(0, 255, 48 * 40).reshape(48, 40)
    gaussian = noisy_version(clean, "d", "img", 50.0, 3)
    clipped = noisy_version(clean, "d", "img", 50.0, 3, "clipped")
    quantized = noisy_version(clean, "d", "img", 50.0, 3, "quantized")
    assert gaussian.min() < 0 and gaussian.max() > 255  # σ = 50 leaves the range at both ends
    np.testing.assert_array_equal(clipped, np.clip(gaussian, 0, 255))
    np.testing.assert_array_equal(quantized, np.round(clipped))
    assert not np.array_equal(clipped, np.clip(noisy_version(clean, "d", "img", 50.0, 4), 0, 255))


def test_the_rule_is_the_same_for_training_tensors_on_the_unit_scale() -> None:
    values = np.array([-0.3, 0.0, 0.20001, 0.5, 0.99, 1.4])
    for noise in NOISE_MODELS:
        on_255 = apply_noise_model(values * 255, noise)
        on_unit = apply_noise_model(torch.as_tensor(values), noise, peak=1.0).numpy()
        np.testing.assert_allclose(on_unit * 255, on_255, atol=1e-9)


def test_an_unknown_noise_model_is_named_with_the_known_ones() -> None:
    with pytest.raises(BenchError, match="unknown noise model 'salt'; available: gaussian, clipped, quantized"):
        validate_noise_model("salt")


def test_the_noise_model_is_part_of_a_rows_key(tmp_path: Path) -> None:
    store = ResultStore(tmp_path)
    gaussian = run_job(job(), store)
    clipped = run_job(job(noise="clipped"), store)
    assert [row["noise"] for row in clipped] == ["clipped"] * 3
    assert {row_key(row) for row in gaussian}.isdisjoint(row_key(row) for row in clipped)
    assert len(latest_rows(store.rows())) == 6
    assert all(c["psnr"] > g["psnr"] for g, c in zip(gaussian, clipped))  # sleepy returns its input


def test_rows_from_before_noise_models_are_gaussian_and_not_recomputed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = tmp_path / "calls"
    monkeypatch.setenv("BENCH_TEST_CALLS", str(calls))
    run_job(job(), ResultStore(tmp_path / "store"))
    for path in (tmp_path / "store").glob("rows-*.jsonl"):  # make them rows of an earlier version
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        path.write_text("".join(json.dumps({k: v for k, v in row.items() if k != "noise"}) + "\n" for row in rows))
    again = run_job(job(), ResultStore(tmp_path / "store"))
    assert len(calls.read_text().splitlines()) == 3 and "noise" not in again[0]
    run_job(job(noise="clipped"), ResultStore(tmp_path / "store"))
    assert len(calls.read_text().splitlines()) == 6


def test_the_leaderboard_never_averages_noise_models_together(tmp_path: Path) -> None:
    store = ResultStore(tmp_path)
    for noise in ("gaussian", "clipped"):
        for method in ("sleepy", "noisy"):
            run_job(job(method=method, noise=noise), store)
    frame = labelled(latest_rows(store.rows()))
    board = leaderboard(frame)
    assert sorted(zip(board.noise, board.method)) == [
        ("clipped", "noisy"), ("clipped", "sleepy"), ("gaussian", "noisy"), ("gaussian", "sleepy")]
    assert (board.n_images == 3).all()
    paired = paired_differences(frame, board)
    assert sorted(paired.noise) == ["clipped", "gaussian"] and (paired.n_images == 3).all()


def test_convnets_use_the_networks_trained_for_the_jobs_noise_model() -> None:
    method = ConvNetMethod("cn2")
    assert method.weights_name(50) == "cn2_sigma50.pt"
    method.use_noise_model("clipped")
    assert method.weights_name(50) == "cn2_sigma50_clipped.pt"
    method.use_noise_model("quantized")
    assert method.weights_name(50) == "cn2_sigma50_clipped.pt"
    forced = ConvNetMethod("cnblind", networks="gaussian")
    forced.use_noise_model("clipped")
    assert forced.weights_name(None) == "cnblind.pt"
    with pytest.raises(BenchError, match="networks must be one of clipped, gaussian"):
        ConvNetMethod("cn2", networks="salt")


def test_clipped_training_inputs_stay_in_range_and_keep_the_border_code() -> None:
    image = np.full((20, 20), 250.0)
    batches = {noise: PatchSampler([image], margin=4, seed=1, noise=noise).sample(1, 2, 8, torch.full((2,), 60.0), False)
               for noise in ("gaussian", "clipped")}
    (gaussian, target), (clipped, _) = batches["gaussian"], batches["clipped"]
    inside = gaussian != -1.0
    assert gaussian[inside].max() > 1.0
    assert torch.equal(clipped[inside], gaussian[inside].clamp(0, 1)) and torch.equal(clipped[~inside], gaussian[~inside])
    assert target.shape == (2, 1, 8, 8)
