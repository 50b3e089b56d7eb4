"""BLS-GSM denoising (Portilla, Strela, Wainwright & Simoncelli, IEEE TIP 12(11), 2003).

Two registered settings, as in Jain & Seung (2008), Figure 2:

* ``bls_gsm`` — "BLS-GSM 1", the settings of the 2003 paper (Section IV): full steerable pyramid
  ("fs") with 8 orientations, 3×3 spatial neighbourhood plus the parent.
* ``bls_gsm2`` — "BLS-GSM 2", the defaults of the authors' released MATLAB toolbox (denoi_demo.m of
  "BLS-GSM Image Denoising Toolbox 1.0.3"): undecimated Haar wavelet ("uw", 3 orientations),
  3×3 neighbourhood, no parent.

Both use, as the toolbox: Nsc = ceil(log2(min(H, W)) − 4) scales (5 for 512×512 and 481×321),
mirror extension of the image at its borders, full covariance matrices, the Bayes least squares
estimate integrated over log z ∈ {−20.5, −18.5, …, 3.5} with the Jeffreys prior p(z) ∝ 1/z, the
signal covariance of each subband as C_y − C_w (C_w from the subbands of an impulse scaled to
the noise variance, i.e. the decomposition of white noise's autocorrelation), every subband
denoised except the low-pass residual, which is kept unchanged. See docs/bls_gsm.md.

The method is non-blind (``blind = False``): it needs the noise σ (0–255 scale).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from scipy import fft as sfft

from bench.errors import BenchError
from bench.methods._gsm_estimator import ZGrid, bls_gsm_band, noise_covariance
from bench.methods._thread_pool import thread_pool
from bench.methods._gsm_pyramids import Decomposition, daubechies_wavelet, full_steerable, undecimated_wavelet
from bench.protocol import validate_image, validate_sigma
from bench.registry import register_method

blind = False

REPRESENTATIONS = ("fs", "uw")

#: "BLS-GSM 1": the 2003 paper's settings (Section IV).
SETTING_1: dict[str, Any] = {
    "representation": "fs",
    "orientations": 8,
    "scales": "auto",
    "wavelet": "haar",
    "block": (3, 3),
    "parent": True,
    "boundary": True,
    "covariance": True,
    "optim": True,
    "log_z_min": -20.5,
    "log_z_max": 3.5,
    "log_z_step": 2.0,
}

#: "BLS-GSM 2": the released toolbox's defaults (denoi_demo.m).
SETTING_2: dict[str, Any] = {
    **SETTING_1,
    "representation": "uw",
    "orientations": 3,
    "wavelet": "haar",
    "parent": False,
}


def auto_scales(height: int, width: int) -> int:
    """The toolbox's Nsc = ceil(log2(min(H, W)) − 4), at least 1."""
    return max(1, math.ceil(math.log2(min(height, width)) - 4))


