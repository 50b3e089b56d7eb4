"""Running a compiled kernel's tests once per clone: every clone the CPU runs, chosen through
$DENOISE_BENCH_SPARSE_CLONE, plus the AVX-512 clone's source built for AVX2 (so that its 16-float
code is checked on CPUs without AVX-512). Shared by the sparse kernel's and FoE kernel's tests."""

from __future__ import annotations

import importlib.util
import subprocess
import sysconfig
from pathlib import Path
from types import ModuleType

import pytest

from bench.methods._kernel_clones import CLONE_VARIABLE

METHODS = Path(__file__).parents[1] / "methods"
WIDE_ON_AVX2 = "avx512 source built for avx2"
CLONE_NAMES = ["avx512", "avx2", "plain", WIDE_ON_AVX2]


_wide_builds: dict[Path, ModuleType] = {}


def build_wide_clone_for_avx2(source: Path, folder: Path) -> ModuleType:
    """The kernel `source` built with CLONES_TEST_WIDE: its avx512 clone (16-float vectors, 8 × 32
    blocks) compiled for AVX2, so that its code runs, and is checked, on CPUs without AVX-512. Built
    once per test session (into the first test's `folder`)."""
    if source in _wide_builds:
        return _wide_builds[source]
    target = folder / f"{source.stem}{sysconfig.get_config_var('EXT_SUFFIX')}"
    command = [sysconfig.get_config_var("CC").split()[0], "-O2", "-shared", "-fPIC", "-Wno-psabi",
               "-DCLONES_TEST_WIDE", f"-I{sysconfig.get_paths()['include']}", str(source), "-o", str(target)]
    built = subprocess.run(command, capture_output=True, text=True)
    if built.returncode != 0:
        pytest.skip(f"could not build the test kernel: {built.stderr.strip()[-300:]}")
    spec = importlib.util.spec_from_file_location(source.stem, target)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not any(name == "avx512" and runs for name, *_, runs in module.clones()):
        pytest.skip("this CPU runs neither AVX-512 nor AVX2")
    _wide_builds[source] = module
    return module


def use_clone(name: str, wrapper: ModuleType, kernel: str, monkeypatch, folder: Path) -> str:
    """Make `wrapper` (a kernel's Python side, holding the kernel module as attribute `kernel`, built
    from methods/<kernel>.c) run clone `name`, or skip where the CPU or the build lacks it."""
    if name == WIDE_ON_AVX2:
        monkeypatch.setattr(wrapper, kernel, build_wide_clone_for_avx2(METHODS / f"{kernel}.c", folder))
        monkeypatch.setattr(wrapper, "compiled_clones", wrapper.compiled_clones.__wrapped__)
        monkeypatch.setenv(CLONE_VARIABLE, "avx512")
    else:
        clones = {c.name: c for c in wrapper.compiled_clones()}
        if name not in clones:
            pytest.skip(f"the build has no {name} clone (not x86-64 with GCC >= 12)")
        if not clones[name].cpu_runs:
            pytest.skip(f"this CPU does not run the {name} clone")
        monkeypatch.setenv(CLONE_VARIABLE, name)
    assert wrapper.active_clone().name == name.split()[0]
    return name
