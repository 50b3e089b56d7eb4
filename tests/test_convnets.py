"""The paper's convnets: architecture, border encoding, weight files, shipped models, ablation."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from skimage import data

from bench import BenchError, get_method
from bench.methods._convnet import (
    Architecture,
    DenoisingConvNet,
    denoise_with,
    load_weights,
    pad_scaled,
    save_weights,
)
from bench.methods.convnets import SHIPPED_SIGMAS, WEIGHTS_DIR, weight_file
from bench.protocol import noisy_version, psnr


@pytest.mark.parametrize(
    ("hidden_layers", "parameters", "convolutions"), [(4, 15_697, 624), (5, 20_521, 816)]
)
def test_parameter_and_convolution_counts_are_the_papers(hidden_layers, parameters, convolutions):
    net = DenoisingConvNet(Architecture(hidden_layers=hidden_layers))
    assert net.parameter_count() == parameters
    assert net.convolution_count() == convolutions


def test_each_hidden_map_reads_eight_distinct_maps_fixed_by_the_seed():
    connections = DenoisingConvNet(Architecture(connection_seed=3)).connections
    assert connections.shape == (3, 24, 8)
    assert all(len(set(row.tolist())) == 8 for row in connections.reshape(-1, 8))
    assert torch.equal(connections, DenoisingConvNet(Architecture(connection_seed=3)).connections)
    assert not torch.equal(connections, DenoisingConvNet(Architecture(connection_seed=4)).connections)


def test_dense_filter_bank_equals_the_sum_over_real_connections():
    torch.manual_seed(0)
    net = DenoisingConvNet(Architecture())
    x = torch.rand(1, 24, 12, 12)
    dense = F.conv2d(x, net.dense_hidden_weight(1))
    explicit = torch.stack(
        [
            sum(
                F.conv2d(x[:, b : b + 1], net.hidden_weights[1][a, j][None, None])
                for j, b in enumerate(net.connections[1][a].tolist())
            )[0, 0]
            for a in range(24)
        ]
    )[None]
    torch.testing.assert_close(dense, explicit, rtol=1e-5, atol=1e-5)


def test_centred_parametrisation_is_the_papers_function_with_thresholds():
    """f(Σ w ⊗ I − θ) on uncentred maps, with θ from `thresholds`, gives the network's output."""
    torch.manual_seed(0)
    net = DenoisingConvNet(Architecture())
    for parameter in net.parameters():  # move away from the near-zero default biases
        parameter.data.add_(0.3 * torch.randn_like(parameter))
    x = pad_scaled(np.random.default_rng(0).uniform(0, 255, (20, 20)), net.arch.margin)
    maps = x
    for (weight, _), theta in zip(net.layer_weights_and_biases(), net.thresholds()):
        maps = torch.sigmoid(F.conv2d(maps, weight) - theta[None, :, None, None])
    torch.testing.assert_close(maps, net(x), rtol=1e-5, atol=1e-6)


def test_border_is_encoded_as_minus_one_and_output_keeps_the_shape():
    image = np.full((7, 9), 255.0)
    padded = pad_scaled(image, 10)
    assert padded.shape == (1, 1, 27, 29)
    assert padded[0, 0, :10].eq(-1).all() and padded[0, 0, 10:17, 10:19].eq(1).all()
    net = DenoisingConvNet(Architecture())
    assert denoise_with(net, image).shape == (7, 9)


