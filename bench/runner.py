"""One benchmark job: one method (with options) × one dataset × one noise model × one σ × one seed,
image by image.

Every image's result goes to the results store the moment it is known, so a job killed mid-way
loses only the image it was working on; a re-run skips images the store already has (successful
rows only: failures are retried). A method that raises, returns the wrong shape or returns NaN
on an image is recorded as a failed row for that image and the job goes on; problems with the
job itself (unknown method or dataset, bad σ, unreadable image file) raise BenchError.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import re
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import InterpolationToMissingValueError, MissingMandatoryValue
from tqdm import tqdm

from bench.errors import BenchError
from bench.protocol import (
    DEFAULT_NOISE,
    noisy_version,
    psnr,
    ssim,
    validate_image,
    validate_noise_model,
    validate_sigma,
)
from bench.provenance import git_commit, package_version
from bench.registry import Dataset, Denoiser, get_dataset, get_method
from bench.store import FAILED, OK, ResultStore, Row, latest_rows, row_key

log = logging.getLogger(__name__)


def options_hash(name: str, options: Mapping[str, Any]) -> str:
    """A short, stable fingerprint of a configuration (same name and options → same hash)."""
    text = json.dumps([name, dict(options)], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class JobSpec:
    """What one job evaluates. `crop` (a centre crop to crop × crop pixels) changes the images, so
    it is part of the dataset's identity; `limit` (the first N images) only selects among them.
    `config_name` is the method's config file (`bls_gsm2` for `name: bls_gsm` with other
    options): the leaderboard's label, not part of any hash. `noise` is the noise model
    (bench.protocol.NOISE_MODELS). Options set to null mean the method's default: they are left
    out, so adding an option with a null default keeps the hashes of earlier rows."""

    method: str
    dataset: str
    sigma: float | None
    seed: int = 0
    method_options: dict[str, Any] = field(default_factory=dict)
    dataset_options: dict[str, Any] = field(default_factory=dict)
    limit: int | None = None
    crop: int | None = None
    config_name: str | None = None
    noise: str = DEFAULT_NOISE

    @classmethod
    def from_config(cls, cfg: DictConfig, config_name: str | None = None) -> JobSpec:
        """The job described by the composed Hydra config (see conf/config.yaml)."""
        return cls(
            config_name=config_name,
            method=str(cfg.method.name),
            method_options=_without_nulls(_plain_dict(cfg.method.get("options"), "method.options")),
            dataset=str(cfg.dataset.name),
            dataset_options=_plain_dict(cfg.dataset.get("options"), "dataset.options"),
            sigma=_optional_number(cfg.sigma, "sigma"),
            seed=_whole_number(cfg.seed, "seed"),
            limit=_optional_positive(cfg.get("limit"), "limit"),
            crop=_optional_positive(cfg.get("crop"), "crop"),
            noise=validate_noise_model(str(cfg.noise.name) if "noise" in cfg else DEFAULT_NOISE),
        )

    @property
    def config_hash(self) -> str:
        return options_hash(self.method, self.method_options)

    @property
    def dataset_hash(self) -> str:
        """Where downloads are cached never changes the (checksummed) images: not hashed."""
        options = {key: value for key, value in self.dataset_options.items() if key != "cache"}
        return options_hash(self.dataset, {**options, "__crop__": self.crop})


def run_job(spec: JobSpec, store: ResultStore, job_label: str = "", method: Denoiser | None = None) -> list[Row]:
    """Evaluate every image of the job; the rows (new or found in the store), in image order.
    `method`, if given, is used instead of building `spec.method` from the registry."""
    if method is None:
        method = make_method(spec.method, spec.method_options, spec.noise)
    else:
        tell_noise_model(method, spec.noise)
    _check_sigma(spec.sigma, method, spec.method)
    dataset = get_dataset(spec.dataset, **spec.dataset_options)
    image_ids = list(dataset.ids())
    if not image_ids:
        raise BenchError(f"dataset {spec.dataset!r} has no images")
    image_ids = image_ids[: spec.limit]

    fingerprint = method_fingerprint(method, spec.sigma)
    # What describes this job's rows, found in the store or new: the same key means the same weights.
    job_columns = reference_columns(method, spec) | {"weights": weights_name(method, spec.sigma)}
    git_commit.cache_clear()  # a launcher's worker process outlives jobs, and may outlive a commit
    finished = {row_key(row): row for row in latest_rows(store.rows()) if row["status"] == OK}
    rows: list[Row] = []
    computed = 0
    noise = "" if spec.noise == DEFAULT_NOISE else f" {spec.noise}"
    description = f"{job_label}{spec.config_name or spec.method} σ={spec.sigma:g}{noise}".strip()
    for image_id in tqdm(image_ids, desc=description, unit="img", mininterval=1.0):
        key = row_key(_row_identity(spec, image_id, fingerprint))
        if key in finished:
            rows.append(finished[key] | job_columns)
            continue
        row = evaluate_image(spec, method, dataset, image_id, fingerprint) | job_columns
        store.append(row)
        rows.append(row)
        computed += 1
    failed = sum(row["status"] == FAILED for row in rows)
    log.info(
        "%s: %d images computed, %d taken from the store, %d failed",
        description, computed, len(rows) - computed, failed,
    )
    return rows


def make_method(name: str, options: Mapping[str, Any], noise: str) -> Denoiser:
    """The method, told the job's noise model when it asks (`use_noise_model`, optional: e.g. the
    convnets pick the networks trained for it). Methods still see only the noisy image and σ."""
    method = get_method(name, **options)
    tell_noise_model(method, noise)
    return method


def optional_hook(method: Denoiser, name: str) -> Callable[..., Any] | None:
    """A hook a method may define beyond `denoise` (use_noise_model, fingerprint, weights_name,
    reference, check_sigma), or None when it does not."""
    hook = getattr(method, name, None)
    return hook if callable(hook) else None


def tell_noise_model(method: Denoiser, noise: str) -> None:
    use_noise_model = optional_hook(method, "use_noise_model")
    if use_noise_model:
        use_noise_model(validate_noise_model(noise))


def method_fingerprint(method: Denoiser, sigma: float | None) -> str:
    """What identifies a method's trained parameters at this σ (e.g. a weight file's SHA-256), so
    results of retrained weights never pass for the old ones; "" for methods without any."""
    fingerprint = optional_hook(method, "fingerprint")
    return fingerprint(sigma) if fingerprint else ""


def weights_name(method: Denoiser, sigma: float | None) -> str:
    """Which trained parameters the method uses at this σ (a weight file's name), for readers of
    the results; "" for methods without any."""
    name = optional_hook(method, "weights_name")
    return name(sigma) if name else ""


def reference_columns(method: Denoiser, spec: JobSpec) -> Row:
    """What a reference method (the authors' own weights) adds to each row: its source, the
    weights' SHA-256, the published average, whether σ is outside its range (methods/
    reference_cnns.py); {} for other methods. A published average is an average over the whole
    set under the gaussian protocol, so it is only attached to gaussian jobs that evaluate the
    whole set, uncropped."""
    describe = optional_hook(method, "reference")
    if not describe:
        return {}
    comparable = spec.crop is None and spec.limit is None and spec.noise == DEFAULT_NOISE
    return describe(spec.dataset if comparable else None, spec.sigma)


def evaluate_image(spec: JobSpec, method: Denoiser, dataset: Dataset, image_id: str, fingerprint: str = "") -> Row:
    """Denoise one image under the protocol and score it; a method failure becomes a failed row."""
    assert spec.sigma is not None  # checked by run_job
    clean, noisy = protocol_images(spec, dataset, image_id)
    row = _row_identity(spec, image_id, fingerprint) | {"height": clean.shape[0], "width": clean.shape[1]}
    start = time.perf_counter()
    try:
        estimate = method.denoise(noisy, None if method.blind else spec.sigma)
        seconds = time.perf_counter() - start
        estimate = _checked_estimate(estimate, clean.shape)
    except Exception as error:  # noqa: BLE001 — any method bug is that image's result, not a crash
        message = " ".join(f"{type(error).__name__}: {error}".split())
        log.warning("%s failed on %s: %s", spec.method, image_id, message)
        return row | {"status": FAILED, "error": message, "psnr": None, "ssim": None,
                      "seconds": time.perf_counter() - start, "finished_at": _now()}
    return row | {"status": OK, "error": "", "psnr": psnr(clean, estimate),
                  "ssim": ssim(clean, estimate), "seconds": seconds, "finished_at": _now()}


def protocol_images(spec: JobSpec, dataset: Dataset, image_id: str) -> tuple[np.ndarray, np.ndarray]:
    """The clean image and the noisy input every method gets for this image in this job."""
    assert spec.sigma is not None
    clean = centre_crop(dataset.load(image_id), spec.crop)
    return clean, noisy_version(clean, dataset.name, image_id, spec.sigma, spec.seed, spec.noise)


def centre_crop(image: np.ndarray, size: int | None) -> np.ndarray:
    """The central size × size window (a side shorter than `size` is kept whole)."""
    if size is None:
        return image
    top = max((image.shape[0] - size) // 2, 0)
    left = max((image.shape[1] - size) // 2, 0)
    return image[top : top + size, left : left + size]


def _checked_estimate(estimate: Any, shape: tuple[int, ...]) -> np.ndarray:
    array = validate_image(estimate, "the method's output")
    if array.shape != shape:
        raise BenchError(f"the method returned shape {array.shape}, expected {shape}")
    return array


def _check_sigma(sigma: float | None, method: Denoiser, name: str) -> None:
    """σ is the noise level of the benchmark, so every job needs a positive one (blind methods
    just don't get to see it)."""
    if sigma is None and method.blind:
        raise BenchError("sigma is missing: set the noise level, e.g. sigma=25")
    validate_sigma(sigma, blind=False, method=name)
    check = optional_hook(method, "check_sigma")  # a method trained for a range of σ only
    if check:
        check(sigma)


def _row_identity(spec: JobSpec, image_id: str, fingerprint: str = "") -> Row:
    config_hash = spec.config_hash
    if fingerprint:
        config_hash = options_hash(spec.method, {**spec.method_options, "__fingerprint__": fingerprint})
    return {
        "method": spec.method,
        "config_name": spec.config_name or spec.method,
        "method_options": json.dumps(spec.method_options, sort_keys=True, default=str),
        "config_hash": config_hash,
        "dataset": spec.dataset,
        "dataset_options": json.dumps(spec.dataset_options, sort_keys=True, default=str),
        "crop": spec.crop,
        "dataset_hash": spec.dataset_hash,
        "image_id": image_id,
        "sigma": float(spec.sigma),
        "seed": spec.seed,
        "noise": spec.noise,
        "version": package_version(),
        "commit": git_commit(),
        "host": socket.gethostname(),
    }


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="microseconds")


def _plain_dict(node: Any, name: str) -> dict[str, Any]:
    if node is None:
        return {}
    if not isinstance(node, DictConfig):
        raise BenchError(f"{name} must be a mapping of option names to values, got {node!r}")
    try:
        return OmegaConf.to_container(node, resolve=True, throw_on_missing=True)  # type: ignore[return-value]
    except (MissingMandatoryValue, InterpolationToMissingValueError) as error:
        found = re.search(r"Missing mandatory value: (\S+)", str(error))
        key = found.group(1) if found else error.full_key
        if key in node.keys() and OmegaConf.is_missing(node, key):  # `???` in the options themselves
            key = f"{name}.{key}"
        raise BenchError(f"missing value for {key}: set it on the command line, e.g. {key}=...") from None


def _without_nulls(options: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in options.items() if value is not None}


def _optional_number(value: Any, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BenchError(f"{name} must be a number, got {value!r}")
    return float(value)


def _whole_number(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BenchError(f"{name} must be a whole number, got {value!r}")
    return value


def _optional_positive(value: Any, name: str) -> int | None:
    if value is None:
        return None
    number = _whole_number(value, name)
    if number <= 0:
        raise BenchError(f"{name} must be a positive whole number or null, got {number}")
    return number
