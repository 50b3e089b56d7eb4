"""The two overcomplete representations of BLS-GSM (Portilla et al. 2003, Section IV; the toolbox).

* "fs" — the *full* steerable pyramid (`buildFullSFpyr2` / `reconFullSFpyr2` in the authors'
  toolbox): a Fourier-domain steerable pyramid (the transform of pyrtools' `SteerablePyramidFreq`,
  which follows the MATLAB `buildSFpyr`, computed by `_steerable_pyramid.py`) whose high-pass
  residual is in addition split into the same number of oriented subbands, so that the highest
  frequencies are denoised orientation by orientation. The low-pass residual is kept as is. Tight
  frame: reconstruction is exact up to the interpolation of the radial/angular look-up tables
  (≈1e-5 relative).
* "uw" — the undecimated orthogonal wavelet (`buildWUpyr` / `reconWUpyr`, the toolbox default):
  an undecimated separable Daubechies wavelet (Haar by default; PyWavelets' `swt2` in place of the
  Rice Wavelet Toolbox's `mrdwt`, applied in the Fourier domain) with Nsc + 1 levels of 3 orientations, in which the bands of
  level j > 2 are shrunk by 2^(j−2) and the low-pass residual by 2^Nsc by cropping their Fourier
  transforms (so the representation is nearly, not exactly, invertible: the Fourier content that
  the crop removes is lost, as in the MATLAB code).

Both expose the same small interface: `decompose(image)` gives a `Decomposition` holding the
subbands to denoise (fine to coarse) and their half spectra, for each the index of its parent band
(or None) and whether that parent must be upsampled by 2 to the band's size (`parent(index)`), and
a `reconstruct(bands)` that puts (modified) subbands back into an image. Everything goes through
real FFTs of half spectra (rfft2 layout), in the image's precision: a float32 image (BLS-GSM's
denoising) gives complex64 spectra and float32 bands, whose FFTs at the padded 544² take about half
the time of float64's; a float64 one (the noise covariances, the tests against pyrtools and pywt)
is computed in float64.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pywt
from scipy import fft as sfft

from bench.methods._steerable_pyramid import full_steerable_pyramid


@dataclass
class Decomposition:
    """Subbands to denoise (fine to coarse) with their half spectra, each band's parent index (None:
    no parent) and whether that parent is half the band's size, and the synthesis that turns
    (modified) bands back into an image. Residuals that are kept as they are live inside
    `reconstruct`."""

    bands: list[np.ndarray]
    spectra: list[np.ndarray] = field(repr=False)
    parents: list[int | None]
    parent_upsample: list[bool]
    reconstruct: Callable[[list[np.ndarray]], np.ndarray] = field(repr=False)

    def parent(self, index: int) -> np.ndarray | None:
        """Band `index`'s parent at the band's size (the toolbox's expand(parent, 2) when it is
        half that size, from its spectrum), or None."""
        parent = self.parents[index]
        if parent is None or not self.parent_upsample[index]:
            return None if parent is None else self.bands[parent]
        expanded = expand_spectrum(self.spectra[parent], 2)
        return sfft.irfft2(expanded, s=self.bands[index].shape)


# ----------------------------------------------------------------------------------------------
# Fourier-domain resampling (the toolbox's expand.m / shrink.m) of half spectra (rfft2 layout), for
# even sizes. Both keep the spectrum Hermitian, so the inverse real FFT gives what the toolbox's
# real part of the complex inverse gives.


def _signed_rows(rows: int, half: int) -> np.ndarray:
    """Indices of the rows with frequency |k| < half of a spectrum with `rows` rows, in DFT order."""
    return np.r_[0:half, rows - half + 1 : rows]


def expand_spectrum(spectrum: np.ndarray, factor: int) -> np.ndarray:
    """The half spectrum of an (even-sized) array upsampled by an integer factor, band-limited: the
    spectrum zero-padded, its Nyquist row and column split in halves between +m/2 and −m/2,
    amplitude preserving (×factor²). Leading axes are batches."""
    if factor == 1:
        return spectrum
    my, half = spectrum.shape[-2:]
    hy, hx = my // 2, half - 1
    big_y = my * factor
    out = np.zeros(spectrum.shape[:-2] + (big_y, hx * factor + 1), dtype=spectrum.dtype)
    inner = _signed_rows(my, hy)
    out_rows = _signed_rows(big_y, hy)
    out[..., out_rows, :hx] = spectrum[..., inner, :hx]
    out[..., out_rows, hx] = spectrum[..., inner, hx] / 2  # Nyquist column: the +m/2 half
    for row in (hy, big_y - hy):  # Nyquist row, corner included, to +m/2 and −m/2
        out[..., row, :hx] = spectrum[..., hy, :hx] / 2
        out[..., row, hx] = spectrum[..., hy, hx] / 4
    out *= factor * factor
    return out


def shrink_spectrum(spectrum: np.ndarray, factor: int) -> np.ndarray:
    """The half spectrum of an (even-sized) array downsampled by an integer factor, band-limited:
    the DFT cropped to |k| < M/2, the new Nyquist the mean of the ±M/2 components (/factor²);
    the inverse of `expand_spectrum` on band-limited arrays. Leading axes are batches."""
    if factor == 1:
        return spectrum
    my, half = spectrum.shape[-2:]
    sy, hx = my // factor, (half - 1) // factor
    hy = sy // 2
    out = np.empty(spectrum.shape[:-2] + (sy, hx + 1), dtype=spectrum.dtype)
    out[..., _signed_rows(sy, hy), :] = spectrum[..., _signed_rows(my, hy), : hx + 1]
    out[..., hy, :] = (spectrum[..., hy, : hx + 1] + spectrum[..., my - hy, : hx + 1]) / 2
    mirrored = np.conj(out[..., (-np.arange(sy)) % sy, hx])  # the column −M/2, by symmetry
    out[..., hx] = (out[..., hx] + mirrored) / 2
    out /= factor * factor
    return out


# ----------------------------------------------------------------------------------------------
# "fs": full steerable pyramid


def full_steerable(image: np.ndarray, scales: int, orientations: int, map_: Callable = map) -> Decomposition:
    """Full steerable pyramid: `orientations` oriented high-pass bands, `scales` levels of
    `orientations` bands each (level 0 at full size, each next level halved), low-pass kept.
    `map_` runs the per-band FFTs of the analysis and the synthesis (a thread pool's map)."""
    pyramid = full_steerable_pyramid(image.shape, scales, orientations)
    spectra = pyramid.analyse(image)
    *band_spectra, lowpass = spectra
    bands = [band for channel, group in zip(pyramid.channels, band_spectra) for band in channel.bands(group, map_)]
    parents: list[int | None] = []
    upsample: list[bool] = []
    for index in range(len(bands)):
        scale = index // orientations  # 0: high-pass, 1..scales: pyramid levels 0..scales−1
        if scale < scales:  # every band but those of the coarsest level has a parent
            parents.append(index + orientations)
            upsample.append(scale >= 1)
        else:
            parents.append(None)
            upsample.append(False)

    def reconstruct(new_bands: list[np.ndarray]) -> np.ndarray:
        new_spectra = list(map_(sfft.rfft2, new_bands))
        groups = [np.stack(new_spectra[start : start + orientations]) for start in range(0, len(new_bands), orientations)]
        return pyramid.synthesise(groups + [lowpass])

    return Decomposition(bands, [s for group in band_spectra for s in group], parents, upsample, reconstruct)


# ----------------------------------------------------------------------------------------------
# "uw": undecimated orthogonal wavelet


def daubechies_wavelet(name: str) -> pywt.Wavelet:
    """A Daubechies wavelet by the toolbox's name ('daub1' = 'haar', 'daubN' = 'dbN') or
    PyWavelets' own name."""
    key = name.lower()
    if key.startswith("daub"):
        order = int(key[4:])
        key = "haar" if order == 1 else f"db{order}"
    return pywt.Wavelet(key)


def undecimated_wavelet(image: np.ndarray, scales: int, wavelet: str = "haar", map_: Callable = map) -> Decomposition:
    """Undecimated wavelet with `scales` + 1 levels of (horizontal, vertical, diagonal) bands, as
    the toolbox's buildWUpyr: levels 1 and 2 at full size, level j > 2 shrunk by 2^(j−2), the
    low-pass residual (level scales + 1) shrunk by 2^scales and kept.

    Each detail band of level j is circularly shifted by 2^(j−1) on both axes before shrinking so
    that its coefficients sit over the image positions they describe (PyWavelets' stationary
    transform places them up-left of it; the toolbox applies the analogous "approximate phase
    compensation" for the Rice toolbox's convention). The shift only aligns bands with their
    parents; it cancels in the reconstruction.

    The transform is PyWavelets' `swt2(…, level=scales + 1, norm=True)` (periodic, so a product
    per channel in the Fourier domain), computed from the image's spectrum and each channel's
    cached frequency response; the shrinking crops that product, so each band costs one inverse
    FFT at its own size. `map_` runs the per-band FFTs of the analysis and the synthesis (a thread
    pool's map)."""
    levels = scales + 1
    spectrum = sfft.rfft2(image)
    responses = _swt_responses(image.shape, daubechies_wavelet(wavelet).name, levels, spectrum.dtype)
    factors = [2 ** (j - 2) if j > 2 else 1 for j in range(1, levels + 1) for _ in range(3)]
    band_spectra = []
    for start in range(0, 3 * levels, 3):
        band_spectra.extend(shrink_spectrum(spectrum * responses[start + 1 : start + 4], factors[start]))
    bands = list(map_(lambda half: sfft.irfft2(half, s=_even_shape(half)), band_spectra))
    low_factor = 2**scales
    low = shrink_spectrum(spectrum * responses[0], low_factor)

    parents: list[int | None] = []
    upsample: list[bool] = []
    for index in range(len(bands)):
        level = index // 3 + 1
        if level < levels:
            parents.append(index + 3)
            upsample.append(factors[index + 3] != factors[index])
        else:
            parents.append(None)
            upsample.append(False)

    def reconstruct(new_bands: list[np.ndarray]) -> np.ndarray:
        # The transform is a tight frame, so its inverse is its adjoint: per channel, the product
        # with the conjugate response (what pywt.iswt2 computes by averaging over its 4^levels
        # shifted sub-grids in Python loops; the same to 1e-15).
        total = expand_spectrum(low, low_factor) * np.conj(responses[0])
        new_spectra = list(map_(sfft.rfft2, new_bands))
        for start in range(0, len(new_bands), 3):
            group = np.stack(new_spectra[start : start + 3])
            expanded = np.conj(expand_spectrum(group, factors[start]))
            total += np.conj(np.einsum("bij,bij->ij", expanded, responses[start + 1 : start + 4]))
        return sfft.irfft2(total, s=image.shape)

    return Decomposition(bands, band_spectra, parents, upsample, reconstruct)


def _even_shape(half_spectra: np.ndarray) -> tuple[int, int]:
    """The (even) array shape of half spectra."""
    return half_spectra.shape[-2], 2 * (half_spectra.shape[-1] - 1)


@lru_cache(maxsize=4)
def _swt_responses(shape: tuple[int, int], wavelet: str, levels: int, dtype: np.dtype) -> np.ndarray:
    """Per channel of `undecimated_wavelet` (the low-pass, then its bands fine to coarse) its half
    frequency response, including the band's alignment shift: the channels of an impulse. Cached
    per geometry and precision (`dtype`, complex64 or complex128): 3·levels + 1 complex half spectra
    of the image's size (≈ 50 MB in complex128 for 576²); complex64 ones are rounded from those."""
    if dtype != np.complex128:
        return _swt_responses(shape, wavelet, levels, np.dtype(np.complex128)).astype(dtype)
    impulse = np.zeros(shape)
    impulse[0, 0] = 1.0
    coeffs = pywt.swt2(impulse, pywt.Wavelet(wavelet), level=levels, trim_approx=True, norm=True)
    channels = [coeffs[0]] + [band for triple in coeffs[1:][::-1] for band in triple]
    ky = np.fft.fftfreq(shape[0])[:, None]
    kx = np.fft.rfftfreq(shape[1])[None, :]
    responses = sfft.rfft2(np.stack(channels))
    for index in range(1, len(channels)):
        shift = 2 ** ((index - 1) // 3)  # the band's roll by `shift` on both axes
        responses[index] *= np.exp(-2j * np.pi * shift * (ky + kx))
    return responses
