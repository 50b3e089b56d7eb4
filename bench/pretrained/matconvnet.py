"""Read a MatConvNet SimpleNN network (`net.layers`) saved by MATLAB as v7.3, i.e. HDF5.

scipy.io.loadmat refuses v7.3 files, hence h5py. MATLAB stores arrays column-major, so h5py sees
every array with its axes reversed, and MATLAB drops trailing singleton axes: a filter bank of
MATLAB shape H × W × in × out reads as (out, in, W, H), one with out = 1 as (in, W, H). Reversing
the axes and restoring the dropped ones gives MATLAB's H × W × in × out, which is transposed to
PyTorch's (out, in, H, W). MatConvNet's `vl_nnconv`, like PyTorch's conv2d, is a correlation (no
filter flip), so the weights are used as they are.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import h5py
import numpy as np
import torch

from bench.errors import BenchError

SUPPORTED = ("conv", "relu", "concat", "SubP")


@dataclass(frozen=True)
class Layer:
    """One SimpleNN layer: `kind` is MatConvNet's type; conv layers carry PyTorch-layout weights
    and their zero padding, SubP layers their scale (½: space to channels, 2: back)."""

    kind: str
    weight: torch.Tensor | None = None
    bias: torch.Tensor | None = None
    pad: int = 0
    scale: float = 1.0


def read_simplenn(path: str | os.PathLike) -> list[Layer]:
    """The layers of the network in a MatConvNet .mat file (MATLAB v7.3), in order."""
    try:
        with h5py.File(path, "r") as file:
            if "net" not in file or "layers" not in file["net"]:
                raise BenchError(f"{path} holds no MatConvNet network (no net.layers)")
            return [_layer(file, file[ref], index, path)
                    for index, ref in enumerate(file["net"]["layers"][()].flatten())]
    except OSError as error:
        raise BenchError(f"cannot read {path} as a MATLAB v7.3 (HDF5) file: {error}") from None


def _layer(file: h5py.File, group: h5py.Group, index: int, path: str | os.PathLike) -> Layer:
    kind = _text(group["type"])
    where = f"layer {index + 1} ({kind}) of {path}"
    if kind not in SUPPORTED:
        raise BenchError(f"unsupported MatConvNet layer type in {where}; supported: {', '.join(SUPPORTED)}")
    if kind == "conv":
        for option in ("stride", "dilate"):
            if option in group and _number(group[option]) != 1:
                raise BenchError(f"{where}: {option} {_number(group[option]):g} is not supported (only 1)")
        filters, bias = (file[ref][()] for ref in group["weights"][()].flatten())
        weight = torch.from_numpy(filter_bank(filters))
        bias_tensor = torch.from_numpy(np.ascontiguousarray(bias, dtype=np.float32).reshape(-1))
        if bias_tensor.numel() != weight.shape[0]:
            raise BenchError(f"{where}: {bias_tensor.numel()} biases for {weight.shape[0]} filters")
        return Layer(kind, weight, bias_tensor, pad=int(_number(group["pad"])))
    if kind == "relu" and "leak" in group and _number(group["leak"]) != 0:
        raise BenchError(f"{where}: leaky ReLU is not supported")
    if kind == "SubP":
        return Layer(kind, scale=_number(group["scale"]))
    return Layer(kind)


def filter_bank(stored: np.ndarray) -> np.ndarray:
    """A filter bank as h5py reads it from MATLAB → PyTorch's (out, in, H, W), float32."""
    matlab = np.asarray(stored).T  # MATLAB's H × W × in [× out]
    matlab = matlab.reshape(matlab.shape + (1,) * (4 - matlab.ndim))
    return np.ascontiguousarray(matlab.transpose(3, 2, 0, 1), dtype=np.float32)


def _text(dataset: h5py.Dataset) -> str:
    """A MATLAB char array (stored as UTF-16 code units)."""
    return "".join(map(chr, np.asarray(dataset[()]).flatten()))


def _number(dataset: h5py.Dataset) -> float:
    values = np.asarray(dataset[()]).flatten()
    if values.size != 1:
        raise BenchError(f"expected one number in {dataset.name}, got {values.size}")
    return float(values[0])
