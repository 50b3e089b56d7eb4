"""`bsd68`: the 68 grayscale BSDS300 test images of Roth & Black's FoE evaluation.

They are 68 of the paper's 100 test images; the files stay in the shared data folder
($DENOISE_BENCH_DATA/bsd68) and are never copied into the project.
"""

from __future__ import annotations

import os

from bench.images import image_files, shared_data_dir
from bench.registry import register_dataset
from bench.datasets.folder import ImageFolderDataset


@register_dataset("bsd68")
def bsd68(root: str | os.PathLike | None = None) -> ImageFolderDataset:
    """`root` is the folder holding test001.png … test068.png; default: the shared data folder."""
    folder = root if root is not None else shared_data_dir("bsd68")
    return ImageFolderDataset("bsd68", image_files(folder))
