"""The timing table: references timed in turn with every method, convnet throughput against sgemm."""

import pytest

from bench.methods._convnet import Architecture, DenoisingConvNet
from bench.timing import best_seconds_in_turn, sgemm_call, timing_rows, to_markdown


def test_timing_table_reports_every_method_against_its_references(monkeypatch):
    from bench.methods import convnets

    monkeypatch.setattr(convnets.ConvNetMethod, "network", lambda self, sigma: DenoisingConvNet(Architecture()))
    rows = timing_rows(["noisy", "cn2"], size=64, sigma=25, repeats=1, sgemm_size=128)
    header, noisy, cn2 = rows
    for row in (noisy, cn2):
        assert row["sgemm_gflop_per_s"] > 0 and row["skimage_wavelet_seconds"] > 0
        assert row["x_skimage_wavelet"] == pytest.approx(row["seconds"] / row["skimage_wavelet_seconds"])
    assert noisy["seconds"] >= 0 and "fraction_of_sgemm" not in noisy
    assert cn2["fraction_of_sgemm"] == pytest.approx(cn2["gflop_per_s"] / cn2["sgemm_gflop_per_s"])
    assert cn2["paper_matlab_seconds"] == 38.86
    table = to_markdown(rows, 64, 25)
    assert "| cn2 |" in table and "| noisy |" in table and "timed in turn" in table
    assert f"| {cn2['sgemm_gflop_per_s']:.1f} |" in table
    for kernel in ("sparse_kernel", "foe_kernel"):
        assert header[kernel] in table and header[kernel].split()[0] in {"avx512", "avx2", "plain", "none"}


def test_calls_are_timed_in_turn_after_one_warm_up_each():
    """The references share every round with the method, so a slow minute slows both."""
    order = []
    best = best_seconds_in_turn({name: (lambda name=name: order.append(name)) for name in "abc"}, repeats=3)
    assert order == list("abc") * 4
    assert set(best) == set("abc") and all(seconds >= 0 for seconds in best.values())


def test_sgemm_call_multiplies_square_matrices():
    assert tuple(sgemm_call(128)().shape) == (128, 128)


def test_timing_table_gives_foe_its_iterations_and_work_per_iteration():
    header, foe = timing_rows(["foe"], size=48, sigma=25, repeats=1, sgemm_size=128)
    assert foe["iterations"] > 0 and foe["ms_per_iteration"] > 0
    assert 0 < foe["fraction_of_sgemm"]
    assert foe["gflop_per_s"] == pytest.approx(
        foe["iterations"] * 2 * 24 * 25 * 2 * 48 * 48 / 1e9 / foe["seconds"])
    assert f"| {foe['iterations']} |" in to_markdown([header, foe], 48, 25)
