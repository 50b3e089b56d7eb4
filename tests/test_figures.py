"""Figures 2 and 3 are drawn from a leaderboard and from re-run methods."""

import pandas as pd
import pytest

from bench import BenchError
from bench.figures import plot_comparison, plot_psnr_vs_sigma


def is_png(path) -> bool:
    return path.read_bytes()[:4] == b"\x89PNG"


def test_psnr_vs_sigma_plots_every_method(tmp_path):
    board = pd.DataFrame(
        {
            "method": ["a", "a", "b", "b"],
            "dataset": ["d"] * 4,
            "sigma": [25, 50, 25, 50],
            "psnr_mean": [28.0, 25.0, 27.0, 24.5],
            "psnr_se": [0.3, 0.3, 0.3, 0.3],
        }
    )
    board.to_csv(tmp_path / "leaderboard.csv", index=False)
    assert is_png(plot_psnr_vs_sigma(tmp_path / "leaderboard.csv", tmp_path / "f2.png"))
    with pytest.raises(BenchError, match="no leaderboard rows"):
        plot_psnr_vs_sigma(tmp_path / "leaderboard.csv", tmp_path / "x.png", dataset="other")
    with pytest.raises(BenchError, match="not found"):
        plot_psnr_vs_sigma(tmp_path / "missing.csv", tmp_path / "x.png")


def test_comparison_figure_runs_the_methods(tmp_path):
    out = plot_comparison("skimage", "camera", 50, ("noisy", "wavelet"), tmp_path / "f3.png", zoom=(100, 100, 64))
    assert is_png(out)
