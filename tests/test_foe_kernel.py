"""FoE's compiled kernel: the gradient and the gradient steps of PyTorch's path to float32 rounding,
at any image size, by every clone this CPU runs, whatever the thread count; denoising PSNR unchanged."""

from __future__ import annotations

from itertools import islice

import numpy as np
import pytest
import torch
from skimage import data

from bench.errors import BenchError
from bench.images import load_image, shared_data_dir
from bench.methods import _foe_inference, foe
from bench.methods._foe_priors import FoEPrior, load_prior
from bench.protocol import add_noise, psnr
from kernel_clones import CLONE_NAMES, use_clone

pytestmark = pytest.mark.skipif(_foe_inference.unavailable_reason() is not None,
                                reason=str(_foe_inference.unavailable_reason()))
PRIORS = ["roth5x5", "roth3x3", "vandermaaten"]


@pytest.fixture(params=CLONE_NAMES)
def clone(request, monkeypatch, tmp_path) -> str:
    """Every clone in turn (skipped where the CPU lacks it), plus the AVX-512 clone's own code
    compiled for AVX2."""
    return use_clone(request.param, _foe_inference, "_foe_kernel", monkeypatch, tmp_path)


def models(prior: str | FoEPrior) -> tuple[foe.FieldOfExperts, foe.FieldOfExperts]:
    """The same prior through the kernel and through torch, both float32."""
    prior = load_prior(prior) if isinstance(prior, str) else prior
    compiled, reference = foe.FieldOfExperts(prior), foe.FieldOfExperts(prior, compiled=False)
    assert compiled.kernel is not None and reference.kernel is None
    return compiled, reference


def noisy_images(shape: tuple[int, ...], seed: int = 0) -> torch.Tensor:
    """Smooth images with noise on 0–255: the responses span φ's linear and saturated ranges."""
    rng = np.random.default_rng(seed)
    rows, cols = np.meshgrid(np.arange(shape[-2]), np.arange(shape[-1]), indexing="ij")
    smooth = 128 + 80 * np.sin(rows / 5.0) * np.cos(cols / 7.0)
    return torch.as_tensor(smooth + rng.normal(0, 25, shape), dtype=torch.float32)


def relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    """Largest difference relative to the largest value (single entries may cancel to near zero)."""
    return float((a.double() - b.double()).abs().max() / b.double().abs().max())


def tolerance(clone: str) -> tuple[float, float]:
    """(kernel against torch, both float32; the kernel's error against float64 as a multiple of
    torch's). The filters' coefficients are large and sum to zero, so rounding in the responses is
    amplified: torch's own float32 gradient is up to ~2e-5 off the float64 one. The clones with fused
    multiply-adds round as torch does (~1e-6 apart); the plain clone rounds every product too and
    lands up to ~5e-5 away."""
    return (1e-4, 10.0) if clone == "plain" else (1e-5, 3.0)


@pytest.mark.parametrize("prior", PRIORS)
@pytest.mark.parametrize("shape", [(5, 5), (7, 9), (9, 7), (13, 17), (37, 70), (64, 33), (11, 150), (70, 71)])
def test_gradient_equals_torch(prior, shape, clone):
    compiled, reference = models(prior)
    rounded = load_prior(prior)  # float64 arithmetic on the filters as float32 holds them
    rounded = FoEPrior(rounded.filters.astype(np.float32).astype(np.float64), rounded.alphas.astype(np.float32))
    exact = foe.FieldOfExperts(rounded, dtype=torch.float64)
    x = noisy_images((2, 1, *shape), seed=sum(shape))
    ours, theirs, truth = compiled.gradient(x), reference.gradient(x), exact.gradient(x.double())
    apart, factor = tolerance(clone)
    assert relative_error(ours, theirs) < apart
    assert relative_error(ours, truth) <= factor * relative_error(theirs, truth) + 1e-6


@pytest.mark.parametrize("clique", [2, 4, 7])
def test_other_clique_sizes_take_the_generic_path(clique):
    rng = np.random.default_rng(clique)
    prior = FoEPrior(rng.normal(size=(3, clique, clique)), rng.uniform(0.1, 1, 3))
    compiled, reference = models(prior)
    x = noisy_images((1, 1, 23, 41))
    assert relative_error(compiled.gradient(x), reference.gradient(x)) < 1e-5


@pytest.mark.parametrize("prior", PRIORS)
def test_gradient_matches_finite_differences(prior):
    """The float32 kernel against central differences of the float64 energy at the same image."""
    compiled = foe.FieldOfExperts(load_prior(prior))
    exact = foe.FieldOfExperts(load_prior(prior), dtype=torch.float64)
    x = noisy_images((1, 1, 12, 13), seed=3)
    grad = compiled.gradient(x)[0, 0].double()
    x64, eps = x.double(), 1e-3
    for row, col in [(0, 0), (0, 12), (11, 5), (5, 6), (2, 1), (11, 12)]:  # corners, borders, inside
        bump = torch.zeros_like(x64)
        bump[0, 0, row, col] = eps
        numeric = (exact.energy(x64 + bump) - exact.energy(x64 - bump)).item() / (2 * eps)
        assert grad[row, col].item() == pytest.approx(numeric, rel=1e-4, abs=1e-5 * grad.abs().max().item())


