"""Field of Experts: prior files, gradient, filter orientation, energy descent, method, search."""

from __future__ import annotations

import time
from dataclasses import replace
from itertools import islice

import numpy as np
import pytest
import torch
import yaml
from skimage import data

from bench.errors import BenchError
from bench.images import shared_data_dir
from bench.methods import _foe_priors as priors
from bench.methods import foe
from bench.protocol import add_noise, psnr
from bench.registry import get_method


@pytest.fixture(scope="module", params=["roth5x5", "roth3x3", "vandermaaten"])
def model64(request) -> foe.FieldOfExperts:
    return foe.FieldOfExperts(priors.load_prior(request.param), dtype=torch.float64)


def as_batch(image: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(image, dtype=torch.float64)[None, None]


def camera_crop(size: int) -> np.ndarray:
    return np.asarray(data.camera(), np.float64)[200:200 + size, 220:220 + size]


def column_major_clique(image: np.ndarray, row: int, col: int) -> np.ndarray:
    """x_c as MATLAB's x(:) of the 5×5 clique at (row, col): the MANIFEST's vector convention."""
    return image[row:row + 5, col:col + 5].flatten(order="F")


def foe_text(side: int, alphas: list[float], rows_of_coefficients: np.ndarray, order: str = "C") -> str:
    """A `.foe` file listing the clique pixels in row-major ("C") or column-major ("F") order."""
    rows, cols = np.unravel_index(np.arange(side * side), (side, side), order=order)
    lines = [f"{side} {len(alphas)}", " ".join(map(str, cols)), " ".join(map(str, rows)),
             " ".join(map(str, alphas))]
    lines += [" ".join(f"{v:.5f}" for v in row) for row in rows_of_coefficients]
    return "\n".join(lines) + "\n"


def test_foe_parser_places_each_coefficient_at_its_offset(tmp_path):
    """A written 3×3 file: coefficient k of a filter lands at (row offset k, column offset k),
    whichever order the file lists the pixels in."""
    filters = np.arange(18, dtype=float).reshape(2, 3, 3) - 8.5
    for order in ("C", "F"):
        path = tmp_path / f"model_{order}.foe"
        coefficients = np.stack([f.flatten(order=order) for f in filters])
        path.write_text(foe_text(3, [0.25, 0.5], coefficients, order))
        prior = priors.load_prior_file(path, sha256=None)
        np.testing.assert_array_equal(prior.filters, filters)
        np.testing.assert_array_equal(prior.alphas, [0.25, 0.5])
        assert prior.clique == 3


def test_foe_parser_rejects_bad_files(tmp_path):
    good = foe_text(3, [0.25, 0.5], np.ones((2, 9)))
    truncated = tmp_path / "truncated.foe"
    truncated.write_text(good[:-20])
    with pytest.raises(BenchError, match=r"truncated\.foe is not a valid \.foe file: .*truncated"):
        priors.load_prior_file(truncated, sha256=None)
    garbage = tmp_path / "garbage.foe"
    garbage.write_text(good.replace("0.25", "zero"))
    with pytest.raises(BenchError, match="not a valid .foe file"):
        priors.load_prior_file(garbage, sha256=None)
    repeated = tmp_path / "repeated.foe"
    repeated.write_text(good.replace("0 1 2 0 1 2 0 1 2", "0 0 2 0 1 2 0 1 2", 1))
    with pytest.raises(BenchError, match="offsets do not cover"):
        priors.load_prior_file(repeated, sha256=None)
    negative = tmp_path / "negative.foe"
    negative.write_text(good.replace("0.25", "-0.25"))
    with pytest.raises(BenchError, match="every α > 0"):
        priors.load_prior_file(negative, sha256=None)


@pytest.mark.parametrize("name", list(priors.PRIORS))
def test_shipped_priors_load_and_have_no_dc_response(name):
    prior = priors.load_prior(name)
    expected = {"roth5x5": (24, 5), "roth3x3": (8, 3), "vandermaaten": (24, 5)}[name]
    assert (len(prior.filters), prior.clique) == expected
    assert np.all(prior.alphas > 0)
    # Learned without the DC component: every filter sums to (nearly) zero.
    assert np.abs(prior.filters.sum(axis=(1, 2))).max() < 0.05 * np.abs(prior.filters).max()


def test_shipped_roth_files_equal_the_shared_copies():
    """The shipped `.foe` files and license notice are byte-identical to ../shared/data/foe_roth."""
    try:
        shared = shared_data_dir("foe_roth")
    except BenchError:
        pytest.skip("shared foe_roth data not available")
    for shipped, original in (("foe_roth_5x5.foe", "5x5.foe"), ("foe_roth_3x3.foe", "3x3.foe"),
                              ("README.foe", "README.foe")):
        assert (priors.WEIGHTS_DIR / shipped).read_bytes() == (shared / original).read_bytes()


def test_prior_file_errors_name_the_file(tmp_path, monkeypatch):
    source = priors.PRIORS["roth5x5"]
    missing = tmp_path / "missing.foe"
    monkeypatch.setitem(priors.PRIORS, "roth5x5", priors.PriorFile(missing, source.sha256))
    with pytest.raises(BenchError, match=r"missing\.foe cannot be read"):
        get_method("foe")
    truncated = tmp_path / "truncated.foe"
    truncated.write_bytes(source.path.read_bytes()[:-100])
    monkeypatch.setitem(priors.PRIORS, "roth5x5", priors.PriorFile(truncated, source.sha256))
    with pytest.raises(BenchError, match=r"truncated\.foe is corrupt or truncated: its SHA-256"):
        get_method("foe")
    with pytest.raises(BenchError, match="unknown FoE prior 'roth7x7'"):
        get_method("foe", prior="roth7x7")


def test_vandermaaten_conversion_matches_the_shared_mat_file():
    """The shipped filters are basis.T @ W reshaped column-major (needs ../shared/data/foe)."""
    scipy_io = pytest.importorskip("scipy.io")
    try:
        mat = shared_data_dir("foe") / "foe_5x5.mat"
    except BenchError:
        pytest.skip("shared FoE data not available")
    original = scipy_io.loadmat(mat)
    columns = original["basis"].T @ original["W"]
    prior = priors.load_prior("vandermaaten")
    for i in range(24):
        np.testing.assert_allclose(prior.filters[i].flatten(order="F"), columns[:, i], rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(prior.alphas, original["a"].ravel())


def test_responses_equal_explicit_clique_sums():
    """Batched convolution = J_iᵀ x_c with the column-major clique vector, for all 24 filters."""
    prior = priors.load_prior("vandermaaten")
    model = foe.FieldOfExperts(prior, dtype=torch.float64)
    image = np.random.default_rng(1).uniform(0, 255, (9, 11))
    responses = model.responses(as_batch(image))[0].numpy()
    assert responses.shape == (24, 5, 7)
    for row, col in [(0, 0), (4, 6), (2, 3)]:
        clique = column_major_clique(image, row, col)
        expected = [prior.filters[i].flatten(order="F") @ clique for i in range(24)]
        np.testing.assert_allclose(responses[:, row, col], expected, rtol=1e-12)


def test_orientation_on_a_synthetic_edge():
    """A filter −1 at (0, 0), +1 at (0, 1) is a horizontal difference: it answers a vertical step
    edge only, and not the transposed one."""
    filters = np.zeros((1, 5, 5))
    filters[0, 0, 1], filters[0, 0, 0] = 1.0, -1.0
    model = foe.FieldOfExperts(priors.FoEPrior(filters, np.ones(1)), dtype=torch.float64)
    edge = np.zeros((8, 10))
    edge[:, 6:] = 255.0  # step between columns 5 and 6
    responses = model.responses(as_batch(edge))[0, 0].numpy()
    expected = np.zeros((4, 6))
    expected[:, 5] = 255.0  # cliques whose first two columns are 5 and 6
    np.testing.assert_array_equal(responses, expected)
    np.testing.assert_array_equal(model.responses(as_batch(edge.T))[0, 0].numpy(), np.zeros((6, 4)))


def test_energy_and_gradient_match_finite_differences(model64):
    rng = np.random.default_rng(2)
    x = as_batch(camera_crop(12) + rng.normal(0, 10, (12, 12)))
    energy, grad = model64.energy_and_gradient(x)
    assert energy.item() == pytest.approx(model64.energy(x).item(), rel=1e-12)
    torch.testing.assert_close(grad, model64.gradient(x), rtol=1e-12, atol=1e-12)
    grad = grad[0, 0].numpy()
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
    whole = model64.energy_and_gradient(x, strip=10_000)
    for strip in (1, 4, 7, 19):
        energy, grad = model64.energy_and_gradient(x, strip=strip)
        torch.testing.assert_close(grad, whole[1], rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(energy, whole[0], rtol=1e-12, atol=1e-12)


def test_gradient_step_is_a_step_on_the_posterior_energy(model64):
    """x ← x − η ∇[E(x) + ω‖y − x‖²/(2σ²)], checked against autograd on posterior_energy."""
    sigma, omega, step = 25.0, 4.0, 0.01
    y = as_batch(add_noise(camera_crop(16), sigma, 3))
    first, second = (x.clone() for x in islice(foe.gradient_steps(model64, y, sigma, omega, step), 2))
    x = first.clone().requires_grad_(True)
    foe.posterior_energy(model64, x, y, sigma, omega).sum().backward()
    torch.testing.assert_close(second, first - step * x.grad, rtol=1e-10, atol=1e-10)


def test_momentum_step_adds_beta_times_the_last_move(model64):
    """Heavy ball: x_{k+1} = x_k − η ∇U(x_k) + β (x_k − x_{k−1}), from x₋₁ = x₀ = y."""
    sigma, omega, step, beta = 25.0, 4.0, 0.01, 0.6
    y = as_batch(add_noise(camera_crop(16), sigma, 3))
    plain_first = next(foe.gradient_steps(model64, y, sigma, omega, step)).clone()
    first, second = (x.clone() for x in islice(foe.gradient_steps(model64, y, sigma, omega, step, beta), 2))
    torch.testing.assert_close(first, plain_first, rtol=0, atol=0)  # no move before the first step
    x = first.clone().requires_grad_(True)
    foe.posterior_energy(model64, x, y, sigma, omega).sum().backward()
    torch.testing.assert_close(second, first - step * x.grad + beta * (first - y), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("solver", ["lbfgs", "gradient"])
def test_the_optimisers_decrease_the_posterior_energy(solver):
    """Every L-BFGS iterate (Armijo line search) and every plain gradient step (η below 2/L)
    lowers E(x) + ω‖x − y‖²/(2σ²), for each image of a batch with its own ω."""
    model = foe.FieldOfExperts(priors.load_prior("roth5x5"), dtype=torch.float64)
    sigma, omega = 25.0, torch.tensor([2.0, 6.0], dtype=torch.float64).view(2, 1, 1, 1)
    y = torch.cat([as_batch(add_noise(camera_crop(40), sigma, seed)) for seed in (4, 5)])
    energies = [foe.posterior_energy(model, y, y, sigma, omega)]
    for x in islice(foe.iterates(model, y, sigma, solver, omega, 0.01), 40):
        energies.append(foe.posterior_energy(model, x, y, sigma, omega))
    steps = torch.diff(torch.stack(energies), dim=0)
    assert (steps < 0).all()
    if solver == "lbfgs":  # and it gets much further than plain steps in the same count
        plain = list(islice(foe.gradient_steps(model, y, sigma, omega, 0.01), 40))[-1]
        assert (energies[-1] < foe.posterior_energy(model, plain, y, sigma, omega)).all()


def test_lbfgs_treats_each_image_of_a_batch_as_its_own_problem():
    model = foe.FieldOfExperts(priors.load_prior("roth3x3"), dtype=torch.float64)
    sigma = 50.0
    y = torch.cat([as_batch(add_noise(camera_crop(24), sigma, seed)) for seed in (1, 2)])
    omega = torch.tensor([3.0, 8.0], dtype=torch.float64).view(2, 1, 1, 1)
    together = list(islice(foe.lbfgs_steps(model, y, sigma, omega), 15))[-1]
    for b in range(2):
        alone = list(islice(foe.lbfgs_steps(model, y[b:b + 1], sigma, omega[b].item()), 15))[-1]
        torch.testing.assert_close(together[b:b + 1], alone, rtol=1e-9, atol=1e-9)


def test_schedule_interpolates_in_log_sigma():
    tuned = {25.0: foe.Schedule(1e-3, 100, 4000.0), 100.0: foe.Schedule(1e-4, 500, 10000.0)}
    assert foe.schedule_for(25.0, tuned) == tuned[25.0]
    assert foe.schedule_for(10.0, tuned) == tuned[25.0]
    assert foe.schedule_for(400.0, tuned) == tuned[100.0]
    middle = foe.schedule_for(50.0, tuned)
    assert middle.omega == pytest.approx(10 ** -3.5) and middle.iterations == 300
    assert foe.schedule_for(50.0, {25.0: foe.Schedule(2.0, 10), 100.0: foe.Schedule(8.0, 30)}).step_size is None
    with pytest.raises(BenchError, match="no tuned"):
        foe.schedule_for(25.0, {})


def test_tuned_config_covers_the_papers_noise_levels_for_every_prior_and_solver_shipped():
    config = yaml.safe_load(foe.tuned_config_path().read_text())
    assert config["name"] == "foe"
    assert config["options"]["prior"] == foe.DEFAULT_PRIOR and config["options"]["solver"] == foe.DEFAULT_SOLVER
    assert set(config["tuned"][foe.DEFAULT_PRIOR]) == set(foe.SOLVERS)
    for prior, solvers in config["tuned"].items():
        for solver in solvers:
            assert set(foe.load_tuned(prior, solver)) >= {25.0, 50.0, 100.0}
            for record in config["search"][prior][solver].values():
                assert record["command"].startswith("python -m bench.foe_search")


def chosen_and_best(sigma: int) -> tuple[dict, list[dict]]:
    """The default prior and solver's search record at σ, and its chosen setting with the search's
    best one (recorded when a tolerance made it choose fewer iterations)."""
    config = yaml.safe_load(foe.tuned_config_path().read_text())
    search = config["search"][foe.DEFAULT_PRIOR][foe.DEFAULT_SOLVER][sigma]
    chosen = config["tuned"][foe.DEFAULT_PRIOR][foe.DEFAULT_SOLVER][sigma]
    return search, [chosen] + ([search["best"]] if "best" in search else [])


@pytest.mark.parametrize("sigma", [20, 25, 50, 100])
def test_chosen_omega_lies_inside_its_grid(sigma):
    search, settings = chosen_and_best(sigma)
    for setting in settings:
        assert min(search["omegas"]) < setting["omega"] < max(search["omegas"])


@pytest.mark.parametrize("sigma", [20, 25, 50, 100])
def test_stopping_point_lies_below_the_searched_maximum(sigma):
    """An optimum the grid cut off is not an optimum."""
    search, settings = chosen_and_best(sigma)
    for setting in settings:
        assert setting["iterations"] < search["max_iterations"]


def searched_on_the_same_crops(a: dict, b: dict) -> bool:
    """Mean PSNRs compare only over the same crops, scored the same way."""
    return all(a.get(key) == b.get(key) for key in ("crops", "crop_size", "border"))


def test_default_solver_is_the_better_one_on_the_training_crops():
    """The default solver's search reached the highest mean PSNR on its crops, up to the 0.02 dB
    that the searches trade for fewer iterations, and of those solvers it stops soonest. Solvers
    searched on other crops do not compare (L-BFGS was searched on the 8 × 96² crops only)."""
    config = yaml.safe_load(foe.tuned_config_path().read_text())
    tuned, searches = config["tuned"][foe.DEFAULT_PRIOR], config["search"][foe.DEFAULT_PRIOR]
    for sigma in (25, 50, 100):
        default = searches[foe.DEFAULT_SOLVER][sigma]
        rivals = [solver for solver in tuned if searched_on_the_same_crops(searches[solver][sigma], default)]
        assert len(rivals) >= 2, f"σ = {sigma}: no other solver was searched on the default's crops"
        best = {solver: searches[solver][sigma].get("best", tuned[solver][sigma])["train_psnr"] for solver in rivals}
        contenders = [solver for solver, value in best.items() if value >= max(best.values()) - 0.02]
        assert foe.DEFAULT_SOLVER in contenders
        assert tuned[foe.DEFAULT_SOLVER][sigma]["iterations"] == min(tuned[s][sigma]["iterations"] for s in contenders)


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
        get_method("foe", omega=-1.0)
    with pytest.raises(BenchError, match="integer"):
        get_method("foe", iterations=2.5)
    with pytest.raises(BenchError, match="solver must be one of"):
        get_method("foe", solver="newton")
    with pytest.raises(BenchError, match="only to solver=gradient and solver=momentum"):
        get_method("foe", solver="lbfgs", step_size=0.01)
    with pytest.raises(BenchError, match="only to solver=momentum"):
        get_method("foe", solver="gradient", momentum=0.5)
    with pytest.raises(BenchError, match=r"momentum must be in \[0, 1\)"):
        get_method("foe", solver="momentum", momentum=1.0)


def test_other_priors_denoise():
    """van der Maaten's prior with its tuned plain-gradient schedule; the untuned 3×3 model with
    explicit settings, and a clear error without them."""
    clean = camera_crop(40)
    noisy = add_noise(clean, 50.0, 6)
    estimates = [get_method("foe", prior="vandermaaten", solver="gradient").denoise(noisy, 50.0),
                 get_method("foe", prior="roth3x3", solver="lbfgs", omega=1.0, iterations=60).denoise(noisy, 50.0)]
    for estimate in estimates:
        assert psnr(clean, estimate) > psnr(clean, noisy) + 3
    if not foe.load_tuned("roth3x3", foe.DEFAULT_SOLVER):
        with pytest.raises(BenchError, match="no tuned FoE settings"):
            get_method("foe", prior="roth3x3").schedule(25.0)


def test_explicit_options_override_the_tuned_values():
    method = get_method("foe", solver="gradient", iterations=3, step_size=0.5, omega=7.0)
    assert method.schedule(50.0) == foe.Schedule(7.0, 3, 0.5)
    tuned = get_method("foe").schedule(25.0)
    assert get_method("foe", iterations=7).schedule(25.0) == replace(tuned, iterations=7)
    assert get_method("foe").fingerprint(25.0) != get_method("foe", iterations=7).fingerprint(25.0)


def test_speed_smoke():
    """Not a timing test: a 128×128 image runs 30 L-BFGS iterations, and says how fast."""
    model = foe.FieldOfExperts(priors.load_prior("roth5x5"))
    y = torch.as_tensor(add_noise(camera_crop(128), 25.0, 6), dtype=torch.float32)[None, None]
    start = time.perf_counter()
    x = foe.run(model, y, 25.0, "lbfgs", foe.Schedule(4.0, 30))
    seconds = time.perf_counter() - start
    assert torch.isfinite(x).all()
    print(f"FoE 128×128: {30 / seconds:.0f} L-BFGS iterations/s")


@pytest.mark.parametrize("solver, grid", [("lbfgs", []), ("gradient", ["--steps", "0.005", "0.01"]),
                                          ("momentum", ["--steps", "0.005", "--momenta", "0", "0.5"])])
def test_search_command_writes_a_loadable_config(tmp_path, capsys, solver, grid):
    try:
        shared_data_dir("train400")
    except BenchError:
        pytest.skip("train400 crops not available")
    from bench import foe_search

    output = tmp_path / "foe.yaml"
    assert foe_search.main(["--solver", solver, "--sigmas", "25", "--omegas", "1", "4", *grid,
                            "--crops", "2", "--crop-size", "32", "--max-iterations", "20", "--every", "5",
                            "--output", str(output)]) == 0
    chosen = foe.load_tuned("roth5x5", solver, output)[25.0]
    assert chosen.omega in (1.0, 4.0) and 5 <= chosen.iterations <= 20
    assert chosen.step_size in ((None,) if solver == "lbfgs" else (0.005, 0.01))
    assert chosen.momentum in ((0.0, 0.5) if solver == "momentum" else (None,))
    assert "chosen" in capsys.readouterr().out
    record = yaml.safe_load(output.read_text())["search"]["roth5x5"][solver][25]
    assert record["command"].startswith("python -m bench.foe_search --solver " + solver)


def test_search_tolerance_picks_the_fewest_iterations_near_the_best():
    """With a tolerance the search trades at most that many dB for fewer iterations (FoE's time is
    proportional to them); without one it takes the highest mean PSNR."""
    from bench.foe_search import Grid, best_setting

    grid = Grid([1.0, 3.0], [1.0, 2.0], [None])
    scores = np.full((2, 2, 1, 4), 20.0)
    scores[0, 1, 0] = [26.0, 27.00, 27.18, 27.20]  # ω=1, η=2: the best, at 40 iterations
    scores[1, 0, 0] = [26.0, 27.10, 27.195, 27.19]  # ω=3, η=1: within 0.01 dB at 30 iterations
    assert best_setting(scores, grid, every=10) == {
        "omega": 1.0, "iterations": 40, "step_size": 2.0, "train_psnr": 27.2}
    assert best_setting(scores, grid, every=10, tolerance=0.01) == {
        "omega": 3.0, "iterations": 30, "step_size": 1.0, "train_psnr": 27.195}
    assert best_setting(scores, grid, every=10, tolerance=0.2)["iterations"] == 20


def test_search_reports_edges_but_not_the_plain_steps_end_of_the_momentum_grid():
    from bench.foe_search import Grid, edges_hit

    grid = Grid([1.0, 2.0, 4.0], [1.0, 2.0], [0.0, 0.5, 0.8])
    inside = {"omega": 2.0, "iterations": 50, "step_size": 1.0, "momentum": 0.0}
    assert edges_hit(inside, grid, 100) == ["η=1"]
    assert edges_hit(inside | {"omega": 4.0, "momentum": 0.8, "iterations": 100}, grid, 100) == [
        "ω=4", "η=1", "β=0.8", "iterations=100"]


def test_search_border_scores_only_the_inner_pixels():
    """`--border b` scores each crop's PSNR without its b outer pixels (Roth & Black's test protocol
    ignores 10), so the search ranks settings as the benchmark they are tuned for will."""
    from bench.foe_search import DATASET, Grid, search_sigma
    from bench.protocol import noisy_version

    rng = np.random.default_rng(3)
    crops = [rng.uniform(0, 255, (24, 24)), rng.uniform(0, 255, (24, 24))]
    model = foe.FieldOfExperts(priors.load_prior("roth5x5"))
    grid = Grid([2.0], [1.0], [None])
    whole = search_sigma(model, "gradient", ["a", "b"], crops, 25.0, grid, 6, 3, seed=0)
    inner = search_sigma(model, "gradient", ["a", "b"], crops, 25.0, grid, 6, 3, seed=0, border=5)
    noisy = torch.as_tensor(np.stack([noisy_version(c, DATASET, i, 25.0, 0) for c, i in zip(crops, "ab")]),
                            dtype=model.dtype)[:, None]
    x = list(islice(foe.iterates(model, noisy, 25.0, "gradient", 2.0, 1.0, None), 6))[-1][:, 0].double().numpy()
    expected = np.mean([psnr(c[5:-5, 5:-5], e[5:-5, 5:-5]) for c, e in zip(crops, x)])
    assert inner[0, 0, 0, -1] == pytest.approx(expected, abs=1e-4)
    assert abs(inner[0, 0, 0, -1] - whole[0, 0, 0, -1]) > 0.01


def test_search_rejects_a_border_that_leaves_no_crop(capsys):
    from bench import foe_search

    with pytest.raises(SystemExit):
        foe_search.parse_args(["--omegas", "1", "--steps", "1", "--momenta", "0.5", "--crop-size", "20",
                               "--border", "10"])
    assert "--border" in capsys.readouterr().err
