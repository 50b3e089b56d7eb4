"""Test-time self-ensemble of the convnets: symmetric by construction, and better than one pass."""

from __future__ import annotations

import numpy as np
from skimage import data

from bench import get_method
from bench.protocol import noisy_version, psnr


def test_self_ensemble_commutes_with_rotations_and_flips_where_one_pass_does_not():
    noisy = np.random.default_rng(0).uniform(0, 255, (24, 40))
    plain, ensemble = get_method("cn2"), get_method("cn2", self_ensemble=True)
    rotate = lambda image: np.ascontiguousarray(np.rot90(image))  # noqa: E731
    mirror = lambda image: np.ascontiguousarray(image[::-1])  # noqa: E731
    for transform in (rotate, mirror):
        out = ensemble.denoise(noisy, 50)
        assert out.shape == noisy.shape
        np.testing.assert_allclose(ensemble.denoise(transform(noisy), 50), transform(out), atol=1e-9)
        assert np.abs(plain.denoise(transform(noisy), 50) - transform(plain.denoise(noisy, 50))).max() > 1e-3


def test_self_ensemble_raises_psnr_on_a_natural_image():
    clean = np.asarray(data.camera(), np.float64)[200:296, 200:296]
    noisy = noisy_version(clean, "skimage", "camera", 25, 0)
    plain = psnr(clean, get_method("cn2").denoise(noisy, 25))
    ensemble = psnr(clean, get_method("cn2", self_ensemble=True).denoise(noisy, 25))
    assert ensemble > plain + 0.03
