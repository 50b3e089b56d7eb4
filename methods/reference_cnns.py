"""`dncnn` (DnCNN-S, one network per σ ∈ {15, 25, 50}), `dncnn_b` (blind), `fdncnn`, `ffdnet`:
the authors' own trained networks (grayscale), as reference rows beside the paper's methods.

Fed as the authors' test code feeds them: the image on [0, 1]; DnCNN-S/-B predict the noise,
which is subtracted from the input; FDnCNN and FFDNet get σ/255 as a noise-level map and return
the clean image. Outside the σ a network was trained for (bench.pretrained.catalogue) a job stops
with a one-line error unless `out_of_range: run`, which runs it anyway (DnCNN-S with the network
trained nearest to σ) and marks its rows `out_of_range`. CUDA when available (`device: auto`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from bench.downloads.fetch import cache_folder
from bench.errors import BenchError
from bench.pretrained.catalogue import MODELS, ReferenceModel
from bench.pretrained.loading import load_layers
from bench.pretrained.network import SimpleNN
from bench.protocol import PEAK, validate_image, validate_sigma
from bench.registry import register_method

OUT_OF_RANGE = ("error", "run")
DEVICES = ("auto", "cpu", "cuda")


class ReferenceCNN:
    """One of the catalogue's models; its network(s) loaded on first use and kept."""

    def __init__(self, model: ReferenceModel, out_of_range: str = "error",
                 weights: str | os.PathLike | None = None, cache: str | os.PathLike | None = None,
                 device: str = "auto") -> None:
        if out_of_range not in OUT_OF_RANGE:
            raise BenchError(f"out_of_range must be one of {', '.join(OUT_OF_RANGE)}, got {out_of_range!r}")
        self.model = model
        self.blind = model.blind
        self.out_of_range = out_of_range
        self.weights = weights
        self.cache = cache_folder(cache)
        self.device = torch.device(_device_name(device))
        self._networks: dict[str, SimpleNN] = {}

    def check_sigma(self, sigma: float) -> None:
        """Called by the runner with the job's σ (blind or not): refuse σ outside the range the
        network was trained for, unless told to run anyway."""
        if not self.model.in_range(sigma) and self.out_of_range == "error":
            raise BenchError(
                f"{self.model.name} is trained for {self.model.range_text()}, not σ={sigma:g}; "
                f"method.options.out_of_range=run runs it anyway (rows marked out of range)")

    def fingerprint(self, sigma: float | None) -> str:
        return self.model.weight_file(sigma).sha256

    def reference(self, dataset: str | None, sigma: float) -> dict[str, Any]:
        """Columns for every row of a job: the source, the weights, the authors' published
        average for this dataset and σ (None when they published none, or `dataset` is None:
        not the whole published set), and whether σ is outside the trained range."""
        return {"reference": f"{self.model.paper}, {self.model.year}",
                "weights_sha256": self.fingerprint(sigma),
                "published_psnr": self.model.published.get((dataset, float(sigma))),
                "out_of_range": not self.model.in_range(sigma)}

    def network(self, sigma: float | None) -> SimpleNN:
        file = self.model.weight_file(sigma)
        if file.sha256 not in self._networks:
            net = SimpleNN(load_layers(file, self.cache, self.weights)).to(self.device).eval()
            net = net.to(memory_format=torch.channels_last)  # 2× faster on a CPU than NCHW
            self._networks[file.sha256] = net
        return self._networks[file.sha256]

    def denoise(self, noisy: np.ndarray, sigma: float | None) -> np.ndarray:
        noisy = validate_image(noisy, "noisy image")
        validate_sigma(sigma, self.blind, self.model.name)
        if sigma is not None:
            self.check_sigma(sigma)
        net = self.network(sigma)
        image = torch.from_numpy(noisy / PEAK).float()[None, None].to(self.device)
        image = image.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            out = net(image, None if sigma is None else sigma / PEAK)
            if self.model.residual:
                out = image - out
        return out[0, 0].double().cpu().numpy() * PEAK


def _device_name(device: str) -> str:
    if device not in DEVICES:
        raise BenchError(f"device must be one of {', '.join(DEVICES)}, got {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise BenchError("device=cuda, but PyTorch sees no CUDA GPU here; use device=auto or cpu")
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def _factory(name: str) -> Callable[..., ReferenceCNN]:
    def create(**options: Any) -> ReferenceCNN:
        return ReferenceCNN(MODELS[name], **options)

    create.__doc__ = f"{MODELS[name].paper} ({MODELS[name].year}): {MODELS[name].range_text()}."
    return create


for _name in MODELS:
    register_method(_name)(_factory(_name))
