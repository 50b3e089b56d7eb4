"""`skimage`: natural images shipped inside scikit-image's wheel — the default dataset, because
it needs no download and no data folder.

Only these twelve are bundled with scikit-image 0.26 (checked: their files sit in the installed
`skimage/data` folder and load with the network blocked); others such as `eagle` are downloaded
on first use, so they are not offered here. Colour images are averaged to gray (the protocol).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import skimage.data

from bench.errors import BenchError
from bench.protocol import to_grayscale
from bench.registry import register_dataset

GRAYSCALE = ("camera", "moon", "coins", "brick", "grass", "gravel")
COLOUR = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "hubble_deep_field")
BUNDLED = GRAYSCALE + COLOUR


class SkimageDataset:
    """Images addressed by their `skimage.data` function name."""

    name = "skimage"

    def __init__(self, images: Sequence[str]) -> None:
        unknown = [image for image in images if image not in BUNDLED]
        if unknown:
            raise BenchError(
                f"not bundled with scikit-image: {', '.join(unknown)}; choose from {', '.join(BUNDLED)}"
            )
        if not images:
            raise BenchError("dataset 'skimage' needs at least one image")
        self._images = list(dict.fromkeys(images))

    def ids(self) -> list[str]:
        return list(self._images)

    def load(self, image_id: str) -> np.ndarray:
        if image_id not in self._images:
            raise BenchError(f"dataset 'skimage' has no image {image_id!r}")
        return to_grayscale(getattr(skimage.data, image_id)())


@register_dataset("skimage")
def skimage_images(images: Sequence[str] | None = None) -> SkimageDataset:
    """All twelve bundled images unless `images` names some of them (one name or a list)."""
    if images is None:
        return SkimageDataset(BUNDLED)
    return SkimageDataset([images] if isinstance(images, str) else list(images))
