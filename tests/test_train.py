"""Training: deterministic given a seed, resumable after an interruption, greedy growth, export."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hydra import compose, initialize_config_module

from bench.errors import BenchError
from bench.images import shared_data_root
from bench.methods._convnet import CENTRE, Architecture, DenoisingConvNet, load_weights, pad_scaled
from bench.patches import PatchSampler
from bench.provenance import command_line
from bench.train import grow, scaled_init_, stage_depths, steps_per_stage, train
from bench.weights import weights_table
from bench.methods.convnets import MODEL_SPECS

needs_train400 = pytest.mark.skipif(
    not (shared_data_root() / "train400").is_dir(), reason="Train400 crops not available"
)

TINY = ["recipe.patch=4", "recipe.images_per_batch=2", "recipe.patches_per_image=1", "threads=1"]


def config(tmp_path, *overrides: str):
    with initialize_config_module("bench.conf", version_base="1.3"):
        return compose(
            "train",
            overrides=[f"checkpoint_dir={tmp_path}/ck", f"weights_dir={tmp_path}/w", *TINY, *overrides],
        )


def weights(path) -> dict[str, torch.Tensor]:
    net, _ = load_weights(path)
    return net.state_dict()


def assert_same_weights(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)


@needs_train400
def test_training_is_deterministic_and_resumes_exactly(tmp_path, monkeypatch):
    straight = train(config(tmp_path / "a", "model=cn1", "sigma=50", "recipe.steps=6", "validate_every=3"))
    again = train(config(tmp_path / "b", "model=cn1", "sigma=50", "recipe.steps=6", "validate_every=3"))
    assert_same_weights(weights(straight), weights(again))

    original, calls = PatchSampler.sample, {"n": 0}

    def interrupted_sample(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(PatchSampler, "sample", interrupted_sample)
    cfg = config(tmp_path / "c", "model=cn1", "sigma=50", "recipe.steps=6", "validate_every=3")
    with pytest.raises(KeyboardInterrupt):
        train(cfg)
    assert (tmp_path / "c" / "ck" / "last.pt").is_file()
    monkeypatch.setattr(PatchSampler, "sample", original)
    resumed = train(cfg)
    assert_same_weights(weights(straight), weights(resumed))
    assert train(cfg) is None  # a finished run is not trained again...
    longer = config(tmp_path / "c", "model=cn1", "sigma=50", "recipe.steps=8", "validate_every=3")
    extended, _ = load_weights(train(longer))  # ...unless asked for more updates
    assert not all(torch.equal(extended.state_dict()[k], v) for k, v in weights(straight).items())


@needs_train400
def test_paper_recipe_grows_layer_by_layer_and_records_provenance(tmp_path):
    path = train(config(tmp_path, "model=cnblind", "recipe=paper", "recipe.steps=1", "recipe.patch=4"))
    net, record = load_weights(path)
    assert net.arch.hidden_layers == 5 and net.parameter_count() == 20_521
    assert record["stages"] == 5 and record["recipe"]["name"] == "paper"
    assert len(record["training_files"]) == 190 and record["sigma_range"] == [0, 100]
    assert record["sessions"][0]["command"] == command_line()  # here pytest's; the CLI's in real runs


def test_growth_copies_every_hidden_layer_and_drops_the_output_layer():
    small = DenoisingConvNet(Architecture(hidden_layers=2))
    big = grow(small, 3)
    assert torch.equal(big.first.weight, small.first.weight)
    assert torch.equal(big.hidden_weights[0], small.hidden_weights[0])
    assert torch.equal(big.connections[0], small.connections[0])
    assert big.output.weight.shape == small.output.weight.shape
    assert not torch.equal(big.output.weight, small.output.weight)


def test_paper_schedule_counts_epochs_in_updates_of_216_pixels():
    with initialize_config_module("bench.conf", version_base="1.3"):
        paper = compose("train", overrides=["recipe=paper"]).recipe
    assert stage_depths(MODEL_SPECS["cn2"], layerwise=True) == [1, 2, 3, 4]
    assert stage_depths(MODEL_SPECS["cn2"], layerwise=False) == [4]
    assert steps_per_stage(paper, training_pixels=216 * 100) == 30 * 100


def test_patches_carry_the_border_code_and_match_their_targets():
    image = torch.arange(100.0).reshape(10, 10).numpy() * 2.5
    sampler = PatchSampler([image], margin=3, seed=0)
    noisy, clean = sampler.sample(1, 50, patch=4, sigmas=torch.zeros(50), augment=False)
    assert noisy.shape == (50, 1, 10, 10) and clean.shape == (50, 1, 4, 4)
    torch.testing.assert_close(noisy[:, :, 3:7, 3:7], clean)
    assert (noisy == -1).any()  # some windows reach past the border


def hidden_and_output_spread(net: DenoisingConvNet) -> tuple[list[float], float]:
    """Standard deviation of every hidden layer's (centred) maps and of the output, on a noise image."""
    x = pad_scaled(np.random.default_rng(0).uniform(0, 255, (40, 40)), net.arch.margin)
    maps = torch.sigmoid(net.first(x - CENTRE)) - CENTRE
    spreads = [maps.std().item()]
    for layer, bias in enumerate(net.hidden_biases):
        maps = torch.sigmoid(F.conv2d(maps, net.dense_hidden_weight(layer), bias)) - CENTRE
        spreads.append(maps.std().item())
    return spreads, net(x).std().item()


