"""denoise-bench: compare image denoisers under one paired, seeded protocol."""

from importlib.metadata import PackageNotFoundError, version

from bench.errors import BenchError
from bench.registry import (
    Dataset,
    Denoiser,
    get_dataset,
    get_method,
    list_datasets,
    list_methods,
    register_dataset,
    register_method,
)

try:
    __version__ = version("denoise-bench")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"

__all__ = [
    "BenchError",
    "Dataset",
    "Denoiser",
    "__version__",
    "get_dataset",
    "get_method",
    "list_datasets",
    "list_methods",
    "register_dataset",
    "register_method",
]
