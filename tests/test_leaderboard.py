"""Leaderboard statistics, paired differences, labels, files and the rebuild command."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bench.leaderboard import (
    collect_rows,
    labelled,
    leaderboard,
    main,
    markdown_table,
    paired_differences,
    read_rows_csv,
    write_report,
    write_rows_csv,
)
from bench.store import FAILED, OK, ResultStore

PSNR = {"good": [30.0, 31.0, 29.5, 32.0], "bad": [28.0, 30.5, 27.0, 29.0]}


def make_row(method: str, image_id: str, psnr: float | None, *, sigma: float = 25.0, seed: int = 0,
             options: dict | None = None, status: str = OK, crop: int | None = None) -> dict:
    options = options or {}
    return {
        "method": method, "method_options": json.dumps(options), "config_hash": f"{method}{options}",
        "dataset": "synthetic", "dataset_options": "{}", "crop": crop, "dataset_hash": f"d{crop}",
        "image_id": image_id, "height": 8, "width": 8, "sigma": sigma, "seed": seed,
        "status": status, "error": "" if status == OK else "NaN", "psnr": psnr,
        "ssim": None if psnr is None else psnr / 100, "seconds": 0.5, "version": "0.1.0",
        "commit": "", "host": "h", "finished_at": "2026-01-01T00:00:00",
    }


def example_rows() -> list[dict]:
    rows = [make_row(method, f"{index:03d}", value)
            for method, values in PSNR.items() for index, value in enumerate(values)]
    return rows + [make_row("bad", "004", None, status=FAILED)]


def test_leaderboard_means_and_standard_errors() -> None:
    board = leaderboard(labelled(example_rows()))
    assert list(board.method) == ["good", "bad"]
    good = board.iloc[0]
    assert (good.n_images, good.n_failed) == (4, 0)
    assert good.psnr_mean == pytest.approx(np.mean(PSNR["good"]))
    assert good.psnr_se == pytest.approx(np.std(PSNR["good"], ddof=1) / 2)
    assert good.ssim_mean == pytest.approx(np.mean(PSNR["good"]) / 100)
    assert good.seconds_mean == pytest.approx(0.5)
    assert (board.iloc[1].n_images, board.iloc[1].n_failed) == (4, 1)


def test_paired_differences_match_a_paired_t_test() -> None:
    frame = labelled(example_rows())
    paired = paired_differences(frame, leaderboard(frame))
    assert len(paired) == 1
    pair = paired.iloc[0]
    differences = np.subtract(PSNR["good"], PSNR["bad"])
    assert (pair.method_a, pair.method_b, pair.n_images) == ("good", "bad", 4)
    assert pair.psnr_diff_mean == pytest.approx(differences.mean())
    assert pair.psnr_diff_se == pytest.approx(differences.std(ddof=1) / 2)
    assert pair.p_value == pytest.approx(stats.ttest_rel(PSNR["good"], PSNR["bad"]).pvalue)


def test_pairs_use_only_images_both_methods_finished() -> None:
    rows = example_rows() + [make_row("good", "004", 40.0)]
    pair = paired_differences(labelled(rows), leaderboard(labelled(rows))).iloc[0]
    assert pair.n_images == 4


def test_seeds_are_averaged_per_image_so_n_counts_images() -> None:
    rows = [make_row("m", "a", 20.0, seed=0), make_row("m", "a", 22.0, seed=1),
            make_row("m", "b", 30.0, seed=0), make_row("m", "b", 30.0, seed=1)]
    board = leaderboard(labelled(rows))
    assert board.n_images.tolist() == [2] and board.psnr_mean.tolist() == [25.5]


def test_each_sigma_and_dataset_is_its_own_table() -> None:
    rows = [make_row("m", "a", 20.0, sigma=50), make_row("m", "a", 25.0, sigma=25),
            make_row("m", "a", 24.0, crop=8)]
    board = leaderboard(labelled(rows))
    assert board[["dataset", "sigma"]].values.tolist() == [
        ["synthetic(crop=8)", 25.0], ["synthetic(crop=null)", 25.0], ["synthetic(crop=null)", 50.0]]


def test_a_method_run_with_two_configurations_is_labelled_by_what_differs() -> None:
    rows = [make_row("bls", "a", 20.0, options={"setting": 1, "k": 3}),
            make_row("bls", "a", 21.0, options={"setting": 2, "k": 3}),
            make_row("noisy", "a", 10.0)]
    assert sorted(set(labelled(rows).method)) == ["bls(setting=1)", "bls(setting=2)", "noisy"]


def test_rows_of_other_trained_weights_are_never_averaged_together() -> None:
    """Same method and options but another config hash (retrained weights fingerprint into it):
    two leaderboard entries named by their hash, not one mean over both sets of rows."""
    old = [make_row("cnblind", f"{index:03d}", 27.0) | {"config_hash": "1111111aaa"} for index in range(3)]
    new = [make_row("cnblind", f"{index:03d}", 28.0) | {"config_hash": "2222222bbb"} for index in range(3)]
    board = leaderboard(labelled(old + new))
    assert dict(zip(board.method, board.psnr_mean)) == {"cnblind(version=2222222)": 28.0,
                                                        "cnblind(version=1111111)": 27.0}
    assert set(labelled(new).method) == {"cnblind"}
    other_sigma = [row | {"sigma": 50.0} for row in old]  # cn2 uses another network per σ by design
    assert set(labelled(new + other_sigma).method) == {"cnblind"}


def test_a_method_is_labelled_by_its_config_file() -> None:
    rows = [make_row("bls", "a", 20.0, options={"setting": 1}) | {"config_name": "bls1"},
            make_row("bls", "a", 21.0, options={"setting": 2}) | {"config_name": "bls2"}]
    assert sorted(set(labelled(rows).method)) == ["bls1", "bls2"]


def test_a_method_that_failed_everywhere_is_listed_with_no_scores() -> None:
    board = leaderboard(labelled([make_row("m", "a", None, status=FAILED)]))
    assert board.n_images.tolist() == [0] and board.n_failed.tolist() == [1]
    assert math.isnan(board.psnr_mean.iloc[0])


def test_markdown_table_escapes_pipes() -> None:
    table = markdown_table(pd.DataFrame({"a": ["x|y"], "b": [1]}))
    assert table.splitlines() == ["| a | b |", "|---|---|", "| x\\|y | 1 |"]


def test_rows_csv_round_trip_keeps_ids_as_text(tmp_path: Path) -> None:
    rows = example_rows()
    write_rows_csv(rows, tmp_path / "rows.csv")
    back = read_rows_csv(tmp_path / "rows.csv")
    assert back[0]["image_id"] == "000" and back[0]["psnr"] == 30.0
    assert back[-1]["psnr"] is None and back[-1]["crop"] is None


def test_report_files(tmp_path: Path) -> None:
    write_report(example_rows(), tmp_path, {"command": "python -m bench"})
    board = pd.read_csv(tmp_path / "leaderboard.csv")
    assert {"method", "dataset", "sigma", "n_images", "psnr_mean", "psnr_se", "ssim_mean",
            "seconds_mean"} <= set(board.columns)
    assert len(pd.read_csv(tmp_path / "paired.csv")) == 1
    assert len(read_rows_csv(tmp_path / "rows.csv")) == 9
    markdown = (tmp_path / "leaderboard.md").read_text()
    assert "python -m bench" in markdown and "| good | synthetic | gaussian | 25 | 4 | 0 | 30.62 |" in markdown
    assert "## Paired differences" in markdown and "## Failures" in markdown


def test_rebuild_from_several_folders_deduplicates(tmp_path: Path, capsys) -> None:
    with ResultStore(tmp_path / "store") as store:
        for row in example_rows()[:4]:
            store.append(row)
    job_dir = tmp_path / "sweep" / "0"
    job_dir.mkdir(parents=True)
    write_rows_csv(example_rows(), job_dir / "job_rows.csv")
    assert len(collect_rows([tmp_path / "store", tmp_path / "sweep"])) == 9
    assert main([str(tmp_path / "store"), str(tmp_path / "sweep"), "--out", str(tmp_path / "out")]) == 0
    assert "| good |" in capsys.readouterr().out
    assert len(pd.read_csv(tmp_path / "out" / "leaderboard.csv")) == 2


def test_rebuild_without_rows_is_a_one_line_error(tmp_path: Path, capsys) -> None:
    assert main([str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err.strip() == f"error: no result rows found under {tmp_path}"
    assert main([str(tmp_path / "missing"), "--out", str(tmp_path / "out")]) == 2
    assert "results folder not found" in capsys.readouterr().err


def test_psnr_by_sigma_pivots_methods_against_noise_levels() -> None:
    from bench.leaderboard import psnr_by_sigma

    board = pd.DataFrame({
        "dataset": ["d"] * 3, "noise": ["gaussian"] * 3, "method": ["a", "b", "a"], "sigma": [25.0, 25.0, 50.0],
        "psnr_mean": [28.123, 27.0, 25.5], "psnr_se": [0.311, 0.2, 0.3],
    })
    table = psnr_by_sigma(board)
    assert list(table.columns) == ["dataset", "noise", "method", "σ=25", "σ=50"]
    assert table.set_index("method").loc["a", "σ=25"] == "28.12 ± 0.31"
    assert table.set_index("method").loc["b", "σ=50"] == ""