class BLSGSM:
    """BLS-GSM denoiser. Non-blind: ``denoise(noisy, sigma)`` needs σ > 0 on the 0–255 scale.

    Options (defaults: setting "1", the paper's; see `SETTING_2` for the toolbox's):
      representation  "fs" full steerable pyramid, or "uw" undecimated orthogonal wavelet
      orientations    oriented bands per scale ("fs"; "uw" has 3 by construction)
      scales          number of scales Nsc, or "auto" = ceil(log2(min(H, W)) − 4)
      wavelet         Daubechies wavelet of "uw": "haar" (= the toolbox's "daub1"), "db2", …
      block           [rows, cols] of the spatial neighbourhood (odd)
      parent          include the coefficient at the same place in the next coarser scale
      boundary        mirror-extend the image before decomposing (True), or not (circular)
      covariance      full covariance matrices (True) or only their diagonals (False)
      optim           Bayes least squares (True) or two-step MAP-Wiener (False)
      log_z_min, log_z_max, log_z_step   the grid of log z for the integration over z
    """

    blind = False

    def __init__(
        self,
        representation: str = "fs",
        orientations: int = 8,
        scales: int | str = "auto",
        wavelet: str = "haar",
        block: tuple[int, int] | list[int] = (3, 3),
        parent: bool = True,
        boundary: bool = True,
        covariance: bool = True,
        optim: bool = True,
        log_z_min: float = -20.5,
        log_z_max: float = 3.5,
        log_z_step: float = 2.0,
        name: str = "bls_gsm",
    ) -> None:
        self.name = name
        if representation not in REPRESENTATIONS:
            raise BenchError(
                f"{name}: representation must be one of {REPRESENTATIONS}, got {representation!r}"
            )
        self.representation = representation
        if representation == "uw":
            orientations = 3  # separable wavelets: horizontal, vertical, diagonal (as the toolbox)
        if not isinstance(orientations, (int, np.integer)) or not 1 <= orientations <= 16:
            raise BenchError(f"{name}: orientations must be an integer in 1..16, got {orientations!r}")
        self.orientations = int(orientations)
        if scales != "auto" and (not isinstance(scales, (int, np.integer)) or scales < 1):
            raise BenchError(f"{name}: scales must be 'auto' or an integer >= 1, got {scales!r}")
        self.scales = scales
        self.wavelet = str(wavelet)
        block = tuple(int(b) for b in block)
        if len(block) != 2 or any(b < 1 or b % 2 == 0 for b in block):
            raise BenchError(f"{name}: block must be two odd positive sizes, got {block!r}")
        self.block = block
        self.parent = bool(parent)
        self.boundary = bool(boundary)
        self.covariance = bool(covariance)
        self.optim = bool(optim)
        self.z_grid = ZGrid(float(log_z_min), float(log_z_max), float(log_z_step))
        try:
            self.z_grid.values()
        except ValueError as error:
            raise BenchError(f"{name}: {error}") from None
        if representation == "uw":
            try:
                daubechies_wavelet(self.wavelet)
            except ValueError as error:
                raise BenchError(f"{name}: unknown wavelet {self.wavelet!r}: {error}") from None

    # -- geometry ---------------------------------------------------------------------------

    def _geometry(self, height: int, width: int) -> tuple[int, int, int, int, int]:
        """(Nsc, padded height, padded width, border rows, border cols), as denoi_BLS_GSM.m:
        the image is mirror-padded at the bottom/right to a multiple of 2^(Nsc+1), then
        mirror-extended on every side by (block−1)·2^(Nsc−2) ("fs") or (block−1)·2^(Nsc−1) ("uw").
        For images too small for Nsc levels, the padding grows by further multiples."""
        nsc = auto_scales(height, width) if self.scales == "auto" else int(self.scales)
        step = 2 ** (nsc + 1)
        exponent = nsc - 2 if self.representation == "fs" else nsc - 1
        if self.boundary:
            by = int((self.block[0] - 1) * 2.0**exponent)
            bx = int((self.block[1] - 1) * 2.0**exponent)
        else:
            by = bx = 0
        npy = math.ceil(height / step) * step
        npx = math.ceil(width / step) * step
        minimum = 2 ** (nsc + 2)  # the smallest size that holds Nsc levels (the MATLAB buildSFpyr's limit)
        while npy + 2 * by < minimum:
            npy += step
        while npx + 2 * bx < minimum:
            npx += step
        return nsc, npy, npx, by, bx

    def _decompose(self, image: np.ndarray, nsc: int, map_: Callable = map) -> Decomposition:
        if self.representation == "fs":
            return full_steerable(image, nsc, self.orientations, map_)
        return undecimated_wavelet(image, nsc, self.wavelet, map_)

    # -- denoising --------------------------------------------------------------------------

    def denoise(self, noisy: np.ndarray, sigma: float | None) -> np.ndarray:
        validate_sigma(sigma, self.blind, self.name)
        image = validate_image(noisy, "noisy image")
        height, width = image.shape
        nsc, npy, npx, by, bx = self._geometry(height, width)
        padded = np.pad(image, ((0, npy - height), (0, npx - width)), mode="symmetric")
        padded = np.pad(padded, ((by, by), (bx, bx)), mode="symmetric")

        threads = torch.get_num_threads()
        # Subbands are independent; their FFTs and their estimates (in the compiled kernel, or numpy)
        # release the GIL, so a pool of threads spreads them over the cores the harness allows
        # (OMP_NUM_THREADS, as torch reads it). The whole-image FFTs use those cores too (scipy.fft's
        # default is one thread, per thread: the subbands' FFTs stay on one core each).
        pool = thread_pool(os.getpid(), threads)
        with sfft.set_workers(threads):
            # float32: the single-precision FFTs take half the time, and the compiled estimate
            # works in float32 anyway (C_y is summed in float64).
            decomposition = self._decompose(padded.astype(np.float32), nsc, pool.map)
            unit_covariances = _noise_covariances(self, padded.shape, nsc, by + npy // 2, bx + npx // 2)
        variance = float(sigma) ** 2

        def denoise_band(index: int) -> np.ndarray:
            return bls_gsm_band(
                decomposition.bands[index],
                self._parent(decomposition, index),
                unit_covariances[index] * variance,
                self.block,
                self.z_grid,
                covariance=self.covariance,
                optim=self.optim,
            )

        order = sorted(range(len(decomposition.bands)), key=lambda i: -decomposition.bands[i].size)  # largest first
        denoised_by_index = dict(zip(order, pool.map(denoise_band, order)))
        with sfft.set_workers(threads):
            result = decomposition.reconstruct([denoised_by_index[i] for i in range(len(order))])
        return result[by : by + height, bx : bx + width].astype(np.float64)

    def _parent(self, decomposition: Decomposition, index: int) -> np.ndarray | None:
        """The parent of band `index`, resampled to its size, or None (no parent used)."""
        return decomposition.parent(index) if self.parent else None

    def _key(self) -> tuple:
        return (self.representation, self.orientations, self.wavelet, self.block, self.parent)

    def __repr__(self) -> str:
        return (
            f"BLSGSM(name={self.name!r}, representation={self.representation!r}, "
            f"orientations={self.orientations}, scales={self.scales!r}, wavelet={self.wavelet!r}, "
            f"block={self.block}, parent={self.parent}, boundary={self.boundary}, "
            f"covariance={self.covariance}, optim={self.optim}, z_grid={self.z_grid})"
        )


_COVARIANCE_CACHE: dict[tuple, list[np.ndarray]] = {}
_CACHE_SIZE = 32


def _noise_covariances(
    method: BLSGSM, shape: tuple[int, int], nsc: int, row: int, col: int
) -> list[np.ndarray]:
    """Per-subband C_w for σ = 1 (C_w scales with σ²): the subbands of an impulse at (row, col)
    of energy equal to the image size, i.e. of unit-variance white noise's autocorrelation (the
    toolbox's `delta`). Cached by geometry and settings, since it does not depend on the image."""
    key = (method._key(), tuple(shape), nsc, row, col)
    cached = _COVARIANCE_CACHE.get(key)
    if cached is None:
        delta = np.zeros(shape)
        delta[row, col] = math.sqrt(delta.size)
        decomposition = method._decompose(delta, nsc)
        cached = [
            noise_covariance(band, method._parent(decomposition, index), method.block)
            for index, band in enumerate(decomposition.bands)
        ]
        if len(_COVARIANCE_CACHE) >= _CACHE_SIZE:
            _COVARIANCE_CACHE.pop(next(iter(_COVARIANCE_CACHE)))
        _COVARIANCE_CACHE[key] = cached
    return cached


@register_method("bls_gsm")
def make_bls_gsm(**options: Any) -> BLSGSM:
    """BLS-GSM "1" (the 2003 paper's settings); keyword options override them."""
    return BLSGSM(**{**SETTING_1, **options, "name": "bls_gsm"})


@register_method("bls_gsm2")
def make_bls_gsm2(**options: Any) -> BLSGSM:
    """BLS-GSM "2" (the released toolbox's defaults); keyword options override them."""
    return BLSGSM(**{**SETTING_2, **options, "name": "bls_gsm2"})
