"""Load a user's own methods or datasets without packaging them, and without a YAML file.

The `plugins` config key lists modules (`my_methods`, importable from the current folder or
$PYTHONPATH) or Python files (`path/to/my_methods.py`) whose import registers them with
`bench.register_method` / `bench.register_dataset`. Jobs import them themselves, so this works in
launcher workers too.

A registered method or dataset needs no config file: `register_config_nodes` gives each one a
Hydra config node (`name` and `options`, the options being its factory's keyword defaults) in
Hydra's ConfigStore; one with a YAML file in the config search path keeps its file. The nodes must
exist before Hydra composes the config, while the `plugins` key is part of that config: so
`prepare_config` reads the command line's `plugins=...` (and `hydra.searchpath=...`) overrides
and imports those plugins before Hydra starts. (Plugins listed only inside a YAML file are
imported by the jobs, too late for a node: such methods need their own YAML file.)
"""

from __future__ import annotations

import importlib
import importlib.resources
import importlib.util
import inspect
import os
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from hydra.core.config_store import ConfigStore
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import MISSING, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from bench.errors import BenchError
from bench.registry import DATASETS, METHODS

PRIMARY_CONFIGS = "pkg://bench.conf"


def load_plugins(plugins: Iterable[str]) -> list[ModuleType]:
    return [_load(str(plugin)) for plugin in plugins]


def prepare_config(overrides: Sequence[str]) -> None:
    """Before Hydra composes: import the plugins the overrides name, then give every method and
    dataset without a YAML file in the config search path its config node."""
    load_plugins(override_values(overrides, "plugins"))
    register_config_nodes([PRIMARY_CONFIGS, *override_values(overrides, "hydra.searchpath")])


def override_values(overrides: Sequence[str], key: str) -> list[str]:
    """The list items (or single value) that command-line overrides give `key` (`key=[a,b]`,
    `+key=…`, `++key=…`, a sweep over lists), parsed by Hydra's own override grammar."""
    wanted = [text for text in overrides if re.match(rf"^\+{{0,2}}{re.escape(key)}=", text)]
    values: list[Any] = []
    for override in OverridesParser.create().parse_overrides(wanted):
        for value in list(override.sweep_iterator()) if override.is_sweep_override() else [override.value()]:
            values.extend(value if isinstance(value, list) else [value])
    return [str(value) for value in values if value is not None]


def register_config_nodes(searchpath: Sequence[str] = (PRIMARY_CONFIGS,)) -> None:
    """A config node `{name: <name>, options: <factory's keyword defaults>}` in Hydra's ConfigStore
    for every registered method (group `method`) and dataset (group `dataset`), built-in, plugin or
    entry point, that has no YAML file in `searchpath`. Hydra would otherwise merge the node into
    the YAML file as a schema (deprecated automatic schema matching), so the file simply wins."""
    store = ConfigStore.instance()
    for group, registry in (("method", METHODS), ("dataset", DATASETS)):
        for name in registry.names():
            if not any(_has_yaml(folder, group, name) for folder in searchpath):
                node = {"name": name, "options": factory_defaults(registry.factory(name))}
                store.store(group=group, name=name, node=node, provider="denoise-bench")


def _has_yaml(folder: str, group: str, name: str) -> bool:
    """Whether a search-path entry (`pkg://package` or `file://folder`) holds group/name.yaml."""
    scheme, _, where = folder.partition("://")
    try:
        root = importlib.resources.files(where) if scheme == "pkg" else Path(where or folder)
        return (root / group / f"{name}.yaml").is_file()
    except ModuleNotFoundError:
        return False


def factory_defaults(factory: Callable[..., Any]) -> dict[str, Any]:
    """The factory's keyword parameters with their defaults (`???`, i.e. required on the command
    line, where there is none). A default a config cannot hold (an object) is left out: the factory
    keeps using it, and `+method.options.<key>=` can still set it."""
    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):  # some builtins and C callables have no signature
        return {}
    options: dict[str, Any] = {}
    for parameter in parameters:
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD, parameter.POSITIONAL_ONLY):
            continue
        default = MISSING if parameter.default is parameter.empty else parameter.default
        if isinstance(default, tuple):
            default = list(default)
        try:
            OmegaConf.create({"value": default})
        except OmegaConfBaseException:
            continue
        options[parameter.name] = default
    return options


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
