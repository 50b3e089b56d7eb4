"""Builds the convnets' sparse convolution kernel; all other metadata lives in pyproject.toml.

The extension is optional: without a C compiler the install still succeeds and the networks run
through PyTorch's dense convolution (see methods/_sparse_inference.py).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "bench.methods._sparse_conv",
            sources=["methods/_sparse_conv.c"],
            depends=["methods/_sparse_conv_clone.h"],
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
