"""Figures 2 and 3 are drawn from a leaderboard and from re-run methods."""

import pandas as pd
import pytest

from bench import BenchError
from bench.figures import plot_comparison, plot_difference_to_reference, plot_psnr_vs_sigma


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


def test_figure_2_leaves_out_truncated_and_non_paper_rows_unless_asked(tmp_path, monkeypatch):
    drawn = []
    monkeypatch.setattr("matplotlib.axes.Axes.errorbar", lambda self, x, y, **kw: drawn.append(kw["label"]))
    board = pd.DataFrame({"method": ["cn2", "cn2_paper", "cn2_x8", "bm3d"], "dataset": ["d"] * 4,
                          "sigma": [25] * 4, "psnr_mean": [28.2, 20.4, 28.3, 28.6], "psnr_se": [0.3] * 4})
    board.to_csv(tmp_path / "leaderboard.csv", index=False)
    plot_psnr_vs_sigma(tmp_path / "leaderboard.csv", tmp_path / "f2.png")
    assert sorted(drawn) == ["bm3d", "cn2"]
    drawn.clear()
    plot_psnr_vs_sigma(tmp_path / "leaderboard.csv", tmp_path / "f2.png", include_all=True)
    assert sorted(drawn) == ["bm3d", "cn2", "cn2_paper", "cn2_x8"]


def test_difference_plot_reads_a_results_folder(tmp_path):
    board = pd.DataFrame({"method": ["cn2", "bm3d", "wavelet"], "dataset": ["d"] * 3, "sigma": [25.0] * 3,
                          "psnr_mean": [28.2, 28.6, 26.7], "psnr_se": [0.3] * 3})
    paired = pd.DataFrame({"dataset": ["d"] * 3, "sigma": [25.0] * 3, "method_a": ["bm3d", "bm3d", "cn2"],
                           "method_b": ["cn2", "wavelet", "wavelet"], "n_images": [68] * 3,
                           "psnr_diff_mean": [0.4, 1.9, 1.5], "psnr_diff_se": [0.05] * 3, "p_value": [1e-8] * 3})
    board.to_csv(tmp_path / "leaderboard.csv", index=False)
    paired.to_csv(tmp_path / "paired.csv", index=False)
    assert is_png(plot_difference_to_reference(tmp_path, tmp_path / "diff.png"))  # reference: bm3d, classical
    with pytest.raises(BenchError, match="reference 'foe' has no paired comparison"):
        plot_difference_to_reference(tmp_path, tmp_path / "x.png", reference="foe")
    with pytest.raises(BenchError, match="leaderboard.csv not found"):
        plot_difference_to_reference(tmp_path / "nothing", tmp_path / "x.png")
