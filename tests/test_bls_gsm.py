"""BLS-GSM (methods/bls_gsm.py): representation, estimator, behaviour in σ and size, registry."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import skimage.data
from omegaconf import OmegaConf

from bench import BenchError, get_method, list_methods
from bench.methods import bls_gsm as module
import pywt

from bench.methods import _gsm_estimator
from bench.methods._gsm_estimator import (
    GSMPosterior,
    ZGrid,
    bls_gsm_band,
    compiled_estimate_available,
    neighbourhood_covariance,
    neighbourhoods,
    noise_covariance,
)
from bench.methods._gsm_pyramids import (
    expand_spectrum,
    full_steerable,
    shrink_spectrum,
    undecimated_wavelet,
)
from bench.methods._steerable_pyramid import FullSteerablePyramid
from bench.protocol import add_noise, psnr

CONF = Path(__file__).resolve().parents[1] / "conf" / "method"
PREVIOUS = Path(__file__).resolve().parent / "data" / "bls_gsm_previous.npz"
SETTINGS = ("bls_gsm", "bls_gsm2")


@pytest.fixture(scope="module")
def camera() -> np.ndarray:
    return skimage.data.camera().astype(np.float64)


# ---------------------------------------------------------------------------------------------
# registry, options, configs


def test_registered_non_blind_and_sigma_validated() -> None:
    assert set(SETTINGS) <= set(list_methods())
    assert module.blind is False
    image = np.zeros((8, 8))
    for name in SETTINGS:
        method = get_method(name)
        assert method.blind is False
        for sigma in (None, 0.0, -1.0, float("nan"), float("inf")):
            with pytest.raises(BenchError):
                method.denoise(image, sigma)


@pytest.mark.parametrize(
    "options",
    [
        {"representation": "wavelet"},
        {"block": [2, 3]},
        {"block": [3]},
        {"scales": 0},
        {"orientations": 0},
        {"wavelet": "no-such-wavelet", "representation": "uw"},
        {"log_z_step": 0},
        {"log_z_min": 4, "log_z_max": 3},
        {"no_such_option": 1},
    ],
)
def test_bad_options_are_bench_errors(options: dict) -> None:
    with pytest.raises(BenchError):
        get_method("bls_gsm", **options)


def test_settings_1_and_2() -> None:
    one, two = get_method("bls_gsm"), get_method("bls_gsm2")
    assert (one.representation, one.orientations, one.parent, one.block) == ("fs", 8, True, (3, 3))
    assert (two.representation, two.orientations, two.parent, two.block) == ("uw", 3, False, (3, 3))
    for method in (one, two):
        assert method.scales == "auto" and method.boundary and method.covariance and method.optim
        assert np.allclose(np.log(method.z_grid.values()), np.arange(-20.5, 3.6, 2.0))
    assert module.auto_scales(512, 512) == 5 and module.auto_scales(481, 321) == 5
    assert module.auto_scales(256, 256) == 4 and module.auto_scales(8, 8) == 1


@pytest.mark.parametrize("name", SETTINGS)
def test_hydra_config_builds_the_registered_setting(name: str) -> None:
    cfg = OmegaConf.load(CONF / f"{name}.yaml")
    assert cfg.name == name
    options = OmegaConf.to_container(cfg.options)
    assert repr(get_method(cfg.name, **options)) == repr(get_method(name))


# ---------------------------------------------------------------------------------------------
# representations


@pytest.mark.parametrize("shape", [(64, 96), (96, 64), (160, 160)])
def test_full_steerable_pyramid_reconstructs_perfectly(shape: tuple[int, int], camera: np.ndarray) -> None:
    rng = np.random.default_rng(0)
    for image in (rng.standard_normal(shape) * 50 + 128, camera[: shape[0], : shape[1]]):
        decomposition = full_steerable(image, scales=3, orientations=8)
        assert len(decomposition.bands) == 8 * 4  # 8 oriented high-pass bands + 3 levels of 8
        rebuilt = decomposition.reconstruct(decomposition.bands)
        # exact up to the look-up-table interpolation of the radial/angular masks
        assert np.max(np.abs(rebuilt - image)) < 2e-4 * np.std(image)


@pytest.mark.parametrize("representation", ["fs", "uw"])
def test_pyramids_keep_a_float32_images_precision(representation: str, camera: np.ndarray) -> None:
    """A float32 image (what the denoiser decomposes) gives float32 bands, parents and
    reconstruction, equal to the float64 ones to single precision (1e-5 of the largest value;
    ≈ 3e-7 measured)."""
    image = camera[:96, :128]
    decompose = (lambda x: full_steerable(x, 3, 4)) if representation == "fs" else (
        lambda x: undecimated_wavelet(x, 3))
    single, double = decompose(image.astype(np.float32)), decompose(image)
    for index, band in enumerate(double.bands):
        scale = np.abs(band).max()
        assert single.bands[index].dtype == np.float32
        np.testing.assert_allclose(single.bands[index], band, rtol=0, atol=1e-5 * scale)
        parent = double.parent(index)
        if parent is not None:
            assert single.parent(index).dtype == np.float32
            np.testing.assert_allclose(single.parent(index), parent, rtol=0, atol=1e-5 * np.abs(parent).max())
    rebuilt = single.reconstruct(single.bands)
    assert rebuilt.dtype == np.float32
    np.testing.assert_allclose(rebuilt, double.reconstruct(double.bands), rtol=0, atol=1e-5 * 255)


def test_full_steerable_band_layout() -> None:
    decomposition = full_steerable(np.zeros((64, 64)), scales=3, orientations=4)
    shapes = [band.shape for band in decomposition.bands]
    assert shapes == [(64, 64)] * 8 + [(32, 32)] * 4 + [(16, 16)] * 4
    # high-pass bands: parents are level 0 (same size); level l: level l+1 (half size); coarsest: none
    assert decomposition.parents == [4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15] + [None] * 4
    assert decomposition.parent_upsample == [False] * 4 + [True] * 8 + [False] * 4


def _pyrtools_full_pyramid(image: np.ndarray, scales: int, orientations: int):
    """pyrtools' SteerablePyramidFreq of `image` and the toolbox's oriented split of its high-pass
    (buildFullSFpyr2.m) built from pyrtools' own masks: the reference for our pyramid."""
    pt = pytest.importorskip("pyrtools")
    pyramid = pt.pyramids.SteerablePyramidFreq(image, height=scales, order=orientations - 1)
    split = np.stack([(-1j) ** (orientations - 1) * pyramid._anglemasks[0][b] * pyramid._hi0mask
                      for b in range(orientations)])
    split[:, 0, :] = split[:, :, 0] = 1 / np.sqrt(orientations)
    return pyramid, np.fft.ifftshift(split, axes=(-2, -1))


