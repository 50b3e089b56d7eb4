"""The standard denoising test sets, downloadable with a checksum: `bsd68` (68 gray BSDS300 test
images), `set12` (12 gray), `kodak24` (24 colour), `mcmaster` (18 colour), `cbsd68` (BSD68 in
colour); colour images are averaged to gray by the protocol.

testsets.csv (beside this file) lists every file with its URL — the copies in the authors'
repository cszn/FFDNet at a pinned commit, folder testsets/ — and SHA-256. Without `root`, the
files are downloaded once into `cache/<name>/` (default: pooch's user cache folder), each checked
against its hash (see bench.downloads.fetch). `bsd68` first looks for the development machines'
shared copy ($DENOISE_BENCH_DATA/bsd68, i.e. ../shared/data/bsd68): same files, same hashes.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

from bench.datasets.folder import ImageFolderDataset
from bench.downloads.fetch import cache_folder, fetch
from bench.images import image_files, shared_data_root
from bench.registry import register_dataset

MANIFEST = Path(__file__).with_name("testsets.csv")
NAMES = {"bsd68": "BSD68", "set12": "Set12", "kodak24": "Kodak24", "mcmaster": "McMaster", "cbsd68": "CBSD68"}


@dataclass(frozen=True)
class TestFile:
    file: str
    sha256: str
    url: str


def manifest(name: str) -> list[TestFile]:
    """The files of one test set, in the manifest's order."""
    with open(MANIFEST, newline="", encoding="utf-8") as handle:
        return [TestFile(row["file"], row["sha256"], row["url"])
                for row in csv.DictReader(handle) if row["dataset"] == NAMES[name]]


def download(name: str, cache: str | os.PathLike | None) -> list[Path]:
    """Every file of the set in `cache/<name>/`, downloaded and verified where missing."""
    folder = cache_folder(cache) / name
    hint = f"download the files yourself and pass dataset.root=<folder holding them>"
    return [Path(fetch(entry.url, entry.sha256, entry.file, folder, hint)) for entry in manifest(name)]


def testset(name: str, root: str | os.PathLike | None, cache: str | os.PathLike | None) -> ImageFolderDataset:
    """The images of `root` if given, else the shared copy (bsd68 only), else the download."""
    shared = shared_data_root() / name
    if root is not None:
        files = image_files(root)
    elif name == "bsd68" and shared.is_dir():
        files = image_files(shared)
    else:
        files = download(name, cache)
    return ImageFolderDataset(name, files)


def _register(name: str) -> None:
    @register_dataset(name)
    def create(root: str | os.PathLike | None = None, cache: str | os.PathLike | None = None) -> ImageFolderDataset:
        return testset(name, root, cache)

    create.__doc__ = f"{NAMES[name]}: `root` = a folder holding its images, else downloaded into `cache`."


for _name in NAMES:
    _register(_name)
