"""Classic baselines, so every learned method is compared with what an off-the-shelf library does:
`noisy` (the input itself), `wavelet`, `tv`, `nlm` (scikit-image) and `bm3d` (optional package).

Each non-blind baseline is handed the true σ and runs on the [0, 1] scale (image/255, σ/255),
the scale the libraries' parameter rules are written for; the estimate is scaled back to 0–255
and never clipped, like the noisy input.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

import numpy as np
import pywt
from skimage.restoration import denoise_nl_means, denoise_tv_chambolle, denoise_wavelet

from bench.errors import BenchError
from bench.protocol import PEAK, validate_image, validate_sigma
from bench.registry import register_method

UnitScaleFunction = Callable[[np.ndarray, float], np.ndarray]


class Noisy:
    """The identity: the floor every method must beat (its PSNR is that of the noise)."""

    blind = True

    def denoise(self, noisy: np.ndarray, sigma: float | None = None) -> np.ndarray:
        return validate_image(noisy, "noisy image").copy()


class UnitScaleDenoiser:
    """A non-blind library denoiser `function(image, σ)` applied on the [0, 1] scale."""

    blind = False

    def __init__(self, name: str, function: UnitScaleFunction) -> None:
        self.name = name
        self._function = function

    def denoise(self, noisy: np.ndarray, sigma: float | None) -> np.ndarray:
        validate_sigma(sigma, blind=False, method=self.name)
        image = validate_image(noisy, "noisy image")
        return np.asarray(self._function(image / PEAK, sigma / PEAK), np.float64) * PEAK


@register_method("noisy")
def noisy() -> Noisy:
    return Noisy()


@register_method("wavelet")
def wavelet(wavelet: str = "sym8", levels: int = 4) -> UnitScaleDenoiser:
    """BayesShrink soft thresholding of an orthogonal wavelet transform, given σ. sym8 with 4
    levels beat scikit-image's defaults (db1, fewer levels) by ≈ 1 dB on training crops (README,
    "Baselines"); the level count is capped where the image is too small for it."""
    try:
        filter_length = pywt.Wavelet(wavelet).dec_len
    except ValueError:
        raise BenchError(f"unknown wavelet {wavelet!r}; see pywt.wavelist(kind='discrete')") from None

    def run(image: np.ndarray, sigma: float) -> np.ndarray:
        usable = max(1, min(levels, pywt.dwt_max_level(min(image.shape), filter_length)))
        return denoise_wavelet(
            image, sigma=sigma, wavelet=wavelet, wavelet_levels=usable, method="BayesShrink", mode="soft"
        )

    return UnitScaleDenoiser("wavelet", run)


@register_method("tv")
def tv(weight_per_sigma: float = 1.0) -> UnitScaleDenoiser:
    """Chambolle total-variation denoising with weight = weight_per_sigma · σ/255. The factor 1.0
    was the best single value for σ = 25, 50, 100 on training crops (README, "Baselines"). The
    stopping tolerance is tighter than scikit-image's default (2e-4), which stops at erratic
    points and made PSNR jump by up to 1.5 dB between neighbouring weights."""

    def run(image: np.ndarray, sigma: float) -> np.ndarray:
        return denoise_tv_chambolle(image, weight=weight_per_sigma * sigma, eps=1e-6, max_num_iter=3000)

    return UnitScaleDenoiser("tv", run)


@register_method("nlm")
def nlm(h_per_sigma: float = 0.8, patch_size: int = 5, patch_distance: int = 6) -> UnitScaleDenoiser:
    """Non-local means with scikit-image's recommended setting for known σ: h = 0.8·σ, fast mode,
    5×5 patches searched within ±6 pixels, σ subtracted from the patch distances."""

    def run(image: np.ndarray, sigma: float) -> np.ndarray:
        return denoise_nl_means(
            image,
            h=h_per_sigma * sigma,
            sigma=sigma,
            fast_mode=True,
            patch_size=patch_size,
            patch_distance=patch_distance,
        )

    return UnitScaleDenoiser("nlm", run)


@register_method("bm3d")
def bm3d(profile: str = "np") -> UnitScaleDenoiser:
    """BM3D (Dabov et al. 2007) from the `bm3d` package, imported only when the method is
    created so that a missing optional package leaves every other method usable."""
    try:
        package = importlib.import_module("bm3d")
    except ImportError:
        raise BenchError(
            "method 'bm3d' needs the optional package bm3d: pip install 'denoise-bench[bm3d]'"
        ) from None

    def run(image: np.ndarray, sigma: float) -> np.ndarray:
        return package.bm3d(image, sigma_psd=sigma, profile=profile)

    return UnitScaleDenoiser("bm3d", run)