# Even sizes, square and not, with the low-pass residual odd or even (the method pads to these).
PYRAMID_CASES = [((64, 64), 3, 8), ((48, 80), 2, 4), ((36, 20), 2, 3), ((68, 68), 2, 8), ((40, 24), 1, 5)]


@pytest.mark.parametrize("shape, scales, orientations", PYRAMID_CASES)
def test_steerable_pyramid_bands_are_pyrtools(shape: tuple[int, int], scales: int, orientations: int) -> None:
    image = np.random.default_rng(7).standard_normal(shape)
    reference, split = _pyrtools_full_pyramid(image, scales, orientations)
    pyramid = FullSteerablePyramid(shape, scales, orientations)
    bands = [channel.bands(spectra) for channel, spectra in zip(pyramid.channels, pyramid.analyse(image))]
    high = np.fft.ifft2(np.fft.fft2(image) * split).real
    expected = [high] + [[reference.pyr_coeffs[(level, b)] for b in range(orientations)] for level in range(scales)]
    expected.append([reference.pyr_coeffs["residual_lowpass"]])
    for ours, theirs in zip(bands, expected):
        for band, other in zip(ours, theirs):
            assert band.shape == other.shape
            np.testing.assert_allclose(band, other, rtol=0, atol=1e-10 * np.abs(other).max())


