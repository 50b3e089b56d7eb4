"""The evaluation protocol every method is held to (DESIGN.md, "The protocol").

Grayscale by averaging R, G, B (the paper's rule); additive Gaussian noise on the 0–255 scale,
drawn from a generator seeded by (dataset, image id, σ, seed) so every method sees the very same
noisy image; PSNR = 20·log10(255 / RMSE) on the float output.

The noise model says what becomes of clean + σn (see NOISE_MODELS): the modern literature leaves
it as it is (`gaussian`); Jain & Seung appear to have clipped it to [0, 255] (`clipped`); a camera
or a PNG also rounds it (`quantized`). All three start from the same n, so they pair.
"""

from __future__ import annotations

import hashlib
from typing import TypeVar

import numpy as np
from skimage.metrics import structural_similarity

from bench.errors import BenchError

ArrayT = TypeVar("ArrayT")  # numpy.ndarray or torch.Tensor

PEAK = 255.0
LEVELS = 255  # grey levels above 0 of an 8-bit image

NOISE_MODELS = {
    "gaussian": "y = x + σn: neither clipped nor quantised (the modern literature's protocol)",
    "clipped": "y = clip(x + σn, 0, 255): the paper's protocol (its σ=50 example is noisy at 14.96 dB)",
    "quantized": "y = round(clip(x + σn, 0, 255)): an 8-bit noisy image, as a camera or a PNG stores it",
}
DEFAULT_NOISE = "gaussian"


def to_grayscale(image: np.ndarray) -> np.ndarray:
    """Float64 2-D image on 0–255: colour channels averaged, alpha dropped."""
    array = np.asarray(image)
    if array.ndim == 3:
        if array.shape[2] not in (1, 2, 3, 4):
            raise BenchError(f"expected a grayscale or RGB(A) image, got shape {array.shape}")
        colour = array[..., :3] if array.shape[2] >= 3 else array[..., :1]
        array = colour.astype(np.float64).mean(axis=2)
    if array.ndim != 2:
        raise BenchError(f"expected a 2-D grayscale or RGB image, got shape {array.shape}")
    return array.astype(np.float64)


def noise_seed(dataset: str, image_id: str, sigma: float, seed: int) -> int:
    """A 64-bit seed that is a pure function of the four keys (stable across runs and machines)."""
    key = f"{dataset}\x1f{image_id}\x1f{float(sigma)!r}\x1f{int(seed)}".encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "little")


def add_noise(clean: np.ndarray, sigma: float, rng_seed: int) -> np.ndarray:
    """clean + N(0, σ²), not clipped, not quantised."""
    rng = np.random.default_rng(rng_seed)
    return clean + sigma * rng.standard_normal(clean.shape)


def validate_noise_model(noise: str) -> str:
    """The name itself, or a BenchError listing the known noise models."""
    if noise not in NOISE_MODELS:
        raise BenchError(f"unknown noise model {noise!r}; available: {', '.join(NOISE_MODELS)}")
    return noise


def apply_noise_model(noisy: ArrayT, noise: str, peak: float = PEAK) -> ArrayT:
    """What the noise model makes of x + σn, on a scale whose white is `peak` (255 here, 1 for
    the convnets' training patches). Works on numpy arrays and torch tensors alike, so training
    and evaluation degrade their inputs by the very same rule."""
    validate_noise_model(noise)
    if noise == "gaussian":
        return noisy
    clipped = noisy.clip(0.0, peak)
    if noise == "clipped":
        return clipped
    return (clipped * (LEVELS / peak)).round() * (peak / LEVELS)


def noisy_version(
    clean: np.ndarray, dataset: str, image_id: str, sigma: float, seed: int, noise: str = DEFAULT_NOISE
) -> np.ndarray:
    """The noisy input every method gets for this (dataset, image, σ, seed) under `noise`: one
    underlying draw n for every noise model, so results under different models pair."""
    gaussian = add_noise(clean, sigma, noise_seed(dataset, image_id, sigma, seed))
    return apply_noise_model(gaussian, noise)


def psnr(clean: np.ndarray, estimate: np.ndarray) -> float:
    """20·log10(255 / RMSE) on float images; +inf for a perfect estimate."""
    rmse = float(np.sqrt(np.mean((np.asarray(clean, np.float64) - estimate) ** 2)))
    return float("inf") if rmse == 0 else 20.0 * np.log10(PEAK / rmse)


def ssim(clean: np.ndarray, estimate: np.ndarray) -> float:
    """SSIM with scikit-image's defaults on the 0–255 range."""
    return float(structural_similarity(clean, np.asarray(estimate, np.float64), data_range=PEAK))


def validate_sigma(sigma: float | None, blind: bool, method: str) -> None:
    """Non-blind methods need a positive σ; blind ones ignore it."""
    if blind:
        return
    if sigma is None:
        raise BenchError(f"method {method!r} is not blind: it needs sigma")
    if not np.isfinite(sigma) or sigma <= 0:
        raise BenchError(f"sigma must be > 0, got {sigma}")


def validate_image(image: np.ndarray, name: str = "image") -> np.ndarray:
    """A finite 2-D float64 array, or a BenchError naming what is wrong with it."""
    array = np.asarray(image)
    if array.ndim != 2:
        raise BenchError(f"{name} must be a 2-D grayscale array, got shape {array.shape}")
    if min(array.shape) < 1:
        raise BenchError(f"{name} is empty (shape {array.shape})")
    if not np.issubdtype(array.dtype, np.number):
        raise BenchError(f"{name} must be numeric, got dtype {array.dtype}")
    array = array.astype(np.float64)
    if not np.all(np.isfinite(array)):
        raise BenchError(f"{name} contains NaN or infinite values")
    return array
