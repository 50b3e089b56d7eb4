"""Builds the compiled kernels; all other metadata lives in pyproject.toml.

Every extension is optional: without a C compiler the install still succeeds, the networks run
through PyTorch's dense convolution (methods/_sparse_inference.py), FoE's gradient through PyTorch
(methods/foe.py) and BLS-GSM's estimate through numpy (methods/_gsm_estimator.py), with the same
results, more slowly.
"""

from setuptools import Extension, setup

CLONES = ["methods/_clones.h", "methods/_clone_instance.h"]


def kernel(name: str, depends: list[str]) -> Extension:
    """bench.methods.<name> from methods/<name>.c."""
    return Extension(f"bench.methods.{name}", sources=[f"methods/{name}.c"], depends=depends,
                     extra_compile_args=["-O3", "-Wno-psabi"], optional=True)


setup(
    ext_modules=[
        kernel("_sparse_conv", ["methods/_sparse_conv_clone.h", *CLONES]),
        kernel("_foe_kernel", ["methods/_foe_kernel_clone.h", *CLONES]),
        kernel("_gsm_kernel", []),
    ]
)