def test_scaled_initialisation_keeps_the_signal_through_every_layer():
    torch.manual_seed(0)
    default = DenoisingConvNet(Architecture())
    _, flat_output = hidden_and_output_spread(default)
    assert flat_output < 1e-3  # the flat-grey start the modern recipe avoids
    scaled = DenoisingConvNet(Architecture())
    scaled_init_(scaled)
    spreads, output = hidden_and_output_spread(scaled)
    assert min(spreads) > 0.1 and output > 0.05


@needs_train400
def test_a_run_can_continue_from_trained_weights_and_records_its_parent(tmp_path):
    parent_path = train(config(tmp_path / "p", "model=cn1", "sigma=50", "recipe.steps=2"))
    _, parent_record = load_weights(parent_path)
    child = config(tmp_path / "c", "model=cn2", "sigma=100", "recipe.steps=1", f"init_from={parent_path}")
    _, record = load_weights(train(child))
    assert record["initialised_from"]["sha256"] == parent_record["sha256"]
    assert record["initialised_from"]["model"] == "cn1" and record["initialised_from"]["sigma"] == 50
    assert record["lineage_wall_time_s"] >= parent_record["wall_time_s"] + record["wall_time_s"] - 0.2
    table = weights_table(tmp_path / "c" / "w").splitlines()
    assert len(table) == 3 and "| cn2_sigma100.pt | cn2 | 100 | modern |" in table[2]
    parent_cell = f"| {parent_path.name} ({parent_record['validation_psnr_db']:.2f} dB) |"
    assert f"{parent_cell} {record['validation_psnr_db']:.2f} |" in table[2]
    assert "| CPU, 1 threads |" in table[2]


@needs_train400
def test_a_run_cannot_start_from_a_network_that_saw_images_outside_its_training_set(tmp_path):
    cn2_path = train(config(tmp_path / "p", "model=cn2", "sigma=50", "recipe.steps=1"))
    with pytest.raises(BenchError, match="outside cn1's training set"):
        train(config(tmp_path / "c", "model=cn1", "sigma=50", "recipe.steps=1", f"init_from={cn2_path}"))
    cn1_path = train(config(tmp_path / "q", "model=cn1", "sigma=50", "recipe.steps=1"))
    with pytest.raises(BenchError, match="4 hidden layers, this stage trains 5"):
        train(config(tmp_path / "d", "model=cnblind", "recipe.steps=1", f"init_from={cn1_path}"))
    with pytest.raises(BenchError, match="weight file missing"):
        train(config(tmp_path / "e", "model=cn1", "sigma=50", "recipe.steps=1", f"init_from={tmp_path}/nope.pt"))


def test_an_unknown_or_absent_device_is_refused_by_name(tmp_path):
    with pytest.raises(BenchError, match="unknown device 'tpu'"):
        train(config(tmp_path, "model=cn1", "sigma=50", "device=tpu"))
    if not torch.cuda.is_available():
        with pytest.raises(BenchError, match="sees no CUDA GPU"):
            train(config(tmp_path, "model=cn1", "sigma=50", "device=cuda"))


@needs_train400
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")
def test_a_gpu_run_exports_cpu_weights_that_match_its_validation(tmp_path):
    path = train(config(tmp_path, "model=cn1", "sigma=50", "recipe.steps=3", "device=cuda"))
    net, record = load_weights(path)  # loads on the CPU
    assert "(CUDA)" in record["machine"]
    assert next(net.parameters()).device.type == "cpu"
    assert record["validation_psnr_db"] == pytest.approx(record["history"][-1]["val_psnr"], abs=1e-3)


@needs_train400
def test_a_clipped_protocol_network_continues_a_gaussian_one_and_says_so(tmp_path):
    parent_path = train(config(tmp_path / "p", "model=cn1", "sigma=50", "recipe.steps=1"))
    child = config(tmp_path / "c", "model=cn1", "sigma=50", "recipe.steps=1", "noise=clipped",
                   f"init_from={parent_path}")
    path = train(child)
    _, record = load_weights(path)
    assert path.name == "cn1_sigma50_clipped.pt"
    assert record["noise"] == "clipped" and record["initialised_from"]["noise"] == "gaussian"
    assert "| cn1_sigma50_clipped.pt | cn1 | 50 | modern | clipped |" in weights_table(tmp_path / "c" / "w")
