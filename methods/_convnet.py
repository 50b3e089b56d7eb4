"""Jain & Seung's denoising convolutional network: the model, its image-level inference and its
weight files.

I_{k,a} = f(Σ_b w_{k,ab} ⊗ I_{k−1,b} − θ_{k,a}) with f the logistic sigmoid, 5×5 filters, 24 maps
per hidden layer; in hidden layers 2.. each map reads 8 maps of the layer before, chosen at random
once (by `connection_seed`) and stored with the weights. Convolutions are "valid", so every layer
shrinks the map by 4 pixels; the image is scaled to [0, 1] and padded with −1 (the paper's border
encoding) by the margin the network eats.

Parametrisation: every layer reads its inputs centred on 0 — the image minus ½ and the hidden
maps as f − ½ (a centred logistic, ½·tanh(x/2)) — and its bias absorbs the shift, b = ½·Σw − θ.
This is the paper's function class with the paper's parameter count, exactly (`thresholds`
recovers the paper's θ), but inputs of mean ½ make gradient descent ill-conditioned (LeCun et al.
1998, "Efficient BackProp"): centred, the same network trains several times faster.

The parameters are kept in their sparse form (24 × 8 filters per hidden layer) so the parameter
count is the paper's. Training (autograd, CPU or GPU) scatters them into a dense 24 × 24 filter bank
and runs one channels-last convolution per layer (NHWC, the layout oneDNN's fast CPU convolutions
use): dense beats a gathered grouped convolution even though it multiplies by the zeros of the
absent connections. Inference on a CPU (`denoise_with`) runs the compiled sparse kernel instead,
which computes only the real connections (methods/_sparse_inference.py), about twice as fast.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from bench.errors import BenchError
from bench.methods import _sparse_inference as sparse_inference

KERNEL = 5
BORDER_VALUE = -1.0
CENTRE = 0.5  # subtracted from every layer's input (see the module docstring)


@dataclass(frozen=True)
class Architecture:
    """Everything that fixes the network's shape; saved with the weights."""

    hidden_layers: int = 4
    maps: int = 24
    fan_in: int = 8  # maps of the previous layer each hidden map reads (layers 2..); = maps for dense
    connection_seed: int = 0

    @property
    def margin(self) -> int:
        """Pixels lost on each side by the valid convolutions (2 per 5×5 layer)."""
        return (self.hidden_layers + 1) * (KERNEL // 2)


def random_connections(arch: Architecture) -> torch.Tensor:
    """(hidden_layers − 1, maps, fan_in) indices: which previous maps each hidden map reads."""
    generator = torch.Generator().manual_seed(arch.connection_seed)
    layers = []
    for _ in range(arch.hidden_layers - 1):
        rows = [torch.randperm(arch.maps, generator=generator)[: arch.fan_in] for _ in range(arch.maps)]
        layers.append(torch.stack(rows).sort(dim=1).values)
    return torch.stack(layers) if layers else torch.zeros(0, arch.maps, arch.fan_in, dtype=torch.long)


class DenoisingConvNet(nn.Module):
    """The paper's network; input and output are [0, 1]-scaled maps, the input padded by `margin`."""

    def __init__(self, arch: Architecture) -> None:
        super().__init__()
        self.arch = arch
        m, k = arch.maps, KERNEL
        self.first = nn.Conv2d(1, m, k)
        self.hidden_weights = nn.ParameterList(
            nn.Parameter(torch.empty(m, arch.fan_in, k, k)) for _ in range(arch.hidden_layers - 1)
        )
        self.hidden_biases = nn.ParameterList(
            nn.Parameter(torch.empty(m)) for _ in range(arch.hidden_layers - 1)
        )
        self.output = nn.Conv2d(m, 1, k)
        self.register_buffer("connections", random_connections(arch))
        bound = 1.0 / np.sqrt(arch.fan_in * k * k)
        for weight, bias in zip(self.hidden_weights, self.hidden_biases):
            nn.init.uniform_(weight, -bound, bound)
            nn.init.uniform_(bias, -bound, bound)

    def dense_hidden_weight(self, layer: int) -> torch.Tensor:
        """The sparse filters of hidden layer `layer` (0-based, after the first) as a dense bank."""
        sparse = self.hidden_weights[layer]
        m = self.arch.maps
        index = self.connections[layer][:, :, None, None].expand(-1, -1, KERNEL, KERNEL)
        dense = sparse.new_zeros(m, m, KERNEL, KERNEL).scatter(1, index, sparse)
        # A filter bank in the input's channels-last layout halves the convolution's time on a CPU.
        return dense.contiguous(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.sigmoid(self.first(x - CENTRE)) - CENTRE
        for layer, bias in enumerate(self.hidden_biases):
            x = torch.sigmoid(F.conv2d(x, self.dense_hidden_weight(layer), bias)) - CENTRE
        return torch.sigmoid(self.output(x))

    def layer_weights_and_biases(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """(dense filter bank, bias) of every layer, input to output."""
        hidden = [(self.dense_hidden_weight(layer), bias) for layer, bias in enumerate(self.hidden_biases)]
        return [(self.first.weight, self.first.bias), *hidden, (self.output.weight, self.output.bias)]

    def sparse_layers(self) -> list[sparse_inference.Layer]:
        """(filters (out, fan, 5, 5), bias, input maps read (out, fan)) of every layer, for the
        sparse kernel: the first layer reads the image (map 0), the output layer every hidden map."""
        maps = self.arch.maps
        first = (self.first.weight, self.first.bias, torch.zeros(maps, 1, dtype=torch.long))
        hidden = list(zip(self.hidden_weights, self.hidden_biases, self.connections))
        output = (self.output.weight, self.output.bias, torch.arange(maps)[None])
        return [
            (filters.detach().contiguous(), bias.detach().contiguous(), inputs.contiguous())
            for filters, bias, inputs in [first, *hidden, output]
        ]

    def thresholds(self) -> list[torch.Tensor]:
        """The paper's θ of every layer: f(Σ w ⊗ (I − ½) + b) = f(Σ w ⊗ I − θ) with θ = ½·Σw − b."""
        return [CENTRE * weight.sum(dim=(1, 2, 3)) - bias for weight, bias in self.layer_weights_and_biases()]

    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def convolution_count(self) -> int:
        """2-D convolutions per forward pass, counting only real connections (paper: 624)."""
        m = self.arch.maps
        return m + (self.arch.hidden_layers - 1) * m * self.arch.fan_in + m

    def randomize_output_layer(self, seed: int) -> None:
        """The paper's ablation: replace the last layer's filters by random ones of the same scale."""
        generator = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            std = self.output.weight.std()
            self.output.weight.copy_(torch.randn(self.output.weight.shape, generator=generator) * std)


def pad_scaled(noisy: np.ndarray, margin: int) -> torch.Tensor:
    """The network's input: the image scaled to [0, 1], padded with −1 by `margin` (1×1×H'×W')."""
    # numpy, not torch: a parallel torch op would leave OpenMP threads spinning on the cores the
    # sparse kernel's threads are about to use.
    scaled = np.asarray(noisy, dtype=np.float32) / np.float32(255.0)
    return torch.from_numpy(np.pad(scaled, margin, constant_values=BORDER_VALUE))[None, None]


def denoise_with(net: DenoisingConvNet, noisy: np.ndarray) -> np.ndarray:
    """Run the network over a whole image; the output has the input's shape, on 0–255.

    On a CPU the sparse kernel runs it when it was built; otherwise (or for a network being
    trained on a GPU, validated there) PyTorch's dense convolutions do.
    """
    x = pad_scaled(noisy, net.arch.margin)
    device = net.first.weight.device
    kernel_missing = sparse_inference.unavailable_reason()
    if device.type == "cpu" and kernel_missing is None:
        y = sparse_inference.sparse_forward(net.sparse_layers(), x[0, 0].numpy(), CENTRE)
    else:
        if device.type == "cpu":
            warnings.warn(f"{kernel_missing}; the convnets run on PyTorch's dense convolutions, ~2× slower")
        with torch.inference_mode():
            y = net(x.to(device).contiguous(memory_format=torch.channels_last))[0, 0].cpu().numpy()
    return y.astype(np.float64) * 255.0


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def save_weights(net: DenoisingConvNet, path: Path, record: dict) -> None:
    """Weights in `path` (.pt) and, beside it, `path.json`: architecture, provenance and checksum."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({k: v.detach().cpu().clone() for k, v in net.state_dict().items()}, path)
    record = {**record, "architecture": asdict(net.arch), "sha256": sha256_of(path)}
    path.with_suffix(".json").write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")


def weight_record(path: Path) -> dict:
    """The JSON record beside a weight file; BenchError if either is missing or unreadable."""
    record_path = path.with_suffix(".json")
    if not path.is_file() or not record_path.is_file():
        raise BenchError(f"weight file missing: {path} (and its record {record_path.name})")
    try:
        return json.loads(record_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise BenchError(f"weight record {record_path} is corrupted: {error}") from None


def load_weights(path: Path) -> tuple[DenoisingConvNet, dict]:
    """A network from a shipped weight file, after checking it against its recorded checksum."""
    record = weight_record(path)
    record_path = path.with_suffix(".json")
    if sha256_of(path) != record.get("sha256"):
        raise BenchError(f"weight file {path} is corrupted: its SHA-256 does not match {record_path.name}")
    net = DenoisingConvNet(Architecture(**record["architecture"]))
    try:
        net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    except (RuntimeError, KeyError, ValueError) as error:
        raise BenchError(f"weight file {path} does not fit its architecture: {error}") from None
    return net.to(memory_format=torch.channels_last).eval(), record
