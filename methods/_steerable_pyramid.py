"""The full steerable pyramid of BLS-GSM in the Fourier domain, with real FFTs and cached masks.

The transform is pyrtools' `SteerablePyramidFreq(image, height, order)` (Simoncelli & Freeman's
steerable pyramid, a port of the MATLAB `buildSFpyr` / `reconSFpyr`), with its high-pass residual
split into the same orientations as the authors' BLS-GSM toolbox does (`buildFullSFpyr2.m`).
Its masks are sampled exactly as pyrtools samples them (same frequency grid, same raised-cosine and
cosⁿ look-up tables, linear interpolation), so bands and reconstruction agree with pyrtools to
float round-off. What differs is the arithmetic: pyrtools rebuilds every mask on every call, in
complex FFTs of the full spectrum, one band at a time, and its reconstruction builds the masks a
second time; here the masks of a shape are built once and cached, the image goes through one real
FFT, each band is one inverse real FFT, and the reconstruction sums every band's
contribution into one half spectrum before a single inverse real FFT.

Why the half-spectrum bookkeeping below: each band is the *real part* of the inverse DFT of a
spectrum that is not Hermitian on the band's own grid (its Nyquist row and column have no mirror
image inside the cropped grid, and pyrtools' masks are not symmetric there). Taking the real part
is the same as symmetrising the spectrum, Y(k) → ½(Y(k) + conj Y(−k)); off the Nyquist lines that
is one product with a (symmetrised) mask, on them it also reads the image spectrum at the mirrored
frequency. The reconstruction is the adjoint of the same operations.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache, partial

import numpy as np
from scipy import fft as sfft

_ANGLE_TABLE_SIZE = 1024  # pyrtools' look-up table of the angular masks (samples per π)
_RADIAL_TABLE_SIZE = 256  # pyrtools' rcosFn table (samples per transition)


def _frequencies(n: int) -> np.ndarray:
    """The DFT frequencies of n samples as integers, in numpy's order (0, 1, …, −1)."""
    return np.r_[0 : (n + 1) // 2, -(n // 2) : 0]


@dataclass(frozen=True)
class _Crop:
    """Where the half spectrum (rfft2 layout) of a grid of `shape` frequencies centred on 0 lies in
    the half spectrum of the `full` image: rows and columns of each small entry, the Nyquist lines
    ("lines", flat positions in the small half spectrum) and the full-spectrum position of each
    line entry's mirror image m(k) (the frequency −n/2 of a Nyquist line taken as +n/2).

    Even sizes below the full one have a last half column at frequency −n/2, outside the full half
    spectrum: it is read as the conjugate of the mirrored rows' column +n/2 and not written back
    (its mirror image is)."""

    shape: tuple[int, int]
    rows: np.ndarray
    cols: np.ndarray
    conjugate_last: bool
    mirrored_rows: np.ndarray
    lines: np.ndarray
    line_rows: np.ndarray
    line_cols: np.ndarray

    @classmethod
    def of(cls, shape: tuple[int, int], full: tuple[int, int]) -> "_Crop":
        (ny, nx), (big_y, _) = shape, full
        fy = _frequencies(ny)
        half = nx // 2 + 1
        conjugate_last = nx % 2 == 0 and nx < full[1]
        nyquist_y = np.flatnonzero(fy == -(ny / 2))  # empty for odd ny
        nyquist_x = [half - 1] if nx % 2 == 0 else []
        grid = np.arange(ny * half).reshape(ny, half)
        lines = np.unique(np.r_[grid[nyquist_y].ravel(), grid[:, nyquist_x].ravel()])
        line_y, line_x = np.divmod(lines, half)
        mirror_fy = np.where(np.isin(line_y, nyquist_y), ny // 2, fy[line_y])
        return cls(
            shape=(ny, nx),
            rows=fy % big_y,
            cols=np.arange(half),
            conjugate_last=conjugate_last,
            mirrored_rows=(-fy) % big_y,
            lines=lines,
            line_rows=mirror_fy % big_y,
            line_cols=line_x,  # the column's frequency, +n/2 on the Nyquist column
        )

    def gather(self, spectrum: np.ndarray) -> np.ndarray:
        """The full image's half spectrum at this grid's half-spectrum frequencies."""
        out = spectrum[np.ix_(self.rows, self.cols)]
        if self.conjugate_last:
            out[:, -1] = np.conj(spectrum[self.mirrored_rows, self.cols[-1]])
        return out

    def scatter_add(self, spectrum: np.ndarray, values: np.ndarray) -> None:
        """Adds `values` (this grid's half spectrum) into the full image's half spectrum."""
        cols = self.cols[:-1] if self.conjugate_last else self.cols
        spectrum[np.ix_(self.rows, cols)] += values[:, : len(cols)]


@dataclass(frozen=True)
class _Channel:
    """Bands on one grid that share a crop and a phase: their frequency responses M_b = phase·(real
    mask), given as the real `gains` of the symmetrised responses ½(M_b(k) + conj M_b(−k))/phase
    off the Nyquist lines (also rounded to float32, `single_gains`, for complex64 spectra), and on
    the lines ½M_b(k) ("own") and ½conj M_b(−k) ("mirror"), which multiply the image spectrum at k
    and at m(k)."""

    crop: _Crop
    phase: complex
    gains: np.ndarray
    single_gains: np.ndarray
    own: np.ndarray
    mirror: np.ndarray

    @classmethod
    def of(cls, responses: np.ndarray, phase: complex, full: tuple[int, int]) -> "_Channel":
        """From the responses (bands × grid, unshifted DFT layout) on a grid centred in `full`."""
        ny, nx = responses.shape[1:]
        crop = _Crop.of((ny, nx), full)
        half = nx // 2 + 1
        mirrored = np.conj(responses[:, (-np.arange(ny)) % ny][:, :, (-np.arange(nx)) % nx])[:, :, :half]
        own = responses[:, :, :half]
        gains = ((own + mirrored) * (0.5 / phase)).real
        flat = (len(responses), -1)
        return cls(crop, phase, gains, gains.astype(np.float32), 0.5 * own.reshape(flat)[:, crop.lines],
                   0.5 * mirrored.reshape(flat)[:, crop.lines])

    def _gains(self, spectra: np.ndarray) -> np.ndarray:
        """`gains` in the precision of `spectra` (a float64 array would promote complex64 ones)."""
        return self.single_gains if spectra.dtype == np.complex64 else self.gains

    def analyse(self, spectrum: np.ndarray) -> np.ndarray:
        """The bands' half spectra (bands × rows × half columns) from the image's half spectrum."""
        values = self.crop.gather(spectrum)
        out = (values * self.phase)[None] * self._gains(values)
        flat = out.reshape(len(out), -1)
        flat[:, self.crop.lines] = (values.ravel()[self.crop.lines] * self.own
                                    + spectrum[self.crop.line_rows, self.crop.line_cols] * self.mirror)
        return out

    def synthesise(self, spectra: np.ndarray, total: np.ndarray) -> None:
        """Adds the adjoint of `analyse` applied to the bands' half spectra into `total`."""
        values = np.einsum("bij,bij->ij", spectra, self._gains(spectra)) * self.phase.conjugate()
        on_lines = spectra.reshape(len(spectra), -1)[:, self.crop.lines]
        values.ravel()[self.crop.lines] = (on_lines * np.conj(self.own)).sum(axis=0)
        self.crop.scatter_add(total, values)
        total[self.crop.line_rows, self.crop.line_cols] += (on_lines * np.conj(self.mirror)).sum(axis=0)

    def bands(self, spectra: np.ndarray, map_: Callable = map) -> list[np.ndarray]:
        """The bands themselves, one inverse real FFT each, through `map_` (a thread pool's map runs
        them on several cores; a batched FFT with scipy's workers gained nothing on 2 cores)."""
        return list(map_(partial(sfft.irfft2, s=self.crop.shape), spectra))


def _radial_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """pyrtools' rcosFn(1, −0.5, [0, 1]) table: log2-radius samples x from −1 to 0 (plus one flat
    sample beyond each end), the high-pass transition √(cos²(πx/2)) rising from 0 to 1 and its
    low-pass complement √(1 − cos²(πx/2)). A level j octaves down uses x − j."""
    steps = np.arange(-_RADIAL_TABLE_SIZE - 1, 2)
    squared = np.cos(np.pi * steps / (2 * _RADIAL_TABLE_SIZE)) ** 2
    squared[0], squared[-1] = squared[1], squared[-2]
    return steps / _RADIAL_TABLE_SIZE, np.sqrt(squared), np.sqrt(1.0 - squared)


def _angular_masks(angle: np.ndarray, orientations: int) -> np.ndarray:
    """pyrtools' angular masks: √const·cosⁿ(θ − πb/B), n = B − 1, from a table of 3·1024 + 3
    samples by linear interpolation (const makes Σ_b of their squares 1)."""
    order = orientations - 1
    table_x = np.pi * np.arange(-(2 * _ANGLE_TABLE_SIZE + 1), _ANGLE_TABLE_SIZE + 2) / _ANGLE_TABLE_SIZE
    const = 2 ** (2 * order) * math.factorial(order) ** 2 / (orientations * math.factorial(2 * order))
    table_y = np.sqrt(const) * np.cos(table_x) ** order
    return np.stack([np.interp(angle, table_x + np.pi * b / orientations, table_y) for b in range(orientations)])


def _centred(array: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The `shape` frequencies around 0 of arrays in fftshifted layout (last two axes), unshifted."""
    (big_y, big_x), (ny, nx) = array.shape[-2:], shape
    y0, x0 = big_y // 2 - ny // 2, big_x // 2 - nx // 2
    return np.fft.ifftshift(array[..., y0 : y0 + ny, x0 : x0 + nx], axes=(-2, -1))


class FullSteerablePyramid:
    """The pyramid for one image shape (even sizes), scale count and orientation count. Channels:
    the high-pass residual split into `orientations` bands, then `scales` levels of `orientations`
    bands (level 0 at full size, each next level half the previous one's), then the low-pass
    residual (one band)."""

    def __init__(self, shape: tuple[int, int], scales: int, orientations: int) -> None:
        if shape[0] % 2 or shape[1] % 2:
            raise ValueError(f"the steerable pyramid needs even sizes, got {shape}")
        self.shape = shape
        rows, cols = shape
        # pyrtools' grid (fftshifted layout): ramps from −1 to 1 − 2/N, the DC radius set to its
        # left neighbour's so that its log is finite.
        x, y = np.meshgrid(np.linspace(-1, 1, cols + 1)[:-1], np.linspace(-1, 1, rows + 1)[:-1])
        radius = np.sqrt(x**2 + y**2)
        radius[rows // 2, cols // 2] = radius[rows // 2, cols // 2 - 1]
        log_radius = np.log2(radius)
        angles = _angular_masks(np.arctan2(y, x), orientations)
        table_x, high, low = _radial_tables()
        phase = (-1j) ** ((orientations - 1) % 4)  # pyrtools' (−i)^order, exact

        lowpass = np.interp(log_radius, table_x, low)
        split = phase * angles * np.interp(log_radius, table_x, high)
        split[:, 0, :] = split[:, :, 0] = 1 / math.sqrt(orientations)  # buildFullSFpyr2's Nyquist cross
        self.channels = [_Channel.of(np.fft.ifftshift(split, axes=(-2, -1)), phase, shape)]
        grid = shape
        for level in range(scales):
            band_pass = lowpass * np.interp(log_radius, table_x - (level + 1), high)
            responses = _centred(phase * angles * band_pass, grid)
            self.channels.append(_Channel.of(responses, phase, shape))
            grid = ((grid[0] + 1) // 2, (grid[1] + 1) // 2)
            lowpass = lowpass * np.interp(log_radius, table_x - (level + 1), low)
        self.channels.append(_Channel.of(_centred(lowpass[None], grid), 1.0, shape))

    def analyse(self, image: np.ndarray) -> list[np.ndarray]:
        """Every channel's half spectra (bands × rows × half columns)."""
        spectrum = sfft.rfft2(image)
        return [channel.analyse(spectrum) for channel in self.channels]

    def synthesise(self, spectra: list[np.ndarray]) -> np.ndarray:
        """The image from every channel's half spectra (the transpose of `analyse`; its inverse
        up to the interpolation of the masks' look-up tables, ≈ 1e-5 relative)."""
        total = np.zeros((self.shape[0], self.shape[1] // 2 + 1), dtype=np.result_type(*spectra))
        for channel, channel_spectra in zip(self.channels, spectra):
            channel.synthesise(channel_spectra, total)
        return sfft.irfft2(total, s=self.shape)


@lru_cache(maxsize=2)
def full_steerable_pyramid(shape: tuple[int, int], scales: int, orientations: int) -> FullSteerablePyramid:
    """The pyramid of a shape, built once (its masks are ≈ 25 MB for 544×544 and 8 orientations, and
    their float32 copies half that again)."""
    return FullSteerablePyramid(shape, scales, orientations)
