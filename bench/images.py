"""Reading images from disk into the protocol's form (float64 grayscale on 0–255)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from bench.errors import BenchError
from bench.protocol import to_grayscale

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".pgm", ".ppm", ".gif")

DATA_ENV = "DENOISE_BENCH_DATA"


def load_image(path: str | os.PathLike) -> np.ndarray:
    """An 8-bit image file as float64 grayscale (R, G, B averaged); BenchError names a bad file."""
    path = Path(path)
    try:
        with Image.open(path) as image:
            image.load()
            if image.mode not in ("L", "RGB", "RGBA", "LA", "P", "I;16", "I", "F"):
                image = image.convert("RGB")
            elif image.mode == "P":
                image = image.convert("RGB")
            array = np.asarray(image)
    except FileNotFoundError:
        raise BenchError(f"image file not found: {path}") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise BenchError(f"cannot read image {path}: {error}") from None
    return to_grayscale(array)


def image_files(folder: str | os.PathLike) -> list[Path]:
    """Image files directly in `folder`, sorted by name; BenchError if missing or empty."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise BenchError(f"image folder not found: {folder}")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise BenchError(f"no image files ({', '.join(IMAGE_SUFFIXES)}) in {folder}")
    return files


def shared_data_root() -> Path:
    """Where the BSD68 / Train400 / FoE files live: $DENOISE_BENCH_DATA, else ../shared/data
    beside the project checkout (the layout of the development machines)."""
    configured = os.environ.get(DATA_ENV)
    if configured:
        return Path(configured).expanduser()
    return Path(__file__).resolve().parents[2] / "shared" / "data"


def shared_data_dir(name: str) -> Path:
    """A named folder of the shared data (bsd68, train400, foe), or a BenchError saying how to set it."""
    folder = shared_data_root() / name
    if not folder.is_dir():
        raise BenchError(
            f"data folder {folder} not found: set ${DATA_ENV} to the folder holding {name}/ "
            f"(or pass dataset.root=...)"
        )
    return folder
