"""Name → factory registries for denoisers and datasets.

Methods and datasets are plugins: every module in the `methods/` (`bench.methods`) and
`datasets/` (`bench.datasets`) folders is imported on first lookup, and each registers its
factories by name with the decorators below. Third-party packages register methods and datasets
through the `bench.methods` and `bench.datasets` entry-point groups (the entry point names a
factory), so adding a method never means editing this file.
"""

from __future__ import annotations

import importlib
import pkgutil
from importlib.metadata import entry_points
from typing import Any, Callable, Protocol, runtime_checkable

import numpy as np

from bench.errors import BenchError


@runtime_checkable
class Denoiser(Protocol):
    """What `get_method` returns: a 2-D float image in, a 2-D float image out, both on 0–255."""

    blind: bool

    def denoise(self, noisy: np.ndarray, sigma: float | None) -> np.ndarray: ...


@runtime_checkable
class Dataset(Protocol):
    """What `get_dataset` returns: a named, ordered set of clean images addressed by id."""

    name: str

    def ids(self) -> list[str]: ...

    def load(self, image_id: str) -> np.ndarray:
        """The clean image as a float64 2-D array on 0–255 (colour averaged to gray)."""
        ...


Factory = Callable[..., Any]


class Registry:
    """Factories by name, filled lazily by importing a plugin package and an entry-point group."""

    def __init__(self, kind: str, package: str, entry_point_group: str | None) -> None:
        self.kind = kind
        self._package = package
        self._group = entry_point_group
        self._factories: dict[str, Factory] = {}
        self._loaded = False

    def register(self, name: str) -> Callable[[Factory], Factory]:
        """Decorator: make `factory(**options)` available as `name`."""

        def decorate(factory: Factory) -> Factory:
            if name in self._factories and self._factories[name] is not factory:
                raise BenchError(f"{self.kind} {name!r} is registered twice")
            self._factories[name] = factory
            return factory

        return decorate

    def _load_plugins(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        package = importlib.import_module(self._package)
        for module in pkgutil.iter_modules(package.__path__):
            if not module.name.startswith("_"):
                importlib.import_module(f"{self._package}.{module.name}")
        if self._group:
            for entry in entry_points(group=self._group):
                if entry.name not in self._factories:
                    self._factories[entry.name] = entry.load()

    def names(self) -> list[str]:
        self._load_plugins()
        return sorted(self._factories)

    def factory(self, name: str) -> Factory:
        self._load_plugins()
        if name not in self._factories:
            raise BenchError(
                f"unknown {self.kind} {name!r}; available: {', '.join(self.names())}"
            )
        return self._factories[name]

    def create(self, name: str, **options: Any) -> Any:
        factory = self.factory(name)
        try:
            return factory(**options)
        except TypeError as error:
            raise BenchError(f"bad options for {self.kind} {name!r}: {error}") from None


METHODS = Registry("method", "bench.methods", "bench.methods")
DATASETS = Registry("dataset", "bench.datasets", "bench.datasets")

register_method = METHODS.register
register_dataset = DATASETS.register


def get_method(name: str, **options: Any) -> Denoiser:
    """A ready denoiser: `get_method("cn2").denoise(noisy, sigma=50)`."""
    return METHODS.create(name, **options)


def list_methods() -> list[str]:
    """Names of every registered method (built-in and installed plugins)."""
    return METHODS.names()


def get_dataset(name: str, **options: Any) -> Dataset:
    return DATASETS.create(name, **options)


def list_datasets() -> list[str]:
    return DATASETS.names()
