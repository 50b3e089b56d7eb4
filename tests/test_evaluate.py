"""`bench.evaluate` runs the command line's jobs: same numbers, same store, same resume."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import bench
from bench.store import ResultStore

SCORES = ["method", "dataset", "sigma", "n_images", "n_failed", "psnr_mean", "psnr_se", "ssim_mean", "ssim_se"]


def store_size(folder) -> int:
    return len(ResultStore(folder).rows())


def test_evaluate_gives_the_numbers_of_the_command_line_and_resumes_from_its_store(bench_cli, monkeypatch) -> None:
    result = bench_cli("-m", "method=wavelet,noisy", "sigma=25,50", "crop=32", "limit=2", "hydra.sweep.dir=sweep")
    assert result.returncode == 0, result.stderr
    cli_board = pd.read_csv(bench_cli.folder / "sweep" / "leaderboard.csv")

    fresh = bench.evaluate(["wavelet", "noisy"], sigmas=[25, 50], crop=32, limit=2,
                           store=bench_cli.folder / "fresh_store")
    assert store_size(bench_cli.folder / "fresh_store") == 8  # computed here, not read from the CLI's store
    pd.testing.assert_frame_equal(fresh.leaderboard[SCORES], cli_board[SCORES], check_dtype=False)
    assert len(fresh.rows) == 8 and set(fresh.rows.image_id) == {"camera", "moon"}

    cli_store = bench_cli.folder / "outputs" / "store"
    before = store_size(cli_store)
    monkeypatch.chdir(bench_cli.folder)  # the default store is outputs/store here, as for the CLI
    resumed = bench.evaluate(["wavelet", "noisy"], sigmas=[25, 50], crop=32, limit=2)
    assert store_size(cli_store) == before  # every row was found in the CLI's store
    pd.testing.assert_frame_equal(resumed.leaderboard[SCORES], cli_board[SCORES], check_dtype=False)


class HalfWay:
    """A method object that is not registered: the mean of the noisy image and a smoothed one."""

    blind = True
    name = "halfway"

    def denoise(self, noisy: np.ndarray, sigma: float | None) -> np.ndarray:
        from scipy.ndimage import uniform_filter

        return (noisy + uniform_filter(noisy, 3)) / 2


def test_method_objects_and_functions_run_under_the_same_protocol_but_stay_out_of_the_store(tmp_path) -> None:
    def smooth(noisy: np.ndarray, sigma: float | None) -> np.ndarray:
        from scipy.ndimage import gaussian_filter

        assert sigma == 25.0  # a plain function counts as non-blind
        return gaussian_filter(noisy, 1.0)

    board, rows = bench.evaluate([HalfWay(), smooth, "noisy"], sigmas=25, crop=32, limit=2, store=tmp_path)
    psnr = board.set_index("method").psnr_mean
    assert set(psnr.index) == {"halfway", "smooth", "noisy"} and psnr["halfway"] > psnr["noisy"]
    assert set(rows.method) == {"halfway", "smooth", "noisy"}
    assert store_size(tmp_path) == 2  # only noisy's rows


def test_bad_input_is_a_bench_error(tmp_path) -> None:
    with pytest.raises(bench.BenchError, match="unknown method 'xyz'; available: "):
        bench.evaluate(["xyz"], store=tmp_path)
    with pytest.raises(bench.BenchError, match="not a method"):
        bench.evaluate([42], store=tmp_path)