@pytest.mark.parametrize("momentum", [0.0, torch.tensor([0.6, 0.0]).view(2, 1, 1, 1)])
def test_gradient_steps_equal_torch_with_a_setting_per_image(clone, momentum):
    """The first steps, plain and heavy-ball (later ones drift apart by amplified rounding, as
    torch's float32 and float64 steps do; the PSNR after a whole run is checked below)."""
    compiled, reference = models("roth5x5")
    y = noisy_images((2, 1, 29, 38), seed=4)
    omega, step = torch.tensor([4.0, 1.0]).view(2, 1, 1, 1), torch.tensor([2.0, 0.5]).view(2, 1, 1, 1)
    ours = islice(foe.gradient_steps(compiled, y, 25.0, omega, step, momentum), 3)
    theirs = islice(foe.gradient_steps(reference, y, 25.0, omega, step, momentum), 3)
    for a, b in zip(ours, theirs):
        assert a.shape == b.shape and relative_error(a, b) < tolerance(clone)[0]


def test_results_do_not_depend_on_the_thread_count():
    compiled, _ = models("roth5x5")
    x = noisy_images((1, 1, 67, 45), seed=5)
    threads = torch.get_num_threads()
    try:
        results = []
        for count in (1, 2, 3, 7):
            torch.set_num_threads(count)
            steps = [s.clone() for s in islice(foe.gradient_steps(compiled, x, 25.0, 4.0, 2.0, 0.5), 3)]
            results.append((compiled.gradient(x), *steps))
    finally:
        torch.set_num_threads(threads)
    for result in results[1:]:
        for a, b in zip(result, results[0]):
            assert torch.equal(a, b)


def bsd68_crops(count: int, size: int) -> list[np.ndarray]:
    try:
        folder = shared_data_dir("bsd68")
    except BenchError:
        pytest.skip("shared BSD68 data not available")
    return [load_image(folder / f"test{k:03d}.png")[100:100 + size, 150:150 + size] for k in range(1, count + 1)]


@pytest.mark.slow
@pytest.mark.parametrize("sigma", [25.0, 50.0, 100.0])
def test_denoising_psnr_is_as_close_to_float64_as_torch_float32s(sigma):
    """The tuned schedule, run to the end on real crops. The tuned steps are long and not monotone,
    so rounding differences grow over the iterations: on 64² crops torch's own float32 and float64
    runs end up to ~0.1 dB apart (on whole 481×321 images, ~0.002 dB). The kernel's runs must be as close to float64 as torch's float32
    runs are, on average over the crops."""
    compiled, reference = models("roth5x5")
    exact = foe.FieldOfExperts(load_prior("roth5x5"), dtype=torch.float64)
    plan = foe.schedule_for(sigma, foe.load_tuned("roth5x5", "gradient"))
    ours, theirs = [], []
    for seed, clean in enumerate(bsd68_crops(3, 48)):
        y = torch.as_tensor(add_noise(clean, sigma, seed))[None, None]
        kernel, torch32, torch64 = (psnr(clean, foe.run(m, y.to(m.dtype), sigma, "gradient", plan)[0, 0].double().numpy())
                                    for m in (compiled, reference, exact))
        ours.append(abs(kernel - torch64))
        theirs.append(abs(torch32 - torch64))
    assert np.mean(ours) <= 2 * np.mean(theirs) + 0.01


def test_lbfgs_takes_the_kernels_gradient_and_torchs_energy():
    compiled, reference = models("roth3x3")
    clean = np.asarray(data.camera(), np.float64)[200:248, 220:268]
    y = torch.as_tensor(add_noise(clean, 25.0, 1), dtype=torch.float32)[None, None]
    (energy, grad), (their_energy, their_grad) = compiled.energy_and_gradient(y), reference.energy_and_gradient(y)
    assert torch.equal(energy, their_energy) and relative_error(grad, their_grad) < 1e-4
    plan = foe.Schedule(4.0, 30)
    ours, theirs = (psnr(clean, foe.run(m, y, 25.0, "lbfgs", plan)[0, 0].double().numpy()) for m in (compiled, reference))
    assert ours > psnr(clean, y[0, 0].double().numpy()) + 2 and ours == pytest.approx(theirs, abs=0.1)


def test_float64_and_large_cliques_stay_in_torch():
    assert foe.FieldOfExperts(load_prior("roth5x5"), dtype=torch.float64).kernel is None
    side = _foe_inference._foe_kernel.MAX_CLIQUE + 1
    assert "cliques up to" in _foe_inference.unavailable_reason(side)
    assert foe.FieldOfExperts(FoEPrior(np.ones((1, side, side)), np.ones(1))).kernel is None


def test_kernel_rejects_rows_outside_the_image():
    compiled, _ = models("roth3x3")
    x = _foe_inference.padded(noisy_images((1, 1, 8, 8)))
    kernel = compiled.kernel
    with pytest.raises(ValueError, match="out of bounds"):
        _foe_inference._foe_kernel.gradient_rows(
            _foe_inference.active_clone().index, x.data_ptr(), 0, x.data_ptr(), 32, 32, 32, 8, 8, kernel.maps,
            kernel.clique, kernel.filters.data_ptr(), kernel.taps.data_ptr(), 0.0, 0.0, 0.0, 0, 9)