@pytest.mark.parametrize("shape, scales, orientations", PYRAMID_CASES)
def test_steerable_pyramid_synthesis_is_pyrtools(shape: tuple[int, int], scales: int, orientations: int) -> None:
    """On arbitrary bands (not only a pyramid's own), so every Nyquist line's bookkeeping counts."""
    rng = np.random.default_rng(8)
    reference, split = _pyrtools_full_pyramid(np.zeros(shape), scales, orientations)
    pyramid = FullSteerablePyramid(shape, scales, orientations)
    bands = [rng.standard_normal((len(channel.gains),) + channel.crop.shape) for channel in pyramid.channels]
    for level in range(scales):
        for b in range(orientations):
            reference.pyr_coeffs[(level, b)] = bands[level + 1][b]
    reference.pyr_coeffs["residual_lowpass"] = bands[-1][0]
    expected = reference.recon_pyr(levels=list(range(scales)) + ["residual_lowpass"])
    expected += np.fft.ifft2((np.fft.fft2(bands[0]) * split.conj()).sum(axis=0)).real
    ours = pyramid.synthesise([np.fft.rfft2(group) for group in bands])
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-10 * np.abs(expected).max())


@pytest.mark.parametrize("shape, scales, orientations", PYRAMID_CASES)
def test_steerable_pyramid_reconstructs(shape: tuple[int, int], scales: int, orientations: int) -> None:
    image = np.random.default_rng(9).standard_normal(shape)
    pyramid = FullSteerablePyramid(shape, scales, orientations)
    rebuilt = pyramid.synthesise(pyramid.analyse(image))
    # exact up to the look-up-table interpolation of the radial/angular masks, as pyrtools
    assert np.max(np.abs(rebuilt - image)) < 2e-4 * np.std(image)
    with pytest.raises(ValueError):
        FullSteerablePyramid((shape[0] + 1, shape[1]), scales, orientations)


def test_full_steerable_parents_are_expanded_bands() -> None:
    """A parent of half the band's size is the toolbox's expand(parent, 2) of the parent band."""
    import scipy.signal

    decomposition = full_steerable(np.random.default_rng(10).standard_normal((64, 48)), 2, 4)
    for index, parent in enumerate(decomposition.parents):
        resampled = decomposition.parent(index)
        if parent is None:
            assert resampled is None
        elif decomposition.parent_upsample[index]:
            band = decomposition.bands[parent]
            reference = scipy.signal.resample(scipy.signal.resample(band, 2 * band.shape[0], axis=0),
                                              2 * band.shape[1], axis=1)
            np.testing.assert_allclose(resampled, reference, atol=1e-12)
        else:
            assert resampled is decomposition.bands[parent]


@pytest.mark.parametrize("name", SETTINGS)
@pytest.mark.parametrize("sigma", [25, 100])
def test_same_output_as_previous_implementation(name: str, sigma: int, camera: np.ndarray) -> None:
    """Against outputs (every 4th pixel of a 90×120 crop) saved from the implementation before
    issue 16's own pyramid (commit 0519b0b: pyrtools' pyramid, pywt.swt2, complex FFTs). Equal to
    1e-8 until the denoising's pyramid and estimate went to float32; since then they differ by
    ≈ 3e-5 grey levels here (≈ 1e-4 at most on BSD68), hence 5e-4."""
    noisy = camera[200:290, 150:270] + sigma * np.random.default_rng(sigma).standard_normal((90, 120))
    previous = np.load(PREVIOUS)[f"{name}_{sigma}"]
    np.testing.assert_allclose(get_method(name).denoise(noisy, sigma)[::4, ::4], previous, rtol=0, atol=5e-4)


def test_undecimated_wavelet_reconstruction(camera: np.ndarray) -> None:
    # exact for images band-limited below the coarsest Fourier crop (|f| < 1/2^(scales+1) cycles)
    rng = np.random.default_rng(1)
    spectrum = np.zeros((128, 128), dtype=complex)
    spectrum[:6, :6] = rng.standard_normal((6, 6)) + 1j * rng.standard_normal((6, 6))
    smooth = np.real(np.fft.ifft2(spectrum + np.conj(np.roll(spectrum[::-1, ::-1], 1, axis=(0, 1)))))
    decomposition = undecimated_wavelet(smooth, scales=3)
    assert len(decomposition.bands) == 3 * 4
    rebuilt = decomposition.reconstruct(decomposition.bands)
    assert np.allclose(rebuilt, smooth, atol=1e-10 * np.abs(smooth).max())
    # on a natural image the crop of the coarse bands loses a little, as in the released code
    padded = np.pad(camera, 64, mode="symmetric")
    decomposition = undecimated_wavelet(padded, scales=5)
    assert psnr(camera, decomposition.reconstruct(decomposition.bands)[64:-64, 64:-64]) > 50


