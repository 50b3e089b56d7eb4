"""Builds the compiled kernels; all other metadata lives in pyproject.toml.

Every extension is optional: without a C compiler the install still succeeds, the networks run
through PyTorch's dense convolution (methods/_sparse_inference.py), FoE's gradient through PyTorch
(methods/foe.py) and BLS-GSM's estimate through numpy (methods/_gsm_estimator.py), with the same
results, more slowly.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "bench.methods._sparse_conv",
            sources=["methods/_sparse_conv.c"],
            depends=["methods/_sparse_conv_clone.h", "methods/_clones.h", "methods/_clone_instance.h"],
            extra_compile_args=["-O3", "-Wno-psabi"],
            optional=True,
        ),
        Extension(
            "bench.methods._foe_kernel",
            sources=["methods/_foe_kernel.c"],
            depends=["methods/_foe_kernel_clone.h", "methods/_clones.h", "methods/_clone_instance.h"],
            extra_compile_args=["-O3", "-Wno-psabi"],
            optional=True,
        ),
        Extension(
            "bench.methods._gsm_kernel",
            sources=["methods/_gsm_kernel.c"],
            extra_compile_args=["-O3", "-Wno-psabi"],
            optional=True,
        ),
    ]
)
