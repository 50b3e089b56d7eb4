"""Where a result came from: package version, git commit and the command line that ran it."""

from __future__ import annotations

import functools
import shlex
import subprocess
import sys
from pathlib import Path

import bench


def package_version() -> str:
    return bench.__version__


@functools.cache
def git_commit() -> str:
    """The checkout's commit (with "+dirty" if tracked files differ from it), or "" when `bench`
    is not running from its own checkout (an installed wheel, even inside another repository)."""
    source = Path(bench.__file__).resolve().parent
    try:
        if Path(_git(source, "rev-parse", "--show-toplevel")).resolve() != source.parent:
            return ""
        commit = _git(source, "rev-parse", "HEAD")
        dirty = _git(source, "status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return ""
    return commit + ("+dirty" if dirty else "")


def _git(folder: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=10, check=True
    )
    return result.stdout.strip()


def command_line() -> str:
    """The command as the user typed it (`python -m bench ...` rather than a path to __main__.py)."""
    program = sys.argv[0]
    if program.endswith("__main__.py"):
        program = f"python -m {_module_of(Path(program))}"
    elif program.endswith(".py") and Path(program).parent.name == "bench":
        program = f"python -m bench.{Path(program).stem}"
    else:
        program = Path(program).name
    return " ".join([program, *map(shlex.quote, sys.argv[1:])])


def _module_of(main_file: Path) -> str:
    """`…/bench/report/__main__.py` → `bench.report` (the innermost `bench` folder starts the name)."""
    parts = main_file.parent.parts
    start = len(parts) - 1 - parts[::-1].index("bench") if "bench" in parts else len(parts) - 1
    return ".".join(parts[start:])