def _expand(x: np.ndarray, factor: int) -> np.ndarray:
    """The toolbox's expand.m on an (even-sized) image."""
    shape = (x.shape[0] * factor, x.shape[1] * factor)
    return np.fft.irfft2(expand_spectrum(np.fft.rfft2(x), factor), s=shape)


def _shrink(x: np.ndarray, factor: int) -> np.ndarray:
    """The toolbox's shrink.m on an (even-sized) image."""
    shape = (x.shape[0] // factor, x.shape[1] // factor)
    return np.fft.irfft2(shrink_spectrum(np.fft.rfft2(x), factor), s=shape)


def test_undecimated_wavelet_analysis_is_pywt_swt2() -> None:
    """The Fourier-domain analysis equals the toolbox's route: pywt.swt2, each band of level j
    rolled by 2^(j−1), then shrunk (and the low-pass shrunk by 2^scales)."""
    rng = np.random.default_rng(4)
    for wavelet in ("haar", "db2"):
        image = rng.standard_normal((64, 96))
        decomposition = undecimated_wavelet(image, scales=3, wavelet=wavelet)
        coeffs = pywt.swt2(image, wavelet, level=4, trim_approx=True, norm=True)
        for j, triple in enumerate(coeffs[1:][::-1]):
            factor, shift = (2 ** (j - 1) if j > 1 else 1), 2**j
            for k, band in enumerate(triple):
                reference = _shrink(np.roll(band, (shift, shift), axis=(0, 1)), factor)
                np.testing.assert_allclose(decomposition.bands[3 * j + k], reference, rtol=0, atol=1e-12)
                np.testing.assert_allclose(decomposition.spectra[3 * j + k], np.fft.rfft2(reference), atol=1e-10)


def test_undecimated_wavelet_synthesis_is_pywt_iswt2() -> None:
    """The Fourier-domain synthesis equals the toolbox's route (expand each band, undo its shift,
    pywt.iswt2) on arbitrary bands, not only on the decomposition's own."""
    rng = np.random.default_rng(5)
    for wavelet in ("haar", "db2"):
        image = rng.standard_normal((64, 96))
        decomposition = undecimated_wavelet(image, scales=3, wavelet=wavelet)
        bands = [rng.standard_normal(band.shape) for band in decomposition.bands]
        levels = []
        for j in range(4):
            factor, shift = (2 ** (j - 1) if j > 1 else 1), 2**j
            levels.append(tuple(np.roll(_expand(bands[3 * j + k], factor), (-shift, -shift), axis=(0, 1))
                                for k in range(3)))
        low = pywt.swt2(image, wavelet, level=4, trim_approx=True, norm=True)[0]
        low_part = _expand(_shrink(low, 8), 8)
        reference = pywt.iswt2([low_part] + levels[::-1], wavelet, norm=True)
        assert np.allclose(decomposition.reconstruct(bands), reference, atol=1e-10)


@pytest.mark.skipif(not compiled_estimate_available(), reason="the compiled BLS-GSM kernel was not built")
@pytest.mark.parametrize("parent", [True, False])
def test_compiled_kernel_equals_numpy(parent: bool, monkeypatch) -> None:
    """The fused kernel (neighbourhoods read in place, rows of any length, written into a view of
    the band) gives numpy's covariance to rounding, and numpy's estimate to float32 rounding, and so
    does the whole subband. The estimate runs in float32: v and the log-likelihoods rounded to
    ≈ 6e-8 relative put it within ≈ 1e-7 of the band's largest estimate (measured here), so the
    tolerance is 1e-5 of that."""
    rng = np.random.default_rng(6)
    band = rng.standard_normal((23, 37)) * rng.lognormal(0, 1, (23, 37))
    father = rng.standard_normal((23, 37)) if parent else None
    n = 9 + parent
    c_u = np.cov(rng.standard_normal((n, 4 * n)))
    c_w = 0.3 * np.cov(rng.standard_normal((n, 4 * n)))
    posterior = GSMPosterior(c_u, c_w, 4, ZGrid())
    y = neighbourhoods(band, father, (3, 3))
    reference = posterior.estimate_numpy(y)
    tolerance = 1e-5 * np.abs(reference).max()
    interior = np.full((21, 40), np.nan, np.float32)[:, 2:37]  # rows of 35 at a stride of 40
    posterior.estimate_band(band, father, (3, 3), interior)
    np.testing.assert_allclose(interior.ravel(), reference, rtol=0, atol=tolerance)
    np.testing.assert_allclose(posterior.estimate(y), reference, rtol=0, atol=tolerance)
    np.testing.assert_allclose(neighbourhood_covariance(band, father, (3, 3)), y @ y.T / y.shape[1], rtol=1e-12)
    compiled = bls_gsm_band(band, father, c_w, (3, 3), ZGrid())
    monkeypatch.setattr(_gsm_estimator, "compiled_estimate_available", lambda: False)
    np.testing.assert_allclose(compiled, bls_gsm_band(band, father, c_w, (3, 3), ZGrid()), rtol=0,
                               atol=1e-5 * np.abs(compiled).max())


def test_fourier_resampling() -> None:
    import scipy.signal

    rng = np.random.default_rng(2)
    x = rng.standard_normal((16, 20))
    expanded = _expand(x, 2)
    reference = scipy.signal.resample(scipy.signal.resample(x, 32, axis=0), 40, axis=1)
    assert np.allclose(expanded, reference)
    # shrink undoes expand when the input has no Nyquist component
    spectrum = np.fft.fft2(x)
    spectrum[8, :] = 0
    spectrum[:, 10] = 0
    x = np.real(np.fft.ifft2(spectrum))
    assert np.allclose(_shrink(_expand(x, 4), 4), x)
    # shrink of a real image by cropping its full spectrum (the toolbox's shrink.m, written out)
    x = rng.standard_normal((16, 24))
    full = np.fft.fft2(x) / 4
    cropped = np.zeros((8, 12), dtype=complex)
    for ky in range(-3, 4):
        for kx in range(-5, 6):
            cropped[ky, kx] = full[ky, kx]
    for kx in range(-5, 6):
        cropped[4, kx] = (full[4, kx] + full[-4, kx]) / 2
    for ky in range(-3, 4):
        cropped[ky, 6] = (full[ky, 6] + full[ky, -6]) / 2
    cropped[4, 6] = (full[4, 6] + full[4, -6] + full[-4, 6] + full[-4, -6]) / 4
    np.testing.assert_allclose(_shrink(x, 2), np.fft.ifft2(cropped).real, atol=1e-13)


@pytest.mark.parametrize("representation", ["fs", "uw"])
def test_noise_covariance_from_impulse_matches_white_noise(representation: str) -> None:
    """C_w from the decomposition of a scaled impulse (the toolbox's method) equals the empirical
    neighbourhood covariance of the subbands of actual white noise."""
    shape, scales = (256, 256), 3
    def decompose(x: np.ndarray):
        return full_steerable(x, scales, 8) if representation == "fs" else undecimated_wavelet(x, scales)

    delta = np.zeros(shape)
    delta[128, 128] = np.sqrt(delta.size)
    noise = np.random.default_rng(3).standard_normal(shape)
    impulse, white = decompose(delta), decompose(noise)
    for index in (0, len(impulse.bands) // 2, len(impulse.bands) - 1):
        predicted = noise_covariance(impulse.bands[index], None, (3, 3))
        y = neighbourhoods(white.bands[index], None, (3, 3))
        empirical = y @ y.T / y.shape[1]
        assert np.allclose(empirical, predicted, atol=0.1 * predicted[4, 4])


# ---------------------------------------------------------------------------------------------
# the estimator


def _random_spd(rng: np.random.Generator, n: int, scale: float) -> np.ndarray:
    a = rng.standard_normal((n, n))
    return scale * (a @ a.T / n + 0.1 * np.eye(n))


def _exact_posterior_mean(
    y: np.ndarray, c_u: np.ndarray, c_w: np.ndarray, z: np.ndarray, centre: int, bls: bool = True
) -> np.ndarray:
    """Brute force: for each z, the Gaussian likelihood and Wiener estimate with explicit inverses."""
    log_lik, wiener = [], []
    for zk in z:
        cov = zk * c_u + c_w
        inv = np.linalg.inv(cov)
        log_lik.append(-0.5 * np.einsum("ip,ij,jp->p", y, inv, y) - 0.5 * np.linalg.slogdet(cov)[1])
        wiener.append((zk * c_u @ inv @ y)[centre])
    log_lik, wiener = np.array(log_lik), np.array(wiener)
    if not bls:
        return wiener[np.argmax(log_lik, axis=0), np.arange(y.shape[1])]
    weights = np.exp(log_lik - log_lik.max(axis=0))
    return (weights * wiener).sum(axis=0) / weights.sum(axis=0)


def test_estimator_is_the_exact_posterior_mean_on_synthetic_gsm_data() -> None:
    """Neighbourhoods drawn from the GSM model itself (z from the grid's log-uniform prior): the
    diagonalised, vectorised estimator equals the brute-force posterior mean, and beats the best
    linear (Wiener) estimate in mean squared error. numpy's float64 estimate to 1e-8; the compiled
    one (float32) to 1e-5 of the data's scale (its rounding: ≈ 2e-6 measured)."""
    rng = np.random.default_rng(4)
    n, centre, count = 10, 4, 20000
    grid = ZGrid(-4.0, 2.0, 0.5)
    z = grid.values()
    c_u, c_w = _random_spd(rng, n, 4.0), _random_spd(rng, n, 1.0)
    z_samples = rng.choice(z, size=count)
    x = np.sqrt(z_samples) * (np.linalg.cholesky(c_u) @ rng.standard_normal((n, count)))
    y = x + np.linalg.cholesky(c_w) @ rng.standard_normal((n, count))

    posterior = GSMPosterior(c_u, c_w, centre, grid)
    exact = _exact_posterior_mean(y, c_u, c_w, z, centre)
    assert np.allclose(posterior.estimate_numpy(y), exact, rtol=1e-8, atol=1e-10)
    estimate = posterior.estimate(y)
    assert np.allclose(estimate, exact, rtol=0, atol=1e-5 * np.sqrt(np.mean(y**2)))
    map_wiener = _exact_posterior_mean(y, c_u, c_w, z, centre, bls=False)
    assert np.allclose(posterior.estimate(y, optim=False), map_wiener)

    c_x = z.mean() * c_u
    linear = (c_x @ np.linalg.inv(c_x + c_w) @ y)[centre]
    mse_bls = np.mean((estimate - x[centre]) ** 2)
    mse_linear = np.mean((linear - x[centre]) ** 2)
    assert mse_bls < 0.9 * mse_linear


def test_subband_estimator_on_a_synthetic_gsm_field() -> None:
    """A subband whose local variance changes from place to place (a GSM field): the BLS-GSM band
    estimate removes most of the noise and beats the global Wiener filter."""
    rng = np.random.default_rng(5)
    size = 192
    field = rng.standard_normal((size + 2, size + 2))
    u = field[1:-1, 1:-1] + 0.5 * (field[:-2, 1:-1] + field[2:, 1:-1])  # vertically correlated
    z = np.exp(rng.uniform(-4, 3, size=(size // 16, size // 16))).repeat(16, 0).repeat(16, 1)
    x = np.sqrt(z) * u
    sigma = 1.0
    y = x + sigma * rng.standard_normal(x.shape)
    c_w = np.eye(9) * sigma**2
    estimate = bls_gsm_band(y, None, c_w, (3, 3), ZGrid())
    inner = (slice(1, -1), slice(1, -1))
    mse = np.mean((estimate - x)[inner] ** 2)
    signal_var = np.mean(x**2)
    wiener = y * signal_var / (signal_var + sigma**2)  # the best single (global) gain
    assert mse < 0.5 * sigma**2
    assert mse < 0.7 * np.mean((wiener - x)[inner] ** 2)


# ---------------------------------------------------------------------------------------------
# the denoiser: σ, size, determinism


@pytest.mark.parametrize("name", SETTINGS)
def test_monotone_in_sigma(name: str, camera: np.ndarray) -> None:
    method = get_method(name)
    clean = camera[200:296, 180:276]
    unit = np.random.default_rng(6).standard_normal(clean.shape)
    sigmas = [2, 5, 10, 20, 40, 80]
    # the same noise pattern, scaled: the denoised PSNR falls as σ grows
    scores = [psnr(clean, method.denoise(clean + s * unit, s)) for s in sigmas]
    assert all(a > b for a, b in zip(scores, scores[1:])), scores
    # the same noisy image, denoised for larger and larger σ: more and more is removed
    noisy = clean + 20 * unit
    removed = [np.linalg.norm(method.denoise(noisy, s) - noisy) for s in sigmas]
    assert all(a < b for a, b in zip(removed, removed[1:])), removed


def test_identity_as_sigma_goes_to_zero(camera: np.ndarray) -> None:
    clean = camera[:128, :160]
    out = get_method("bls_gsm").denoise(clean, 1e-3)
    assert np.max(np.abs(out - clean)) < 0.01
    assert psnr(clean, get_method("bls_gsm").denoise(clean, 0.1)) > psnr(clean, clean + 0.1) + 10
    # "uw" keeps only what its Fourier-cropped coarse bands represent (as the released code)
    assert psnr(clean, get_method("bls_gsm2").denoise(clean, 1e-3)) > 55


@pytest.mark.parametrize("name", SETTINGS)
@pytest.mark.parametrize("shape", [(1, 1), (2, 3), (7, 5), (16, 16), (33, 17), (40, 3), (63, 64)])
def test_any_size_and_sigma(name: str, shape: tuple[int, int], camera: np.ndarray) -> None:
    method = get_method(name)
    clean = camera[150 : 150 + shape[0], 220 : 220 + shape[1]]
    for sigma in (1, 10, 50, 100):
        noisy = add_noise(clean, sigma, 7)
        out = method.denoise(noisy, sigma)
        assert out.shape == clean.shape and out.dtype == np.float64 and np.all(np.isfinite(out))
        if min(shape) >= 16 and sigma >= 10:
            assert psnr(clean, out) > psnr(clean, noisy) + 3


@pytest.mark.parametrize("name", SETTINGS)
@pytest.mark.parametrize("shape", [(321, 481), (481, 321)])
def test_bsds_sizes(name: str, shape: tuple[int, int], camera: np.ndarray) -> None:
    clean = camera[: shape[0], : shape[1]]
    noisy = add_noise(clean, 25, 8)
    before = noisy.copy()
    out = get_method(name).denoise(noisy, 25)
    assert np.array_equal(noisy, before)  # input untouched
    assert out.shape == shape
    assert psnr(clean, out) > psnr(clean, noisy) + 7


def test_deterministic_and_options_change_the_result(camera: np.ndarray) -> None:
    clean = camera[100:164, 100:164]
    noisy = add_noise(clean, 30, 9)
    base = get_method("bls_gsm").denoise(noisy, 30)
    assert np.array_equal(base, get_method("bls_gsm").denoise(noisy, 30))
    variants = [
        {"parent": False},
        {"covariance": False},
        {"optim": False},
        {"orientations": 4},
        {"block": [5, 5]},
        {"boundary": False},
        {"scales": 3},
    ]
    for options in variants:
        out = get_method("bls_gsm", **options).denoise(noisy, 30)
        assert out.shape == clean.shape and not np.array_equal(out, base), options
        assert psnr(clean, out) > psnr(clean, noisy) + 3
    out = get_method("bls_gsm2", wavelet="db2", parent=True).denoise(noisy, 30)
    assert psnr(clean, out) > psnr(clean, noisy) + 3
