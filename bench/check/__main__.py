"""`python -m bench.check <method | file.py | file.py:name> [-o key=value ...] [--sigma S]`

Builds the method (a registered name, or one registered by a plugin file) with its default
options plus any `-o` ones, runs the contract checks of `bench.check.contract` and prints one line
per check. Exit status 0 if every check passed, 1 if one failed, 2 if the method cannot be found
or built.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

import yaml

from bench.check.contract import check_method
from bench.errors import BenchError
from bench.plugins import factory_defaults, load_plugins
from bench.registry import METHODS, get_method


def resolve_target(target: str, plugins: Sequence[str] = ()) -> str:
    """The registered method name for `name`, `file.py:name` or `file.py` (which must register
    exactly one method)."""
    load_plugins(plugins)
    path, _, name = target.rpartition(":") if ".py:" in target else (target, "", "")
    if not path.endswith(".py"):
        METHODS.factory(target)  # unknown → BenchError listing the available ones
        return target
    module = load_plugins([path])[0]
    if name:
        METHODS.factory(name)
        return name
    found = [method for method in METHODS.names()
             if getattr(METHODS.factory(method), "__module__", None) == module.__name__]
    if len(found) != 1:
        raise BenchError(f"{path} registers {len(found)} methods ({', '.join(found) or 'none'}): "
                         f"name one, e.g. {path}:{found[0] if found else 'name'}")
    return found[0]


def parse_options(pairs: Sequence[str]) -> dict[str, Any]:
    """`key=value` pairs, values read as YAML (`size=5` → 5, `mode=fast` → "fast")."""
    options = {}
    for pair in pairs:
        key, equals, value = pair.partition("=")
        if not equals or not key:
            raise BenchError(f"option {pair!r} is not key=value")
        options[key] = yaml.safe_load(value)
    return options


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.check",
                                     description="Check that a method meets the benchmark's contract.")
    parser.add_argument("target", help="a registered method, or file.py / file.py:name")
    parser.add_argument("-o", "--option", action="append", default=[], metavar="KEY=VALUE",
                        help="a factory option (repeatable), e.g. -o size=5")
    parser.add_argument("--sigma", type=float, default=25.0, help="noise σ of the test images (default 25)")
    parser.add_argument("--plugins", nargs="*", default=[], help="modules or files to import first")
    args = parser.parse_args(argv)
    try:
        name = resolve_target(args.target, args.plugins)
        given = parse_options(args.option)
        method = get_method(name, **given)
        options = {**factory_defaults(METHODS.factory(name)), **given}
    except BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    shown = " ".join(f"method.options.{key}={value}" for key, value in options.items())
    print(f"checking method {name!r}{' with ' + shown if shown else ''}")
    results = check_method(method, sigma=args.sigma)
    for result in results:
        print(result.line())
    failed = [result.name for result in results if result.passed is False]
    print(f"{len(failed)} of {sum(r.passed is not None for r in results)} checks failed: {', '.join(failed)}"
          if failed else "all checks passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
