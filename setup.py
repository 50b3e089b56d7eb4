"""Builds the compiled kernels; all other metadata lives in pyproject.toml.

Every extension is optional: without a C compiler the install still succeeds, the networks run
through PyTorch's dense convolution (methods/_sparse_inference.py), FoE's gradient through PyTorch
(methods/foe.py) and BLS-GSM's estimate through numpy (methods/_gsm_estimator.py), with the same
results, more slowly.
"""

import platform

from setuptools import Extension, setup

CLONES = ["methods/_clones.h", "methods/_clone_instance.h"]
# The cloned kernels pick their instruction set at run time, each clone under its own
# `#pragma GCC target`, so they are built for baseline x86-64 whatever $CFLAGS asks: with
# -march=native on an AVX-512 CPU, GCC refused to inline the AVX-512 intrinsics and the kernels'
# shared helpers into the narrower clones, and both optional kernels were silently left unbuilt.
CLONE_BASE = ("-march=x86-64",) if platform.machine().lower() in {"x86_64", "amd64"} else ()


def kernel(name: str, depends: list[str], extra_args: tuple[str, ...] = ()) -> Extension:
    """bench.methods.<name> from methods/<name>.c."""
    return Extension(f"bench.methods.{name}", sources=[f"methods/{name}.c"], depends=depends,
                     extra_compile_args=["-O3", "-Wno-psabi", *extra_args], optional=True)


setup(
    ext_modules=[
        kernel("_sparse_conv", ["methods/_sparse_conv_clone.h", *CLONES], CLONE_BASE),
        kernel("_foe_kernel", ["methods/_foe_kernel_clone.h", *CLONES], CLONE_BASE),
        kernel("_gsm_kernel", []),
    ]
)
