"""Which clone (instruction-set build: avx512, avx2, plain) of a compiled kernel runs, shared by the
convnets' sparse kernel and FoE's kernel (both compiled through methods/_clones.h).

The best clone the CPU runs is used, unless $DENOISE_BENCH_SPARSE_CLONE names another, for every
compiled kernel at once (tests run every clone the CPU has this way).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from types import ModuleType

from bench.errors import BenchError

CLONE_VARIABLE = "DENOISE_BENCH_SPARSE_CLONE"


@dataclass(frozen=True)
class Clone:
    """One compiled instruction-set version of a kernel and the block it computes."""

    index: int  # its number in the kernel's own list
    name: str
    rows: int  # output rows per block
    vector: int  # floats per vector: the step of the columns after the last whole block
    lanes: int  # columns per whole block
    cpu_runs: bool


def build_problem(module: ModuleType | None, import_error: str, api_version: int, label: str) -> str | None:
    """Why a compiled kernel module cannot run (not built, or built from other source), or None."""
    if module is None:
        return f"the {label} was not built ({import_error}); reinstall with a C compiler"
    if getattr(module, "API_VERSION", None) != api_version:
        return f"the built {label} is stale; rebuild it with `pip install -e .`"
    return None


def clones_of(module: ModuleType) -> tuple[Clone, ...]:
    """Every clone a kernel module holds, best first (its `clones()` asks the CPU)."""
    return tuple(Clone(index, *fields) for index, fields in enumerate(module.clones()))


def choose_clone(clones: tuple[Clone, ...]) -> Clone:
    """The clone named by $DENOISE_BENCH_SPARSE_CLONE, else the best one this CPU runs."""
    runnable = [clone for clone in clones if clone.cpu_runs]
    requested = os.environ.get(CLONE_VARIABLE, "")
    if not requested:
        return runnable[0]
    for clone in runnable:
        if clone.name == requested:
            return clone
    held = "this CPU does not run it" if requested in {c.name for c in clones} else "the build has no such clone"
    raise BenchError(
        f"{CLONE_VARIABLE}={requested}: {held}; it runs {', '.join(c.name for c in runnable)}"
    )
