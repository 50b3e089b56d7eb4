"""The timing table: references measured in the same run, convnet throughput against sgemm peak."""

import pytest

from bench.methods._convnet import Architecture, DenoisingConvNet
from bench.timing import sgemm_peak_gflops, timing_rows, to_markdown


def test_timing_table_reports_every_method_against_its_references(monkeypatch):
    from bench.methods import convnets

    monkeypatch.setattr(convnets.ConvNetMethod, "network", lambda self, sigma: DenoisingConvNet(Architecture()))
    rows = timing_rows(["noisy", "cn2"], size=64, sigma=25, repeats=1)
    header, noisy, cn2 = rows
    assert header["sgemm_peak_gflop_per_s"] > 0 and header["skimage_wavelet_seconds"] > 0
    assert noisy["seconds"] >= 0 and "fraction_of_sgemm_peak" not in noisy
    assert 0 < cn2["fraction_of_sgemm_peak"] < 2 and cn2["paper_matlab_seconds"] == 38.86
    table = to_markdown(rows, 64, 25)
    assert "| cn2 |" in table and "| noisy |" in table and "sgemm peak" in table
    for kernel in ("sparse_kernel", "foe_kernel"):
        assert header[kernel] in table and header[kernel].split()[0] in {"avx512", "avx2", "plain", "none"}


def test_sgemm_peak_is_positive():
    assert sgemm_peak_gflops(size=128, repeats=1) > 0


def test_timing_table_gives_foe_its_iterations_and_work_per_iteration():
    header, foe = timing_rows(["foe"], size=48, sigma=25, repeats=1)
    assert foe["iterations"] > 0 and foe["ms_per_iteration"] > 0
    assert 0 < foe["fraction_of_sgemm_peak"] < 2
    assert foe["gflop_per_s"] == pytest.approx(
        foe["iterations"] * 2 * 24 * 25 * 2 * 48 * 48 / 1e9 / foe["seconds"])
    assert f"| {foe['iterations']} |" in to_markdown([header, foe], 48, 25)
