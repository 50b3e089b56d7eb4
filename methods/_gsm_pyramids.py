"""The two overcomplete representations of BLS-GSM (Portilla et al. 2003, Section IV; the toolbox).

* "fs" — the *full* steerable pyramid (`buildFullSFpyr2` / `reconFullSFpyr2` in the authors'
  toolbox): a Fourier-domain steerable pyramid (pyrtools' `SteerablePyramidFreq`, which follows
  the MATLAB `buildSFpyr`) whose high-pass residual is in addition split into the same number of
  oriented subbands, so that the highest frequencies are denoised orientation by orientation.
  The low-pass residual is kept as is. Tight frame: reconstruction is exact up to the interpolation
  of pyrtools' radial/angular look-up tables (≈1e-5 relative).
* "uw" — the undecimated orthogonal wavelet (`buildWUpyr` / `reconWUpyr`, the toolbox default):
  an undecimated separable Daubechies wavelet (Haar by default; PyWavelets' `swt2` in place of the
  Rice Wavelet Toolbox's `mrdwt`) with Nsc + 1 levels of 3 orientations, in which the bands of
  level j > 2 are shrunk by 2^(j−2) and the low-pass residual by 2^Nsc by cropping their Fourier
  transforms (so the representation is nearly, not exactly, invertible: the Fourier content that
  the crop removes is lost, as in the MATLAB code).

Both expose the same small interface: `decompose(image)` gives a `Decomposition` holding the
subbands to denoise (fine to coarse), for each the index of its parent band (or None) and whether
that parent must be upsampled by 2 to the band's size, and a `reconstruct(bands)` that puts
(modified) subbands back into an image.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pyrtools as pt
import pywt
from scipy import fft as sfft

_WORKERS = -1  # scipy.fft: use every core


@dataclass
class Decomposition:
    """Subbands to denoise (fine to coarse), each band's parent index (None: no parent) and whether
    that parent is half the band's size, and the synthesis that turns (modified) bands back into
    an image. Residuals that are kept as they are live inside `reconstruct`."""

    bands: list[np.ndarray]
    parents: list[int | None]
    parent_upsample: list[bool]
    reconstruct: Callable[[list[np.ndarray]], np.ndarray] = field(repr=False)


# ----------------------------------------------------------------------------------------------
# Fourier-domain resampling (the toolbox's expand.m / shrink.m), for even sizes.


def _expanded_spectrum(x: np.ndarray, f: int) -> np.ndarray:
    """The DFT of `x` upsampled by an integer factor f, band-limited: x's DFT zero-padded, its
    Nyquist row and column split in halves between +m/2 and −m/2, amplitude preserving. It stays
    Hermitian, so its inverse DFT is real."""
    spectrum = sfft.fft2(x, workers=_WORKERS)
    if f == 1:
        return spectrum
    spectrum *= f * f
    my, mx = x.shape
    out = np.zeros((my * f, mx * f), dtype=complex)
    hy, hx = my // 2, mx // 2
    # rows/cols of the small spectrum with |k| < m/2, the Nyquist (k = m/2) split in two halves
    ky = np.r_[np.arange(hy), np.arange(-hy + 1, 0)]
    kx = np.r_[np.arange(hx), np.arange(-hx + 1, 0)]
    out[np.ix_(ky % (my * f), kx % (mx * f))] = spectrum[np.ix_(ky % my, kx % mx)]
    # Nyquist row/column of the input go half to +m/2 and half to −m/2
    ny_row = spectrum[hy, :][kx % mx] / 2
    out[hy, kx % (mx * f)] += ny_row
    out[(-hy) % (my * f), kx % (mx * f)] += ny_row
    ny_col = spectrum[:, hx][ky % my] / 2
    out[ky % (my * f), hx] += ny_col
    out[ky % (my * f), (-hx) % (mx * f)] += ny_col
    corner = spectrum[hy, hx] / 4
    for sy in (hy, -hy):
        for sx in (hx, -hx):
            out[sy % (my * f), sx % (mx * f)] += corner
    return out


def _fourier_expand(x: np.ndarray, f: int) -> np.ndarray:
    """Band-limited upsampling by an integer factor f (the toolbox's expand.m): the real image of
    `_expanded_spectrum`."""
    if f == 1:
        return x
    return sfft.ifft2(_expanded_spectrum(x, f), workers=_WORKERS).real


def _fourier_shrink(x: np.ndarray, f: int) -> np.ndarray:
    """Band-limited downsampling by an integer factor f (cropping the DFT to |k| < M/2, the new
    Nyquist the mean of the ±M/2 components), the inverse of `_fourier_expand` on band-limited
    images; the real part, as the toolbox uses it."""
    if f == 1:
        return x
    my, mx = x.shape
    sy, sx = my // f, mx // f
    spectrum = sfft.fft2(x, workers=_WORKERS) / (f * f)
    hy, hx = sy // 2, sx // 2
    ky = np.r_[np.arange(hy), np.arange(-hy + 1, 0)]
    kx = np.r_[np.arange(hx), np.arange(-hx + 1, 0)]
    out = np.zeros((sy, sx), dtype=complex)
    out[np.ix_(ky % sy, kx % sx)] = spectrum[np.ix_(ky % my, kx % mx)]
    out[hy, kx % sx] = (spectrum[hy, kx % mx] + spectrum[(-hy) % my, kx % mx]) / 2
    out[ky % sy, hx] = (spectrum[ky % my, hx] + spectrum[ky % my, (-hx) % mx]) / 2
    out[hy, hx] = (
        spectrum[hy, hx] + spectrum[hy, (-hx) % mx] + spectrum[(-hy) % my, hx]
        + spectrum[(-hy) % my, (-hx) % mx]
    ) / 4
    return sfft.ifft2(out, workers=_WORKERS).real


# ----------------------------------------------------------------------------------------------
# "fs": full steerable pyramid


@lru_cache(maxsize=4)
def _highpass_filters(shape: tuple[int, int], orientations: int) -> np.ndarray:
    """The oriented high-pass analysis filters of buildFullSFpyr2, in the unshifted DFT layout:
    (−i)^order × hi0mask × the angular masks of the pyramid's first level, except on the Fourier
    "cross" (the Nyquist row and column), set to the real 1/√orientations in every band so that
    its content is spread evenly and kept real. Synthesis uses the complex conjugate.

    The masks are built exactly as pyrtools' SteerablePyramidFreq builds its own (same frequency
    grid, raised-cosine and cosⁿ look-up tables, linear interpolation), so that they complete its
    low-pass mask lo0mask: lo0² + hi0² Σ_b angle_b² = 1."""
    rows, cols = shape
    xramp, yramp = np.meshgrid(np.linspace(-1, 1, cols + 1)[:-1], np.linspace(-1, 1, rows + 1)[:-1])
    angle = np.arctan2(yramp, xramp)
    radius = np.sqrt(xramp**2 + yramp**2)
    cy, cx = int(np.ceil((rows + 0.5) / 2)) - 1, int(np.ceil((cols + 0.5) / 2)) - 1
    radius[cy, cx] = radius[cy, cx - 1]
    log_rad = np.log2(radius)
    x_rcos, y_rcos = pt.rcosFn(1, -0.5, np.array([0, 1]))
    hi0 = np.interp(log_rad, x_rcos, np.sqrt(y_rcos))

    order = orientations - 1
    lutsize = 1024
    x_cosn = np.pi * np.arange(-(2 * lutsize + 1), lutsize + 2) / lutsize
    const = 2 ** (2 * order) * math.factorial(order) ** 2 / (orientations * math.factorial(2 * order))
    y_cosn = np.sqrt(const) * np.cos(x_cosn) ** order
    filters = []
    for b in range(orientations):
        angle_mask = np.interp(angle, x_cosn + np.pi * b / orientations, y_cosn)
        mask = (-1j) ** order * angle_mask * hi0  # fftshifted layout: row/col 0 = Nyquist
        mask[0, :] = 1 / np.sqrt(orientations)
        mask[1:, 0] = 1 / np.sqrt(orientations)
        filters.append(np.fft.ifftshift(mask))
    return np.stack(filters)


def full_steerable(image: np.ndarray, scales: int, orientations: int) -> Decomposition:
    """Full steerable pyramid: `orientations` oriented high-pass bands, `scales` levels of
    `orientations` bands each (level 0 at full size, each next level halved), low-pass kept."""
    pyr = pt.pyramids.SteerablePyramidFreq(image, height=scales, order=orientations - 1)
    filters = _highpass_filters(image.shape, orientations)
    spectrum = sfft.fft2(image, workers=_WORKERS)
    high = list(sfft.ifft2(spectrum * filters, workers=_WORKERS).real)

    bands = high + [pyr.pyr_coeffs[(s, b)] for s in range(scales) for b in range(orientations)]
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
        for s in range(scales):
            for b in range(orientations):
                pyr.pyr_coeffs[(s, b)] = new_bands[orientations * (s + 1) + b]
        result = pyr.recon_pyr(levels=list(range(scales)) + ["residual_lowpass"])
        high_spectra = sfft.fft2(np.stack(new_bands[:orientations]), workers=_WORKERS)
        high_part = (high_spectra * filters.conj()).sum(axis=0)
        return result + sfft.ifft2(high_part, workers=_WORKERS).real

    return Decomposition(bands, parents, upsample, reconstruct)


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


def undecimated_wavelet(image: np.ndarray, scales: int, wavelet: str = "haar") -> Decomposition:
    """Undecimated wavelet with `scales` + 1 levels of (horizontal, vertical, diagonal) bands, as
    the toolbox's buildWUpyr: levels 1 and 2 at full size, level j > 2 shrunk by 2^(j−2), the
    low-pass residual (level scales + 1) shrunk by 2^scales and kept.

    Each detail band of level j is circularly shifted by 2^(j−1) on both axes before shrinking so
    that its coefficients sit over the image positions they describe (PyWavelets' stationary
    transform places them up-left of it; the toolbox applies the analogous "approximate phase
    compensation" for the Rice toolbox's convention). The shift only aligns bands with their
    parents; it cancels in the reconstruction."""
    wav = daubechies_wavelet(wavelet)
    levels = scales + 1
    coeffs = pywt.swt2(image, wav, level=levels, trim_approx=True, norm=True)
    lowpass = coeffs[0]
    details = coeffs[1:][::-1]  # level 1 (finest) first
    bands: list[np.ndarray] = []
    factors: list[int] = []
    for j, triple in enumerate(details, start=1):
        factor = 2 ** (j - 2) if j > 2 else 1
        shift = 2 ** (j - 1)
        for band in triple:
            bands.append(_fourier_shrink(np.roll(band, (shift, shift), axis=(0, 1)), factor))
            factors.append(factor)
    low_factor = 2**scales
    low = _fourier_shrink(lowpass, low_factor)

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

    synthesis = _swt_synthesis(image.shape, wav.name, levels)

    def reconstruct(new_bands: list[np.ndarray]) -> np.ndarray:
        # pywt.iswt2 inverts the transform by averaging over its 4^levels shifted sub-grids, in
        # Python loops; as the transform is a tight frame, that inverse is its adjoint, one product
        # per band in the Fourier domain (the same to 1e-15, a tenth of the time).
        total = _expanded_spectrum(low, low_factor) * synthesis[0]
        for index, band in enumerate(new_bands):
            total += _expanded_spectrum(band, factors[index]) * synthesis[index + 1]
        return sfft.ifft2(total, workers=_WORKERS).real

    return Decomposition(bands, parents, upsample, reconstruct)


@lru_cache(maxsize=2)
def _swt_synthesis(shape: tuple[int, int], wavelet: str, levels: int) -> tuple[np.ndarray, ...]:
    """Per channel of `undecimated_wavelet` (the low-pass, then its bands fine to coarse), the
    Fourier-domain factor that takes the channel's full-size DFT back into the image: the conjugate
    of the channel's frequency response (the adjoint of a tight frame is its inverse), times the
    phase that undoes the band's alignment shift. The responses are the channels of an impulse.
    Cached per geometry: 3·levels + 1 complex arrays of the image's size (≈ 100 MB for 576²)."""
    impulse = np.zeros(shape)
    impulse[0, 0] = 1.0
    coeffs = pywt.swt2(impulse, pywt.Wavelet(wavelet), level=levels, trim_approx=True, norm=True)
    channels = [coeffs[0]] + [band for triple in coeffs[1:][::-1] for band in triple]
    ky = np.fft.fftfreq(shape[0])[:, None]
    kx = np.fft.fftfreq(shape[1])[None, :]
    factors = [sfft.fft2(channels[0], workers=_WORKERS).conj()]
    for index, channel in enumerate(channels[1:]):
        shift = 2 ** (index // 3)  # the band's roll in `undecimated_wavelet`, undone
        factors.append(sfft.fft2(channel, workers=_WORKERS).conj() * np.exp(2j * np.pi * shift * (ky + kx)))
    return tuple(factors)


def expand2(x: np.ndarray) -> np.ndarray:
    """The toolbox's expand(x, 2): band-limited upsampling of a parent band to its child's size."""
    return _fourier_expand(x, 2)
