"""Get a reference network's weights as PyTorch tensors: the .mat file from a local folder of
copies or downloaded (pooch, SHA-256 checked) into the cache, converted once, and the converted
tensors cached beside it so later runs skip HDF5 altogether.

Where the .mat comes from, in order: `weights` (a folder the user names; the file must be there),
else the development machines' shared copies ($DENOISE_BENCH_DATA/refweights, i.e.
../shared/data/refweights, when that folder exists), else the authors' repository. Every copy is
checked against the catalogue's SHA-256 before it is read.
"""

from __future__ import annotations

import os
from pathlib import Path

import pooch
import torch

from bench.downloads.fetch import fetch
from bench.errors import BenchError
from bench.images import shared_data_root
from bench.pretrained.catalogue import WeightFile
from bench.pretrained.matconvnet import Layer, read_simplenn

FOLDER = "refweights"  # in the shared data folder; in the cache: the .mat files, and converted/
CONVERTER_VERSION = 1  # part of the converted file's name: a changed converter never reads old output


def load_layers(file: WeightFile, cache: Path, weights: str | os.PathLike | None = None) -> list[Layer]:
    """The network's layers, from the converted cache or converted now (and cached)."""
    stem = f"{Path(file.name).stem}-{file.sha256[:16]}-v{CONVERTER_VERSION}"
    converted = cache / FOLDER / "converted" / f"{stem}.pt"
    if converted.is_file():
        return [Layer(**fields) for fields in torch.load(converted, weights_only=True)]
    layers = read_simplenn(mat_file(file, cache, weights))
    converted.parent.mkdir(parents=True, exist_ok=True)
    partial = converted.with_suffix(f".{os.getpid()}.part")
    torch.save([vars(layer) for layer in layers], partial)
    os.replace(partial, converted)  # atomic: a reader never sees half a file
    return layers


def mat_file(file: WeightFile, cache: Path, weights: str | os.PathLike | None = None) -> Path:
    """A verified copy of the .mat file (see the module docstring for where it comes from)."""
    folder = Path(weights).expanduser() if weights is not None else shared_data_root() / FOLDER
    local = folder / file.name
    if local.is_file():
        found = pooch.file_hash(str(local), alg="sha256")
        if found != file.sha256:
            raise BenchError(f"checksum failed for {local}: SHA-256 {found}, expected {file.sha256}")
        return local
    if weights is not None:
        raise BenchError(f"weight file {file.name} not found in {folder} (method.options.weights)")
    return Path(fetch(file.url, file.sha256, file.name, cache / FOLDER,
                      hint=f"download it yourself and pass method.options.weights=<folder holding {file.name}>"))
