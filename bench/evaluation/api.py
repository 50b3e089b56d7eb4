"""Run benchmark jobs from Python and get the leaderboard back as DataFrames.

    import bench
    board, rows = bench.evaluate(["wavelet", "cn2"], dataset="bsd68", sigmas=[25, 50])

Each (method, σ) job is composed from the same Hydra configs as `python -m bench method=… sigma=…`
and run by the same `bench.runner.run_job` into the same results store (`outputs/store` under the
current folder by default), so the CLI and a notebook share rows and resume each other's work,
and the numbers are the CLI's. A method object (anything with `blind` and `denoise`, or a plain
function `f(noisy, sigma)`, treated as non-blind) is run under the same protocol, but its rows are
kept out of the store: its code may change between two calls while its name stays the same.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from hydra import compose, initialize_config_module
from hydra.errors import HydraException
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from bench.__main__ import hydra_error_message
from bench.errors import BenchError
from bench.leaderboard import labelled, leaderboard
from bench.plugins import load_plugins, prepare_config
from bench.protocol import DEFAULT_NOISE
from bench.registry import Denoiser
from bench.runner import JobSpec, run_job
from bench.store import ResultStore, Row

MethodLike = str | Denoiser | Callable[[np.ndarray, float | None], np.ndarray]


class Evaluation(NamedTuple):
    """`leaderboard` as in leaderboard.csv; `rows`: one row per image and job, with display labels."""

    leaderboard: pd.DataFrame
    rows: pd.DataFrame


class FunctionMethod:
    """A plain function `f(noisy, sigma)` as a non-blind method."""

    blind = False

    def __init__(self, function: Callable[[np.ndarray, float | None], np.ndarray]) -> None:
        self._function = function

    def denoise(self, noisy: np.ndarray, sigma: float | None) -> np.ndarray:
        return self._function(noisy, sigma)


def evaluate(
    methods: MethodLike | Sequence[MethodLike],
    dataset: str = "skimage",
    sigmas: float | Iterable[float] = (25,),
    *,
    seed: int = 0,
    limit: int | None = None,
    crop: int | None = None,
    noise: str = DEFAULT_NOISE,
    store: str | Path | None = None,
    overrides: Sequence[str] = (),
    plugins: Sequence[str] = (),
) -> Evaluation:
    """Every method × σ as one job each, like `python -m bench -m method=… sigma=…`.

    `methods`: config names (`"cn2"`, `"cn2_x8"`, a plugin's registered name) and/or method
    objects. `overrides`: further Hydra overrides for every job (`dataset.root=…`,
    `method.options.size=5`). `store`: the results store (default `outputs/store` here)."""
    load_plugins(plugins)
    prepare_config(overrides)
    store_dir = Path(store if store is not None else Path.cwd() / "outputs" / "store").expanduser()
    sigma_list = [sigmas] if isinstance(sigmas, (int, float)) else list(sigmas)
    common = [f"dataset={dataset}", f"seed={seed}", f"limit={_null(limit)}", f"crop={_null(crop)}",
              f"store={store_dir}", *([] if noise == DEFAULT_NOISE else [f"noise={noise}"]), *overrides]
    rows: list[Row] = []
    for method in [methods] if isinstance(methods, str) or not isinstance(methods, Sequence) else methods:
        for sigma in sigma_list:
            rows += _run(method, [*common, f"sigma={sigma}"], store_dir)
    frame = labelled(rows)
    return Evaluation(leaderboard(frame), frame)


def _run(method: MethodLike, overrides: list[str], store_dir: Path) -> list[Row]:
    if isinstance(method, str):
        config = _compose([f"method={method}", *overrides])
        with ResultStore(store_dir) as store:
            return run_job(JobSpec.from_config(config, config_name=method), store)
    if hasattr(method, "denoise"):
        instance = method
    elif callable(method):
        instance = FunctionMethod(method)
    else:
        raise BenchError(f"not a method: {method!r} (give a config name, an object with denoise(), or a function)")
    label = str(getattr(method, "name", None) or getattr(method, "__name__", None) or type(method).__name__)
    spec = replace(JobSpec.from_config(_compose(overrides)), method=label, config_name=label, method_options={})
    with tempfile.TemporaryDirectory() as scratch, ResultStore(scratch) as store:
        return run_job(spec, store, method=instance)


def _compose(overrides: list[str]) -> DictConfig:
    """The job's config, composed exactly as the command line composes it."""
    try:
        with initialize_config_module(config_module="bench.conf", version_base="1.3"):
            return compose(config_name="config", overrides=overrides)
    except (HydraException, OmegaConfBaseException) as error:
        raise BenchError(hydra_error_message(error)) from None


def _null(value: Any) -> str:
    return "null" if value is None else str(value)
