"""Load a user's own methods or datasets without packaging them: the `plugins` config key lists
modules (`my_methods`, importable from the current folder or $PYTHONPATH) or Python files
(`path/to/my_methods.py`) whose import registers them with `bench.register_method` /
`bench.register_dataset`. Jobs import them themselves, so this works in launcher workers too."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType

from bench.errors import BenchError


def load_plugins(plugins: Iterable[str]) -> list[ModuleType]:
    return [_load(str(plugin)) for plugin in plugins]


def _load(plugin: str) -> ModuleType:
    if plugin.endswith(".py"):
        return _load_file(Path(plugin).expanduser())
    if os.getcwd() not in sys.path:
        sys.path.append(os.getcwd())  # the console script's sys.path lacks the current folder
    try:
        return importlib.import_module(plugin)
    except ModuleNotFoundError as error:
        if error.name and plugin.startswith(error.name):
            raise BenchError(
                f"plugin module {plugin!r} not found (not on PYTHONPATH or in {os.getcwd()})"
            ) from None
        raise


def _load_file(path: Path) -> ModuleType:
    """Import a .py file once per process (as module `bench_plugin_<stem>`)."""
    if not path.is_file():
        raise BenchError(f"plugin file not found: {path}")
    name = f"bench_plugin_{path.stem}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise BenchError(f"cannot import plugin file {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module
