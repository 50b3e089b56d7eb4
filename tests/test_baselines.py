"""Classic baselines: each must clearly beat the noisy input on a real image crop (so a broken
parameter rule fails), keep the shape, and reject bad input with a BenchError."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from omegaconf import OmegaConf

from bench import BenchError, get_method, list_methods
from bench.protocol import add_noise, psnr

DENOISERS = ["wavelet", "tv", "nlm", "bm3d"]
CONF_DIR = Path(__file__).resolve().parents[1] / "conf" / "method"


@pytest.fixture(scope="module")
def clean() -> np.ndarray:
    """A 64×64 crop of the camera man (face and coat: edges and flat areas)."""
    return skimage.data.camera()[100:164, 220:284].astype(np.float64)


@pytest.mark.parametrize("name", DENOISERS)
def test_denoiser_beats_the_noisy_input(name: str, clean: np.ndarray) -> None:
    noisy = add_noise(clean, 25.0, rng_seed=1)
    estimate = get_method(name).denoise(noisy, 25.0)
    assert estimate.shape == clean.shape and estimate.dtype == np.float64
    assert psnr(clean, estimate) > psnr(clean, noisy) + 4.0


def test_noisy_is_the_unclipped_identity_and_blind() -> None:
    method = get_method("noisy")
    assert method.blind
    image = np.array([[-20.0, 100.0], [255.0, 300.0]])
    np.testing.assert_array_equal(method.denoise(image, None), image)


@pytest.mark.parametrize("name", DENOISERS)
@pytest.mark.parametrize("sigma", [None, 0.0, -5.0, float("nan")])
def test_non_blind_methods_reject_bad_sigma(name: str, sigma: float | None) -> None:
    method = get_method(name)
    assert not method.blind
    with pytest.raises(BenchError, match="sigma"):
        method.denoise(np.zeros((8, 8)), sigma)


@pytest.mark.parametrize("name", ["noisy", *DENOISERS])
def test_methods_reject_a_colour_image(name: str) -> None:
    with pytest.raises(BenchError, match="2-D"):
        get_method(name).denoise(np.zeros((8, 8, 3)), 25.0)


def test_bad_options_are_bench_errors() -> None:
    with pytest.raises(BenchError, match="unknown wavelet 'nope'"):
        get_method("wavelet", wavelet="nope")
    with pytest.raises(BenchError, match="bad options"):
        get_method("tv", weight=0.1)


def test_missing_bm3d_package_only_disables_bm3d(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "bm3d", None)  # makes `import bm3d` fail
    with pytest.raises(BenchError) as raised:
        get_method("bm3d")
    assert str(raised.value) == (
        "method 'bm3d' needs the optional package bm3d: pip install 'denoise-bench[bm3d]'"
    )
    assert get_method("wavelet").denoise(np.zeros((32, 32)), 10.0).shape == (32, 32)


@pytest.mark.parametrize("name", ["noisy", *DENOISERS])
def test_method_config_creates_its_method(name: str) -> None:
    config = OmegaConf.load(CONF_DIR / f"{name}.yaml")
    assert config.name == name and name in list_methods()
    get_method(config.name, **OmegaConf.to_container(config.options))
