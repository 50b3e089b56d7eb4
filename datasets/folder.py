"""`folder`: every image file in a directory, so any photo collection can be benchmarked.

Also the building block of `bsd68` and `bsds300`, which are image folders at known places.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from bench.errors import BenchError
from bench.images import image_files, load_image
from bench.registry import register_dataset


class ImageFolderDataset:
    """Images addressed by file stem; every file is checked readable up front, so a bad file
    stops the run before any method has spent time on the good ones."""

    def __init__(self, name: str, files: list[Path]) -> None:
        self.name = name
        self._files: dict[str, Path] = {}
        for path in files:
            _check_readable(path)
            if path.stem in self._files:
                raise BenchError(
                    f"two images share the id {path.stem!r}: {self._files[path.stem].name} and "
                    f"{path.name} in {path.parent}; rename one"
                )
            self._files[path.stem] = path

    def ids(self) -> list[str]:
        return list(self._files)

    def load(self, image_id: str) -> np.ndarray:
        if image_id not in self._files:
            raise BenchError(f"dataset {self.name!r} has no image {image_id!r}")
        return load_image(self._files[image_id])


def _check_readable(path: Path) -> None:
    """Read the header only (cheap); the pixels are decoded when the image is loaded."""
    try:
        with Image.open(path) as image:
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise BenchError(f"cannot read image {path}: {error}") from None


@register_dataset("folder")
def folder(root: str | os.PathLike | None = None) -> ImageFolderDataset:
    """Files with an image suffix directly in `root` (others, e.g. a README, are ignored)."""
    if root is None:
        raise BenchError("dataset 'folder' needs a folder of images: pass dataset.root=<folder>")
    return ImageFolderDataset("folder", image_files(root))
