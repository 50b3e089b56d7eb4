"""Field of Experts: prior loading, gradient, filter orientation, energy descent, method, search."""

from __future__ import annotations

import time
from itertools import islice

import numpy as np
import pytest
import torch
import yaml
from skimage import data

from bench.errors import BenchError
from bench.images import shared_data_dir
from bench.methods import foe
from bench.protocol import add_noise, psnr
from bench.registry import get_method


@pytest.fixture(scope="module")
def model64() -> foe.FieldOfExperts:
    return foe.FieldOfExperts(foe.load_prior(), dtype=torch.float64)


def as_batch(image: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(image, dtype=torch.float64)[None, None]


def camera_crop(size: int) -> np.ndarray:
    return np.asarray(data.camera(), np.float64)[200:200 + size, 220:220 + size]


def column_major_clique(image: np.ndarray, row: int, col: int) -> np.ndarray:
    """x_c as MATLAB's x(:) of the 5×5 clique at (row, col): the MANIFEST's vector convention."""
    return image[row:row + 5, col:col + 5].flatten(order="F")


def test_prior_shape_and_alphas():
    prior = foe.load_prior()
    assert prior.filters.shape == (24, 5, 5) and prior.alphas.shape == (24,)
    assert np.all(prior.alphas > 0)
    # The basis has no DC component: every filter sums to (nearly) zero.
    assert np.abs(prior.filters.sum(axis=(1, 2))).max() < 1e-2


def test_conversion_matches_the_shared_mat_file():
    """The shipped filters are basis.T @ W reshaped column-major (needs ../shared/data/foe)."""
    scipy_io = pytest.importorskip("scipy.io")
    try:
        mat = shared_data_dir("foe") / "foe_5x5.mat"
    except BenchError:
        pytest.skip("shared FoE data not available")
    original = scipy_io.loadmat(mat)
    columns = original["basis"].T @ original["W"]
    prior = foe.load_prior()
    for i in range(24):
        np.testing.assert_array_equal(prior.filters[i].flatten(order="F"), columns[:, i])
    np.testing.assert_array_equal(prior.alphas, original["a"].ravel())


def test_responses_equal_explicit_clique_sums(model64):
    """Batched convolution = J_iᵀ x_c with the column-major clique vector, for all 24 filters."""
    image = np.random.default_rng(1).uniform(0, 255, (9, 11))
    responses = model64.responses(as_batch(image))[0].numpy()
    prior = foe.load_prior()
    assert responses.shape == (24, 5, 7)
    for row, col in [(0, 0), (4, 6), (2, 3)]:
        clique = column_major_clique(image, row, col)
        expected = [prior.filters[i].flatten(order="F") @ clique for i in range(24)]
        np.testing.assert_allclose(responses[:, row, col], expected, rtol=1e-12)


def test_orientation_on_a_synthetic_edge():
    """J = e(u=0,v=1) − e(u=0,v=0) in the column-major vector is a horizontal difference: it
    answers a vertical step edge (and a row-major reading would not)."""
    vector = np.zeros(25)
    vector[0 + 5 * 1], vector[0 + 5 * 0] = 1.0, -1.0
    prior = foe.FoEPrior(vector.reshape(5, 5, order="F")[None], np.ones(1))
    model = foe.FieldOfExperts(prior, dtype=torch.float64)
    edge = np.zeros((8, 10))
    edge[:, 6:] = 255.0  # step between columns 5 and 6
    responses = model.responses(as_batch(edge))[0, 0].numpy()
    expected = np.zeros((4, 6))
    expected[:, 5] = 255.0  # cliques whose first two columns are 5 and 6
    np.testing.assert_array_equal(responses, expected)
    np.testing.assert_array_equal(model.responses(as_batch(edge.T))[0, 0].numpy(), np.zeros((6, 4)))


def test_gradient_matches_finite_differences(model64):
    rng = np.random.default_rng(2)
    x = as_batch(camera_crop(12) + rng.normal(0, 10, (12, 12)))
    grad = model64.gradient(x)[0, 0].numpy()
    eps = 1e-4
    for row, col in [(0, 0), (0, 11), (11, 5), (5, 6), (2, 1), (9, 9)]:  # corners, borders, inside
        bump = torch.zeros_like(x)
        bump[0, 0, row, col] = eps
        numeric = (model64.energy(x + bump) - model64.energy(x - bump)).item() / (2 * eps)
        assert grad[row, col] == pytest.approx(numeric, rel=1e-6, abs=1e-12)
    direction = torch.as_tensor(rng.normal(size=(1, 1, 12, 12)))
    numeric = (model64.energy(x + eps * direction) - model64.energy(x - eps * direction)).item() / (2 * eps)
    assert (grad * direction[0, 0].numpy()).sum() == pytest.approx(numeric, rel=1e-6)


def test_gradient_by_row_blocks_equals_one_block(model64):
    x = as_batch(np.random.default_rng(7).uniform(0, 255, (23, 9)))
    whole = model64.gradient(x, strip=10_000)
    for strip in (1, 4, 7, 19):
        torch.testing.assert_close(model64.gradient(x, strip=strip), whole, rtol=1e-12, atol=1e-12)


def test_update_is_a_gradient_step_on_the_posterior_energy(model64):
    """x ← x − η ∇[E(x) + λ‖y − x‖²/(2σ²)], checked against autograd on posterior_energy."""
    sigma, lam, step = 25.0, 4e-4, 3000.0
    y = as_batch(add_noise(camera_crop(16), sigma, 3))
    first, second = (x.clone() for x in islice(foe.ascend(model64, y, sigma, lam, step), 2))
    x = first.clone().requires_grad_(True)
    foe.posterior_energy(model64, x, y, sigma, lam).sum().backward()
    torch.testing.assert_close(second, first - step * x.grad, rtol=1e-10, atol=1e-10)


def test_posterior_energy_decreases_along_the_iterations(model64):
    sigma, lam, step = 25.0, 4e-4, 10000.0  # the largest step of the default search grid
    y = as_batch(add_noise(camera_crop(40), sigma, 4))
    energies = [foe.posterior_energy(model64, y, y, sigma, lam).item()]
    for x in islice(foe.ascend(model64, y, sigma, lam, step), 60):
        energies.append(foe.posterior_energy(model64, x, y, sigma, lam).item())
    assert np.all(np.diff(energies) < 0)


def test_load_errors(tmp_path):
    with pytest.raises(BenchError, match="cannot be read"):
        foe.load_prior(tmp_path / "missing.npz")
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(foe.WEIGHTS.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(BenchError, match="corrupt"):
        foe.load_prior(corrupt)
    not_npz = tmp_path / "text.npz"
    not_npz.write_text("not a parameter file")
    with pytest.raises(BenchError, match="not a valid parameter file"):
        foe.load_prior(not_npz, sha256=None)
    wrong_shape = tmp_path / "wrong.npz"
    np.savez(wrong_shape, filters=np.zeros((24, 3, 3)), alphas=np.ones(24))
    with pytest.raises(BenchError, match="expected filters"):
        foe.load_prior(wrong_shape, sha256=None)


def test_schedule_interpolates_in_log_sigma():
    tuned = {25.0: foe.Schedule(1e-3, 4000.0, 100), 100.0: foe.Schedule(1e-4, 10000.0, 500)}
    assert foe.schedule_for(25.0, tuned) == tuned[25.0]
    assert foe.schedule_for(10.0, tuned) == tuned[25.0]
    assert foe.schedule_for(400.0, tuned) == tuned[100.0]
    middle = foe.schedule_for(50.0, tuned)
    assert middle.lam == pytest.approx(10 ** -3.5) and middle.iterations == 300
    with pytest.raises(BenchError, match="no tuned"):
        foe.schedule_for(25.0, {})


def test_tuned_config_covers_the_papers_noise_levels():
    tuned = foe.load_tuned()
    assert set(tuned) >= {25.0, 50.0, 100.0}
    config = yaml.safe_load(foe.tuned_config_path().read_text())
    assert config["name"] == "foe" and set(config["options"]) == {"iterations", "step_size", "lam"}


def test_method_denoises_and_validates():
    method = get_method("foe")
    assert method.blind is False
    clean = camera_crop(48)
    noisy = add_noise(clean, 25.0, 5)
    estimate = method.denoise(noisy, 25.0)
    assert estimate.shape == clean.shape and estimate.dtype == np.float64
    assert psnr(clean, estimate) > psnr(clean, noisy) + 3
    with pytest.raises(BenchError, match="needs sigma"):
        method.denoise(noisy, None)
    with pytest.raises(BenchError, match="at least 5"):
        method.denoise(noisy[:4, :10], 25.0)
    with pytest.raises(BenchError, match="must be > 0"):
        get_method("foe", lam=-1.0)
    with pytest.raises(BenchError, match="integer"):
        get_method("foe", iterations=2.5)


def test_explicit_options_override_the_tuned_values():
    method = get_method("foe", iterations=3, step_size=100.0, lam=0.5)
    assert method.schedule(50.0) == foe.Schedule(0.5, 100.0, 3)
    assert get_method("foe", iterations=7).schedule(25.0).iterations == 7


def test_speed_smoke():
    """Not a timing test: a 128×128 image runs 50 iterations, and says how fast."""
    model = foe.FieldOfExperts(foe.load_prior())
    y = torch.as_tensor(add_noise(camera_crop(128), 25.0, 6), dtype=torch.float32)[None, None]
    start = time.perf_counter()
    x = foe.run(model, y, 25.0, foe.Schedule(4e-4, 4000.0, 50))
    seconds = time.perf_counter() - start
    assert torch.isfinite(x).all()
    print(f"FoE 128×128: {50 / seconds:.0f} iterations/s")


def test_search_command_writes_a_loadable_config(tmp_path, capsys):
    try:
        shared_data_dir("train400")
    except BenchError:
        pytest.skip("train400 crops not available")
    from bench import foe_search

    output = tmp_path / "foe.yaml"
    assert foe_search.main(["--sigmas", "25", "--lams", "4e-4", "1e-3", "--steps", "4000",
                            "--crops", "2", "--crop-size", "32", "--max-iterations", "20",
                            "--output", str(output)]) == 0
    chosen = foe.load_tuned(output)[25.0]
    assert chosen.lam in (4e-4, 1e-3) and chosen.step_size == 4000.0 and 10 <= chosen.iterations <= 20
    assert "chosen" in capsys.readouterr().out