def test_weights_round_trip_and_corruption_is_reported(tmp_path):
    net = DenoisingConvNet(Architecture(connection_seed=5))
    path = tmp_path / "net.pt"
    save_weights(net, path, {"note": "test"})
    loaded, record = load_weights(path)
    assert record["note"] == "test" and record["architecture"]["connection_seed"] == 5
    image = np.random.default_rng(0).uniform(0, 255, (20, 20))
    # equal up to float32 rounding: the loaded net runs channels-last, a different summation order
    np.testing.assert_allclose(denoise_with(loaded, image), denoise_with(net, image), rtol=0, atol=1e-3)

    path.write_bytes(path.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(BenchError, match="corrupted"):
        load_weights(path)
    with pytest.raises(BenchError, match="missing"):
        load_weights(tmp_path / "absent.pt")


def test_sigma_without_a_network_is_refused_unless_nearest_is_asked(tmp_path):
    for sigma in SHIPPED_SIGMAS:
        save_weights(DenoisingConvNet(Architecture()), weight_file("cn1", sigma, "modern", tmp_path), {})
    noisy = np.random.default_rng(0).uniform(0, 255, (16, 16))
    with pytest.raises(BenchError, match="only for sigma"):
        get_method("cn1", weights_dir=str(tmp_path)).denoise(noisy, 30)
    method = get_method("cn1", weights_dir=str(tmp_path), sigma_policy="nearest")
    assert method.network_sigma(30) == 25.0 and method.network_sigma(80) == 100.0
    with pytest.raises(BenchError, match="needs sigma"):
        method.denoise(noisy, None)


def shipped(model: str, sigma: float | None) -> bool:
    return weight_file(model, sigma, "modern").is_file()


@pytest.fixture(scope="module")
def camera_crop() -> np.ndarray:
    return data.camera()[200:328, 200:328].astype(np.float64)


@pytest.mark.parametrize(
    ("model", "sigma"),
    [(m, s) for m in ("cn1", "cn2") for s in SHIPPED_SIGMAS] + [("cnblind", s) for s in SHIPPED_SIGMAS],
)
def test_shipped_networks_load_and_denoise(model, sigma, camera_crop):
    """Every shipped network loads, verifies and removes noise. How well is the benchmark's job
    (results/, docs/convnets.md): the shipped CNBlind gains only ≈ 1.6 dB at σ = 25 here."""
    if not shipped(model, None if model == "cnblind" else sigma):
        pytest.fail(f"weights for {model} σ={sigma} are not shipped in {WEIGHTS_DIR}")
    noisy = noisy_version(camera_crop, "camera", "crop", sigma, 0)
    denoised = get_method(model).denoise(noisy, None if model == "cnblind" else sigma)
    assert denoised.shape == camera_crop.shape
    assert psnr(camera_crop, denoised) > psnr(camera_crop, noisy) + 1.0


def test_randomizing_the_last_layer_destroys_cn2(camera_crop):
    noisy = noisy_version(camera_crop, "camera", "crop", 50, 0)
    trained = psnr(camera_crop, get_method("cn2").denoise(noisy, 50))
    ablated = psnr(camera_crop, get_method("cn2", randomize_last_layer=True).denoise(noisy, 50))
    assert ablated < trained - 5.0


def test_shipped_records_name_their_training_files_and_no_test_image():
    records = [json.loads(p.read_text()) for p in WEIGHTS_DIR.glob("cn*.json")]
    assert records, "no convnet weight records shipped"
    for record in records:
        assert record["training_files"] and record["wall_time_s"] > 0
        assert all(f.startswith("train400/") for f in record["training_files"])
        assert not set(record["training_files"]) & set(record["validation_files"])


def test_corrupted_shipped_file_gives_a_clear_error(tmp_path):
    source = weight_file("cn2", 50, "modern")
    if not source.is_file():
        pytest.fail("cn2 σ=50 weights are not shipped")
    shutil.copy(source, weight_file("cn2", 50, "modern", tmp_path))
    shutil.copy(source.with_suffix(".json"), weight_file("cn2", 50, "modern", tmp_path).with_suffix(".json"))
    corrupt = weight_file("cn2", 50, "modern", tmp_path)
    corrupt.write_bytes(b"x" + corrupt.read_bytes()[1:])
    with pytest.raises(BenchError, match="corrupted"):
        get_method("cn2", weights_dir=str(tmp_path)).denoise(np.zeros((8, 8)), 50)


def test_filter_figure_is_rendered(tmp_path):
    from bench.filters import render_filters

    out = render_filters(DenoisingConvNet(Architecture(hidden_layers=5)), "random", tmp_path / "f.png")
    assert out.stat().st_size > 1000 and out.read_bytes()[:4] == b"\x89PNG"
