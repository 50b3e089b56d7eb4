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



def __getattr__(name: str):
    """`bench.evaluate` is imported on first use: it pulls in Hydra, pandas and the runner, which
    a plugin's `from bench import register_method` does not need."""
    if name == "evaluate":
        from bench.evaluation import evaluate

        return evaluate
    raise AttributeError(f"module 'bench' has no attribute {name!r}")


__all__ = [
    "BenchError",
    "Dataset",
    "Denoiser",
    "__version__",
    "evaluate",
    "get_dataset",
    "get_method",
    "list_datasets",
    "list_methods",
    "register_dataset",
    "register_method",
]
