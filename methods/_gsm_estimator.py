"""The BLS-GSM estimator for one subband (Portilla et al. 2003, Sections II–III).

A neighbourhood y = x + w of coefficients (a block of spatial neighbours in one subband, plus
optionally the "parent" at the same place in the next coarser scale) is modelled as x = √z·u with
u ~ N(0, C_u) and a hidden positive multiplier z, and w ~ N(0, C_w) the noise. The Bayes least
squares estimate of the centre coefficient is

    E{x_c | y} = ∫ p(z | y) E{x_c | y, z} dz,

with E{x | y, z} the Wiener estimate z·C_u (z·C_u + C_w)⁻¹ y and p(z | y) ∝ p(y | z) p(z). Both are
made cheap by the double diagonalisation of the paper's Section III: with S·Sᵀ = C_w and
Q Λ Qᵀ = S⁻¹ C_u S⁻ᵀ, the vector v = Qᵀ S⁻¹ y has independent components given z, so

    log p(y | z) = −½ Σ_n [ v_n² / (1 + z λ_n) + log(1 + z λ_n) ] + const,
    E{x_c | y, z} = Σ_n m_n v_n z λ_n / (1 + z λ_n),     m = (S Q)[c, :].

Here every position of a subband is handled at once: the grid of z values and the N eigenvalues
make two small matrices, and the sums over n become matrix products with the (N × positions) array
of v or v² with them. The posterior over the z grid is normalised in the log domain (the released
MATLAB code exponentiates directly and falls back to the prior when every term underflows; in the
log domain nothing underflows, and wherever the MATLAB code does not underflow the two agree).

The numbering and the handling of the subband's border follow `denoi_BLS_GSM_band.m` of the
authors' toolbox (version 1.0.3): the covariances are estimated from the interior positions (those
whose whole block lies inside the subband), the BLS estimate is computed there, and the border
coefficients get a scalar Wiener estimate using the maximum-likelihood z of the nearest interior
position. With mirror boundary extension of the image (on by default) the border coefficients lie
in the extension that is cropped away.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

try:  # the fused compiled estimate (setup.py builds it; optional, like the convnets' kernel)
    from bench.methods import _gsm_kernel
except ImportError:
    _gsm_kernel = None

_CHUNK = 4096  # positions per block of the vectorised estimate
_KERNEL_API = 2  # must match API_VERSION in _gsm_kernel.c


def compiled_estimate_available() -> bool:
    """Whether the fused C estimate was built (and is current); without it numpy computes the same."""
    return getattr(_gsm_kernel, "API_VERSION", None) == _KERNEL_API


@dataclass(frozen=True)
class ZGrid:
    """Samples of log z for the numerical integration over the multiplier.

    The prior is the non-informative (Jeffreys) p(z) ∝ 1/z, i.e. flat in log z, so with samples
    equally spaced in log z the prior weights are equal. Defaults: the released code's grid,
    log z from −20.5 to 3.5 in steps of 2 (13 samples)."""

    log_min: float = -20.5
    log_max: float = 3.5
    log_step: float = 2.0

    def values(self) -> np.ndarray:
        if not self.log_step > 0:
            raise ValueError(f"log_z_step must be > 0, got {self.log_step}")
        if self.log_max < self.log_min:
            raise ValueError(f"log_z_max ({self.log_max}) < log_z_min ({self.log_min})")
        count = int(np.floor((self.log_max - self.log_min) / self.log_step + 1e-9)) + 1
        return np.exp(self.log_min + self.log_step * np.arange(count))


def neighbourhoods(band: np.ndarray, parent: np.ndarray | None, block: tuple[int, int]) -> np.ndarray:
    """(N × positions) matrix of the neighbourhoods of the interior positions of `band` (those whose
    whole block lies inside it), positions in row-major order.

    Rows are the block's coefficients in row-major order (the centre is row (by·bx − 1) / 2), then
    the parent at the centre position if `parent` is given. (Components × positions rather than
    the transpose: the products with the small N × N and N × K matrices are then fast "wide"
    matrix products.)"""
    by, bx = block
    rows, cols = band.shape[0] - by + 1, band.shape[1] - bx + 1
    count = by * bx + (parent is not None)
    out = np.empty((count, rows, cols), dtype=np.float64)
    n = 0
    for dy in range(by):
        for dx in range(bx):
            out[n] = band[dy : dy + rows, dx : dx + cols]
            n += 1
    if parent is not None:
        out[n] = parent[by // 2 : by // 2 + rows, bx // 2 : bx // 2 + cols]
    return out.reshape(count, rows * cols)


@dataclass
class _Planes:
    """A rows × cols grid of neighbourhoods for the compiled kernel: component j of position (r, x)
    is element r·stride + x from bases[j] (float64 for C_y, float32 for the estimate; all arrays
    share one dtype). Holds the arrays the addresses point into."""

    arrays: list[np.ndarray]
    rows: int
    cols: int
    stride: int
    offsets: list[tuple[int, int]] | None = None  # per component: (array index, element offset)

    @property
    def bases(self) -> list[int]:
        offsets = self.offsets or [(j, 0) for j in range(len(self.arrays))]
        return [self.arrays[i].ctypes.data + self.arrays[i].itemsize * offset for i, offset in offsets]

    @classmethod
    def of_band(cls, band: np.ndarray, parent: np.ndarray | None, block: tuple[int, int],
                dtype: type = np.float64) -> "_Planes":
        """The interior positions of `band`: the block's shifted views of it, then the parent's
        centre (the order of `neighbourhoods`), in `dtype`."""
        by, bx = block
        arrays = [np.ascontiguousarray(band, dtype=dtype)]
        width = band.shape[1]
        offsets = [(0, dy * width + dx) for dy in range(by) for dx in range(bx)]
        if parent is not None:
            arrays.append(np.ascontiguousarray(parent, dtype=dtype))
            offsets.append((1, (by // 2) * width + bx // 2))
        return cls(arrays, band.shape[0] - by + 1, width - bx + 1, width, offsets)


def neighbourhood_covariance(band: np.ndarray, parent: np.ndarray | None, block: tuple[int, int]) -> np.ndarray:
    """C_y: the mean outer product of the neighbourhoods of the interior positions of `band`."""
    if compiled_estimate_available():
        planes = _Planes.of_band(band, parent, block)
        n = len(planes.bases)
        out = np.empty((n, n))
        _gsm_kernel.covariance(planes.bases, planes.rows, planes.cols, planes.stride, out.ctypes.data)
        return out
    y = neighbourhoods(band, parent, block)
    return y @ y.T / y.shape[1]


def neighbourhoods_at(band: np.ndarray, parent: np.ndarray | None, block: tuple[int, int],
                      positions: np.ndarray) -> np.ndarray:
    """The columns `positions` (indices into the row-major interior) of `neighbourhoods`."""
    by, bx = block
    rows, cols = np.divmod(positions, band.shape[1] - bx + 1)
    components = [band[rows + dy, cols + dx] for dy in range(by) for dx in range(bx)]
    if parent is not None:
        components.append(parent[rows + by // 2, cols + bx // 2])
    return np.array(components, dtype=np.float64).reshape(len(components), len(positions))


def noise_covariance(
    noise_band: np.ndarray, noise_parent: np.ndarray | None, block: tuple[int, int]
) -> np.ndarray:
    """C_w from a subband of an image with the noise's autocorrelation (a scaled impulse for white
    noise), as the released code does: mean outer product over the interior positions, with the
    band rescaled by √(interior / all positions) so that the mean is effectively over all
    positions of the (circular, stationary) band."""
    by, bx = block
    ny, nx = noise_band.shape
    scale = np.sqrt((ny - by + 1) * (nx - bx + 1) / (ny * nx))
    parent = None if noise_parent is None else noise_parent * scale
    w = neighbourhoods(noise_band * scale, parent, block)
    return w @ w.T / w.shape[1]


class GSMPosterior:
    """The BLS estimate of one coefficient of a neighbourhood under the GSM model y = √z·u + w,
    u ~ N(0, C_u), w ~ N(0, C_w), z on a grid with a flat prior in log z.

    Double diagonalisation (Section III): with S Sᵀ = C_w and Q Λ Qᵀ = S⁻¹ C_u S⁻ᵀ, the vector
    v = Qᵀ S⁻¹ y has independent components given z, of variances 1 + z λ_n, so that for the K
    samples of z, log p(y | z) = a v² − c and E{x_centre | y, z} = b v with K × N matrices a, b."""

    def __init__(self, c_u: np.ndarray, c_w: np.ndarray, centre: int, z_grid: ZGrid) -> None:
        d, e = np.linalg.eigh((c_w + c_w.T) / 2)
        s = e * np.sqrt(np.clip(d, 0, None))  # S Sᵀ = C_w
        s_inv = np.linalg.pinv(s)
        inner = s_inv @ c_u @ s_inv.T
        la, q = np.linalg.eigh((inner + inner.T) / 2)
        la = np.clip(la, 0, None)
        m = (s @ q)[centre, :]
        self.z = z_grid.values()
        laz = la[:, None] * self.z[None, :]  # N × K
        self.to_v = q.T @ s_inv
        self.a = (-0.5 / (1.0 + laz)).T
        self.b = (m[:, None] * laz / (1.0 + laz)).T
        self.c = 0.5 * np.log1p(laz).sum(axis=0)[:, None]

    def components(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """v (N × positions) and log p(y | z) up to a constant (K × positions)."""
        v = self.to_v @ y
        return v, self.a @ (v * v) - self.c

    def ml_z(self, y: np.ndarray) -> np.ndarray:
        """The maximum-likelihood (= maximum a posteriori, flat prior) z of each column of y."""
        return self.z[np.argmax(self.components(y)[1], axis=0)]

    def estimate(self, y: np.ndarray, optim: bool = True) -> np.ndarray:
        """E{x_centre | y} for each column of the N × positions matrix y (optim=True), or the
        Wiener estimate at the MAP z (optim=False); in the compiled kernel when it was built."""
        if not (optim and compiled_estimate_available()):
            return self.estimate_numpy(y, optim)
        y = np.ascontiguousarray(y, dtype=np.float32)
        out = np.empty((1, y.shape[1]), np.float32)
        self._compiled(_Planes([y[j] for j in range(y.shape[0])], 1, y.shape[1], 0), out)
        return out.ravel()

    def estimate_band(self, band: np.ndarray, parent: np.ndarray | None, block: tuple[int, int],
                      out: np.ndarray, optim: bool = True) -> None:
        """`estimate` of every interior position of `band` into `out` (float32, interior rows ×
        cols; a view into the denoised band, so that the estimate is written once), its
        neighbourhoods read in place by the compiled kernel, or built as in `neighbourhoods` for numpy."""
        if not (optim and compiled_estimate_available()):
            out[...] = self.estimate_numpy(neighbourhoods(band, parent, block), optim).reshape(out.shape)
        else:
            self._compiled(_Planes.of_band(band, parent, block, np.float32), out)

    def _compiled(self, planes: "_Planes", out: np.ndarray) -> None:
        """The kernel's estimate of `planes` (float32) into `out` (float32, rows × cols, rows at
        any stride)."""
        matrices = [np.ascontiguousarray(m, dtype=np.float32) for m in (self.to_v, self.a, self.b, self.c)]
        n = len(planes.bases)
        if matrices[0].shape != (n, n) or matrices[1].shape != matrices[2].shape != (len(self.z), n):
            raise ValueError(f"GSM posterior of {matrices[0].shape[0]} components, neighbourhoods of {n}")
        if out.dtype != np.float32 or out.shape != (planes.rows, planes.cols) or out.strides[1] != 4:
            raise ValueError(f"estimate of {planes.rows} × {planes.cols} positions into {out.shape} {out.dtype}")
        _gsm_kernel.estimate(planes.bases, planes.rows, planes.cols, planes.stride, len(self.z),
                             *(m.ctypes.data for m in matrices), out.ctypes.data, out.strides[0] // 4)

    def estimate_numpy(self, y: np.ndarray, optim: bool = True) -> np.ndarray:
        """`estimate` in numpy: the reference for the compiled kernel, and the MAP-Wiener variant."""
        out = np.empty(y.shape[1])
        # Small chunks of positions: the K × chunk intermediates stay in cache and the small
        # matrix products stay single-threaded (multi-threaded BLAS is far slower on these shapes).
        for start in range(0, y.shape[1], _CHUNK):
            v, log_lik = self.components(y[:, start : start + _CHUNK])
            wiener = self.b @ v  # E{x_centre | y, z} for each z: K × chunk
            if optim:
                log_lik -= log_lik.max(axis=0)
                np.exp(log_lik, out=log_lik)
                out[start : start + _CHUNK] = (wiener * log_lik).sum(axis=0) / log_lik.sum(axis=0)
            else:
                best = np.argmax(log_lik, axis=0)
                out[start : start + _CHUNK] = wiener[best, np.arange(wiener.shape[1])]
        return out


def signal_covariance(c_y: np.ndarray, c_w: np.ndarray) -> np.ndarray:
    """C_u = C_y − C_w with negative eigenvalues set to zero, rescaled to keep the trace (as the
    released code)."""
    c_x = c_y - c_w
    lam, q = np.linalg.eigh((c_x + c_x.T) / 2)
    positive = lam * (lam > 0)
    total = positive.sum()
    lam = positive * lam.sum() / (total + (total == 0))
    return (q * lam) @ q.T


def bls_gsm_band(
    band: np.ndarray,
    parent: np.ndarray | None,
    c_w: np.ndarray,
    block: tuple[int, int],
    z_grid: ZGrid,
    covariance: bool = True,
    optim: bool = True,
) -> np.ndarray:
    """Denoised copy of one subband, in float32 (the compiled estimate's precision).

    band, parent: the noisy subband and (optionally) its parent, resampled to the band's size.
    c_w: the noise covariance of the neighbourhood (see `noise_covariance`).
    covariance: use the full covariance matrices (True) or only their diagonals (False).
    optim: Bayes least squares (True) or the two-step MAP-Wiener variant (False: z set to its
    maximum a posteriori value, then the Wiener estimate)."""
    by, bx = block
    ly, lx = by // 2, bx // 2
    rows, cols = band.shape[0] - by + 1, band.shape[1] - bx + 1
    n_spatial = by * bx

    c_w = np.array(c_w, dtype=np.float64)
    sig2 = float(np.mean(np.diag(c_w)[:n_spatial]))  # noise variance in the subband
    if not covariance:
        c_w = np.diag(np.r_[np.full(n_spatial, sig2), np.diag(c_w)[n_spatial:]])

    c_y = neighbourhood_covariance(band, parent, block)
    sx2 = max(float(np.mean(np.diag(c_y)[:n_spatial])) - sig2, 0.0)  # signal variance
    c_u = signal_covariance(c_y, c_w)
    if not covariance:
        c_u = np.diag(np.r_[np.full(n_spatial, sx2), np.diag(c_u)[n_spatial:]])

    posterior = GSMPosterior(c_u, c_w, (n_spatial - 1) // 2, z_grid)
    out = np.empty(band.shape, np.float32)
    posterior.estimate_band(band, parent, block, out[ly : ly + rows, lx : lx + cols], optim)
    # Border: scalar Wiener with the ML z of the nearest interior position (the released code's
    # rule; its corners and edges copy the interior's corner and edge values). Only the interior's
    # outermost rows and columns are needed for that.
    border_rows, border_cols, edge, nearest = _border(band.shape, block)
    z_ml = posterior.ml_z(neighbourhoods_at(band, parent, block, edge))[nearest]
    gain_num = sx2 * z_ml
    gain_den = gain_num + sig2
    gain = np.divide(gain_num, gain_den, out=np.zeros_like(gain_num), where=gain_den > 0)
    out[border_rows, border_cols] = band[border_rows, border_cols] * gain
    return out


@lru_cache(maxsize=64)
def _border(shape: tuple[int, int], block: tuple[int, int]) -> tuple[np.ndarray, ...]:
    """Positions of a band's border (those whose block leaves the band): their rows and columns,
    the interior's outermost positions (indices into the row-major interior, sorted) and, for each
    border position, which of those is nearest. Cached per shape: only these few are computed."""
    (height, width), (by, bx) = shape, block
    ly, lx = by // 2, bx // 2
    rows, cols = height - by + 1, width - bx + 1
    ring = np.ones(shape, dtype=bool)
    ring[ly : ly + rows, lx : lx + cols] = False
    border_rows, border_cols = np.nonzero(ring)
    closest = np.clip(border_rows - ly, 0, rows - 1) * cols + np.clip(border_cols - lx, 0, cols - 1)
    edge, nearest = np.unique(closest, return_inverse=True)
    return border_rows, border_cols, edge, nearest
