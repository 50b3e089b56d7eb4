"""Denoised images for the report: each method re-run on the protocol's noisy image.

Only per-image scores are stored, so, like Figure 3 (`bench.figures compare`), the gallery re-runs
each method of the results on a few chosen images — the same configuration, dataset, crop, σ and
seed as its rows, hence the same noisy input and the same output. A method that cannot be built
or fails on the image (a plugin not imported here, missing weights) is skipped and named.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import pandas as pd

from bench.leaderboard import labelled
from bench.protocol import NOISE_MODELS, psnr, validate_image
from bench.registry import get_dataset
from bench.runner import JobSpec, make_method, protocol_images
from bench.store import OK, Row

JSON_FIELDS = ("method_options", "dataset_options")


@dataclass
class Panel:
    caption: str
    image: np.ndarray


@dataclass
class GalleryItem:
    """One image of the gallery: clean, noisy and every method that ran, with a zoom window."""

    title: str
    panels: list[Panel]
    zoom: tuple[int, int, int]  # top, left, size
    skipped: list[str] = field(default_factory=list)  # "method: why"
    unchanged: list[str] = field(default_factory=list)  # methods that returned the noisy input


def gallery(rows: Sequence[Row], images: int | Sequence[str] = 1, sigma: float | None = None) -> list[GalleryItem]:
    """Gallery items for the first dataset of the results: its first `images` image ids (or the
    ids given), at `sigma` (default: the middle σ of those present), lowest seed, under the first
    noise model present (in the order of bench.protocol.NOISE_MODELS)."""
    frame = labelled(rows).assign(method_name=[row["method"] for row in rows],
                                  dataset_name=[row["dataset"] for row in rows])
    frame = frame[frame.status == OK]
    if frame.empty or images == 0:
        return []
    frame = frame[frame.dataset == sorted(frame.dataset.unique())[0]]
    frame = frame[frame.noise == min(frame.noise.unique(), key=list(NOISE_MODELS).index)]
    sigmas = sorted(frame.sigma.unique())
    chosen_sigma = float(sigmas[len(sigmas) // 2] if sigma is None else sigma)
    frame = frame[(frame.sigma == chosen_sigma) & (frame.seed == frame.seed.min())]
    ids = list(dict.fromkeys(frame.image_id))[:images] if isinstance(images, int) else list(images)
    return [_item(frame, image_id) for image_id in ids]


def _item(frame: pd.DataFrame, image_id: str) -> GalleryItem:
    on_image = frame[frame.image_id == image_id].set_index("method").psnr
    methods = frame.drop_duplicates("method")  # one job per method; best on this image first
    methods = methods.iloc[np.argsort(-methods.method.map(on_image).fillna(-np.inf).to_numpy(), kind="stable")]
    first = _spec(methods.iloc[0])
    dataset = get_dataset(first.dataset, **first.dataset_options)
    clean, noisy = protocol_images(first, dataset, image_id)
    panels = [Panel("clean", clean), Panel(f"noisy {psnr(clean, noisy):.2f} dB", noisy)]
    skipped: list[str] = []
    unchanged: list[str] = []  # the identity (`noisy`): its panel would repeat the noisy one
    for _, row in methods.iterrows():
        spec = _spec(row)
        try:
            method = make_method(spec.method, spec.method_options, spec.noise)
            output = validate_image(method.denoise(noisy.copy(), None if method.blind else spec.sigma), "output")
            if output.shape != clean.shape:
                raise ValueError(f"shape {output.shape}, expected {clean.shape}")
        except Exception as error:  # noqa: BLE001 — the gallery shows what runs, and names the rest
            skipped.append(f"{row.method}: {type(error).__name__}: {' '.join(str(error).split())}")
            continue
        if np.array_equal(output, noisy):
            unchanged.append(row.method)
        else:
            panels.append(Panel(f"{row.method} {psnr(clean, output):.2f} dB", output))
    height, width = clean.shape
    size = max(min(height, width) // 4, 1)
    crop = "" if first.crop is None else f", crop {first.crop}"
    title = f"{methods.iloc[0].dataset} {image_id}, σ = {first.sigma:g}, {first.noise} noise, seed {first.seed}{crop}"
    return GalleryItem(title, panels, (height // 3, width // 3, size), skipped, unchanged)


def _spec(row: pd.Series) -> JobSpec:
    """The job a stored row came from (registered names, not display labels)."""
    values: dict[str, Any] = {}
    for spec_field in fields(JobSpec):
        name = {"method": "method_name", "dataset": "dataset_name"}.get(spec_field.name, spec_field.name)
        if name in row.index and not pd.isna(row[name]):
            values[spec_field.name] = json.loads(row[name] or "{}") if name in JSON_FIELDS else row[name]
    values["crop"] = None if pd.isna(values.get("crop")) else int(values["crop"])
    values["seed"] = int(values["seed"])
    return JobSpec(**values)

