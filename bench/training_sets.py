"""Which clean images each learned model may see — fixed lists, so training is reproducible.

The paper trains CN1, CNBlind and FoE on Roth & Black's 40 BSDS training images (≈ 6.2 M pixels)
and CN2 on those plus 60 more (≈ 15.4 M pixels). Here the BSDS300 training images are not
available, so we use the 400 Train400 crops (180×180 = 32,400 pixels each, disjoint from BSD68):
190 crops ≈ 6.2 M pixels stand in for the 40 images, all remaining crops for the 100. The last
ten crops are held out for validation and never trained on.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.images import load_image, shared_data_dir

TRAIN400 = "train400"
VALIDATION_IDS = [f"test_{i:03d}" for i in range(391, 401)]
SMALL_SET_IDS = [f"test_{i:03d}" for i in range(1, 191)]  # CN1, CNBlind, FoE: "the 40 images"
LARGE_SET_IDS = [f"test_{i:03d}" for i in range(1, 391)]  # CN2: "the 40 + 60 images"

TRAINING_SETS = {"small": SMALL_SET_IDS, "large": LARGE_SET_IDS, "validation": VALIDATION_IDS}


def training_files(set_name: str, root: Path | None = None) -> list[Path]:
    """The PNG paths of a named set ("small", "large", "validation")."""
    folder = root if root is not None else shared_data_dir(TRAIN400)
    return [folder / f"{image_id}.png" for image_id in TRAINING_SETS[set_name]]


def recorded_files(set_name: str) -> list[str]:
    """A set's files as weight records list them (`train400/test_001.png`), independent of where
    the data lives on the machine that trained."""
    return [f"{TRAIN400}/{image_id}.png" for image_id in TRAINING_SETS[set_name]]


def load_training_images(set_name: str, root: Path | None = None) -> list[np.ndarray]:
    """The clean images of a named set, float64 on 0–255."""
    return [load_image(path) for path in training_files(set_name, root)]
