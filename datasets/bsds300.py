"""`bsds300`: the Berkeley Segmentation Dataset's 100 test / 200 train colour JPEGs, averaged to
gray — the paper's test set. Read from an extracted copy (`root`) or downloaded once from Berkeley
into a cache, verified against a known SHA-256 before it is unpacked.
"""

from __future__ import annotations

import os
from pathlib import Path

import pooch

from bench.downloads.fetch import cache_folder, fetch
from bench.errors import BenchError
from bench.images import image_files
from bench.registry import register_dataset
from bench.datasets.folder import ImageFolderDataset

ARCHIVE_URL = "https://www2.eecs.berkeley.edu/Research/Projects/CS/vision/bsds/BSDS300-images.tgz"
ARCHIVE_NAME = "BSDS300-images.tgz"
# SHA-256 of the official archive as published by a public project that downloads and verifies it
# (GitHub, scripts/download_datasets.py of a "parallel-image-processing" project, also listed in
# its README); not recomputed here, as this machine cannot reach Berkeley.
ARCHIVE_SHA256 = "a5f7d0e49fe135c75518a3543ced24470156fd69305ae77845dff2a5138652b4"
EXTRACT_DIR = "bsds300"
SPLITS = ("test", "train")


def images_dir(root: str | os.PathLike, split: str) -> Path:
    """The folder of one split's JPEGs, accepting `root` = the folder holding BSDS300/, the
    BSDS300 folder itself, or its images/ folder."""
    root = Path(root).expanduser()
    for candidate in (root / "BSDS300" / "images", root / "images", root):
        if (candidate / split).is_dir():
            return candidate / split
    raise BenchError(
        f"no BSDS300 {split!r} images under {root}: expected {root}/BSDS300/images/{split}/*.jpg "
        f"(root may also be the BSDS300 or images folder)"
    )


def download(cache: Path) -> Path:
    """The extracted archive in `cache` (downloaded and checksum-verified on first use)."""
    fetch(ARCHIVE_URL, ARCHIVE_SHA256, ARCHIVE_NAME, cache,
          hint="download and extract it yourself and pass dataset.root=<folder>",
          processor=pooch.Untar(extract_dir=EXTRACT_DIR))
    return cache / EXTRACT_DIR


@register_dataset("bsds300")
def bsds300(
    split: str = "test",
    root: str | os.PathLike | None = None,
    cache: str | os.PathLike | None = None,
) -> ImageFolderDataset:
    """Image ids are the BSDS ids (e.g. "3096"); `cache` defaults to the user cache folder."""
    if split not in SPLITS:
        raise BenchError(f"bsds300 split must be one of {', '.join(SPLITS)}, got {split!r}")
    if root is None:
        root = download(cache_folder(cache))
    return ImageFolderDataset(f"bsds300-{split}", image_files(images_dir(root, split)))
