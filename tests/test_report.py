"""report.html: written after every run and sweep, self-contained, and working in a real browser.

The browser test drives Debian's headless Chromium over the DevTools protocol (tests/browser.py);
it is skipped, saying so, where no Chromium is installed (`apt-get install -y chromium`)."""

from __future__ import annotations

import io
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from bench.report.statistics import default_reference, differences_to_reference
from browser import Browser, find_chromium


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """A sweep of four tiny jobs per σ; `broken` fails on every other image, `noisy` is the floor."""
    from conftest import BenchCli

    cli = BenchCli(tmp_path_factory.mktemp("report"))
    result = cli("-m", "method=sleepy,noisy,wavelet,broken", "dataset=synthetic", "sigma=25,50",
                 "hydra.sweep.dir=sweep")
    assert result.returncode == 0, result.stderr
    return cli.folder / "sweep"


def test_a_sweep_leaves_a_self_contained_report(sweep) -> None:
    page = (sweep / "report.html").read_text(encoding="utf-8")
    for section in ("Leaderboard", "PSNR − reference, per σ", "Paired differences", "PSNR per image",
                    "Gallery", "Failures"):
        assert f"<h2>{section}</h2>" in page
    assert not re.search(r"(src|href)=\"(https?:)?//", page)  # nothing loaded from the network
    assert page.count("data:image/png;base64,") == 2 * 3  # clean, noisy, wavelet, each with a zoom
    # sleepy and noisy are the identity, and broken fails on every 2nd call only (the gallery's 1st succeeds)
    unchanged = re.search(r"Returned the noisy input unchanged, not shown again: (.*?)\.</p>", page).group(1)
    assert sorted(unchanged.split(", ")) == ["broken", "noisy", "sleepy"]
    assert "Skipped:" not in page
    assert "<option value=\"wavelet\" selected>" in page  # the only classical method is the default reference


def test_the_report_command_rebuilds_it_with_a_chosen_reference(sweep, tmp_path) -> None:
    result = subprocess.run([sys.executable, "-m", "bench.report", str(sweep), "--out", str(tmp_path / "r.html"),
                             "--reference", "noisy", "--gallery", "0"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<option value=\"noisy\" selected>" in page and "no gallery" in page
    missing = subprocess.run([sys.executable, "-m", "bench.report", str(tmp_path / "nothing"), "--out", "x.html"],
                             capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2 and missing.stderr.startswith("error: results folder not found")


def test_differences_to_the_reference_have_the_right_sign_and_a_t_interval() -> None:
    paired = pd.DataFrame({"dataset": ["d", "d"], "sigma": [25.0, 25.0], "method_a": ["a", "b"],
                           "method_b": ["b", "c"], "n_images": [5, 5], "psnr_diff_mean": [1.0, 0.5],
                           "psnr_diff_se": [0.1, 0.2], "p_value": [0.01, 0.2]})
    table = differences_to_reference(paired, "b").set_index("method")
    assert table.loc["a", "diff"] == 1.0 and table.loc["c", "diff"] == -0.5
    half_width = 2.7764451  # t(0.975, 4 degrees of freedom)
    assert np.isclose(table.loc["a", "ci_high"], 1.0 + half_width * 0.1)
    assert np.isclose(table.loc["c", "ci_low"], -0.5 - half_width * 0.2)


def test_the_default_reference_is_the_best_classical_method_present() -> None:
    board = pd.DataFrame({"method": ["cn2", "bls_gsm", "wavelet", "cn2", "bls_gsm", "wavelet"],
                          "psnr_mean": [29.0, 28.5, 27.0, 26.0, 25.5, 24.0]})
    tags = {"bls_gsm": frozenset({"classical"}), "wavelet": frozenset({"classical"})}
    assert default_reference(board, tags) == "bls_gsm"
    assert default_reference(board, {}) == "cn2"  # no classical method: the best one


def test_the_report_works_in_a_headless_browser(sweep, tmp_path) -> None:
    chromium = find_chromium()
    if chromium is None:
        pytest.skip("no Chromium found (apt-get install -y chromium, or set BENCH_CHROMIUM)")
    browser = Browser(chromium, tmp_path / "profile")
    try:
        browser.open((sweep / "report.html").as_uri())
        images = browser.evaluate("Array.from(document.images).map(i => [i.complete, i.naturalWidth])")
        assert len(images) == 4 + 6 and all(done and width > 0 for done, width in images)  # 4 plots

        psnr_column = ("Array.from(document.querySelectorAll('table.sortable')[0].tBodies[0].rows)"
                       ".map(r => parseFloat(r.cells[{0}].dataset.value))")
        headers = browser.evaluate("Array.from(document.querySelectorAll('table.sortable')[0]"
                                   ".tHead.rows[0].cells).map(c => c.textContent)")
        column = headers.index("PSNR (dB) ± SE")
        browser.evaluate(f"document.querySelectorAll('table.sortable')[0].tHead.rows[0].cells[{column}].click()")
        ascending = browser.evaluate(psnr_column.format(column))
        browser.evaluate(f"document.querySelectorAll('table.sortable')[0].tHead.rows[0].cells[{column}].click()")
        descending = browser.evaluate(psnr_column.format(column))
        assert ascending == sorted(ascending) and descending == sorted(ascending, reverse=True)
        assert ascending != descending

        shown = "Array.from(document.querySelectorAll('figure.plot')).filter(f => !f.hidden).map(f => f.dataset.reference)"
        assert browser.evaluate(shown) == ["wavelet"]
        browser.evaluate("var s = document.getElementById('reference'); s.value = 'sleepy';"
                         "s.dispatchEvent(new Event('change'))")
        assert browser.evaluate(shown) == ["sleepy"]

        page = np.asarray(Image.open(io.BytesIO(browser.screenshot())).convert("L"), float)
        box = browser.evaluate("(() => { const r = document.querySelector('.gallery img').getBoundingClientRect();"
                               " return {x: r.x + scrollX, y: r.y + scrollY, width: r.width, height: r.height}; })()")
        picture = np.asarray(Image.open(io.BytesIO(browser.screenshot(clip=box))).convert("L"), float)
        assert page.std() > 10 and picture.std() > 10  # not blank: text, tables, the clean synthetic image
        assert browser.errors == []
    finally:
        browser.close()
