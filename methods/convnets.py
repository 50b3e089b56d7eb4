"""The paper's convolutional networks as methods: `cn1`, `cn2` (one network per σ) and `cnblind`.

Weights ship in `methods/weights/` as `<model>_sigma<σ>[_<recipe>].pt` (`cnblind[_<recipe>].pt`),
each with a JSON record of its architecture, training command, data, wall time and SHA-256.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.errors import BenchError
from bench.methods._convnet import DenoisingConvNet, denoise_with, load_weights, weight_record
from bench.protocol import DEFAULT_NOISE, validate_image, validate_noise_model, validate_sigma
from bench.registry import register_method

WEIGHTS_DIR = Path(__file__).parent / "weights"
SHIPPED_SIGMAS = (25, 50, 100)


@dataclass(frozen=True)
class ModelSpec:
    """What distinguishes the paper's three network families."""

    hidden_layers: int
    training_set: str  # a name from bench.training_sets.TRAINING_SETS
    blind: bool


MODEL_SPECS = {
    "cn1": ModelSpec(hidden_layers=4, training_set="small", blind=False),
    "cn2": ModelSpec(hidden_layers=4, training_set="large", blind=False),
    "cnblind": ModelSpec(hidden_layers=5, training_set="small", blind=True),
}


def weight_file(
    model: str, sigma: float | None, recipe: str, weights_dir: Path = WEIGHTS_DIR, noise: str = DEFAULT_NOISE
) -> Path:
    """Where the weights of (model, σ, recipe, noise model trained for) live; the modern recipe and
    the gaussian noise model add no suffix (`cn2_sigma50.pt`, `cn2_sigma50_clipped.pt`)."""
    stem = model if MODEL_SPECS[model].blind else f"{model}_sigma{sigma:g}"
    suffixes = [part for part, default in ((recipe, "modern"), (noise, DEFAULT_NOISE)) if part != default]
    return weights_dir / ("_".join([stem, *suffixes]) + ".pt")


class ConvNetMethod:
    """A trained network (or, for cn1/cn2, one per σ, loaded on first use)."""

    def __init__(
        self,
        model: str,
        recipe: str = "modern",
        sigma_policy: str = "exact",
        randomize_last_layer: bool = False,
        randomization_seed: int = 0,
        self_ensemble: bool = False,
        weights_dir: str | None = None,
    ) -> None:
        if sigma_policy not in ("exact", "nearest"):
            raise BenchError(f"sigma_policy must be 'exact' or 'nearest', got {sigma_policy!r}")
        self.model = model
        self.blind = MODEL_SPECS[model].blind
        self.recipe = recipe
        self.sigma_policy = sigma_policy
        self.randomize_last_layer = randomize_last_layer
        self.randomization_seed = randomization_seed
        self.self_ensemble = self_ensemble
        self.weights_dir = Path(weights_dir) if weights_dir else WEIGHTS_DIR
        self._networks: dict[float | None, DenoisingConvNet] = {}

    def network_sigma(self, sigma: float | None) -> float | None:
        """The σ whose network handles noise level `sigma` (None for the blind model)."""
        if self.blind:
            return None
        if sigma in SHIPPED_SIGMAS:
            return float(sigma)
        if self.sigma_policy == "nearest":
            return float(min(SHIPPED_SIGMAS, key=lambda s: abs(s - sigma)))
        raise BenchError(
            f"{self.model} has networks only for sigma in {SHIPPED_SIGMAS}, not {sigma:g}; "
            f"pass sigma_policy='nearest' to use the closest one"
        )

    def fingerprint(self, sigma: float | None) -> str:
        """The SHA-256 recorded for the weights used at `sigma` (results of retrained networks
        must not be mistaken for the old ones); checked against the file when it is loaded."""
        path = weight_file(self.model, self.network_sigma(sigma), self.recipe, self.weights_dir)
        return f"{weight_record(path).get('sha256', '')}{'+random-last' if self.randomize_last_layer else ''}"

    def network(self, sigma: float | None) -> DenoisingConvNet:
        key = self.network_sigma(sigma)
        if key not in self._networks:
            net, _ = load_weights(weight_file(self.model, key, self.recipe, self.weights_dir))
            if self.randomize_last_layer:
                net.randomize_output_layer(self.randomization_seed)
            self._networks[key] = net
        return self._networks[key]

    def denoise(self, noisy: np.ndarray, sigma: float | None) -> np.ndarray:
        noisy = validate_image(noisy, "noisy image")
        validate_sigma(sigma, self.blind, self.model)
        net = self.network(sigma)
        if self.self_ensemble:
            return dihedral_average(lambda image: denoise_with(net, image), noisy)
        return denoise_with(net, noisy)


def dihedral_average(denoise: Callable[[np.ndarray], np.ndarray], noisy: np.ndarray) -> np.ndarray:
    """Test-time self-ensemble: the mean of `denoise` over the 8 rotations and flips of the image,
    each mapped back. The learned filters are not symmetric, so their errors partly cancel (CN2 on
    BSD68: +0.10 / +0.10 / +0.06 dB at σ = 25 / 50 / 100), at 8× the time."""
    total = np.zeros(noisy.shape)
    for flip in (False, True):
        image = noisy[:, ::-1] if flip else noisy
        for turns in range(4):
            estimate = np.rot90(denoise(np.ascontiguousarray(np.rot90(image, turns))), -turns)
            total += estimate[:, ::-1] if flip else estimate
    return total / 8


@register_method("cn1")
def cn1(**options) -> ConvNetMethod:
    """CN1: 4 hidden layers, trained on the 40-image (FoE) training set; one network per σ."""
    return ConvNetMethod("cn1", **options)


@register_method("cn2")
def cn2(**options) -> ConvNetMethod:
    """CN2: as CN1, trained on the 40 + 60 images."""
    return ConvNetMethod("cn2", **options)


@register_method("cnblind")
def cnblind(**options) -> ConvNetMethod:
    """CNBlind: 5 hidden layers, σ ~ U[0, 100] in training, gets no σ at test time."""
    return ConvNetMethod("cnblind", **options)
