"""The convnets' inference on a CPU through the compiled sparse kernel (`_sparse_conv.c`).

A dense 24 × 24 filter bank spends two thirds of its multiply-adds on the paper's absent
connections; the kernel computes only the real ones, so a 512² image costs the network's 624
convolutions and no more, and each layer's logistic is applied as its outputs leave the registers.
Maps live in planar float32 numpy buffers with a common row stride and slack rows and columns, so
the kernel runs whole blocks without edge cases; the slack only ever holds finite values, and what
is computed from it never reaches the valid region.

Nothing here runs a parallel torch op: torch's OpenMP threads keep spinning for a while after one,
on the very cores the kernel's threads need (it cost ~10 % of a forward pass).

The kernel is built at install time (`setup.py`), once per instruction set ("clone": avx512, avx2,
plain); methods/_kernel_clones.py picks the one that runs. Where it could not be built (no C compiler) or is stale,
`unavailable_reason()` says why and the networks run on PyTorch's dense convolutions, with the same
results to float32 rounding.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

import numpy as np
import torch

from bench.methods._kernel_clones import Clone, build_problem, choose_clone, clones_of
from bench.methods._thread_pool import thread_pool

API_VERSION = 3  # must match API_VERSION in _sparse_conv.c

try:
    from bench.methods import _sparse_conv
except ImportError as error:  # built without a C compiler
    _sparse_conv, _import_error = None, str(error)
else:
    _import_error = ""

# filters (out, fan, 5, 5), bias (out,), indices of the input maps each output reads (out, fan)
Layer = tuple[torch.Tensor, torch.Tensor, torch.Tensor]

_buffers_lock = threading.Lock()
_kept_buffers: dict = {}


def unavailable_reason() -> str | None:
    """Why the kernel cannot run here, or None when it can."""
    return build_problem(_sparse_conv, _import_error, API_VERSION, "sparse kernel")


@lru_cache(maxsize=1)
def compiled_clones() -> tuple[Clone, ...]:
    """Every clone the build holds, best first (asks the CPU once)."""
    return clones_of(_sparse_conv)


def active_clone() -> Clone:
    """The clone named by $DENOISE_BENCH_SPARSE_CLONE, else the best one this CPU runs."""
    return choose_clone(compiled_clones())


def check_layer(
    source: np.ndarray, target: np.ndarray, layer: Layer, out_shape: tuple[int, int], clone: Clone
) -> None:
    """What the kernel takes on trust — types, layouts, map indices inside the source, slack for
    whole blocks — checked here, so a malformed call is a Python error, not a read outside memory."""
    filters, bias, inputs = layer
    out_maps, fan = inputs.shape
    kernel = _sparse_conv.KERNEL
    rows_read = ceil_div(out_shape[0], clone.rows) * clone.rows + kernel - 1
    cols_read = ceil_div(out_shape[1], clone.vector) * clone.vector + kernel - 1
    problems = [
        (filters.dtype != torch.float32 or filters.shape != (out_maps, fan, kernel, kernel)
         or not filters.is_contiguous(),
         f"filters must be contiguous float32 ({out_maps}, {fan}, {kernel}, {kernel})"),
        (bias.dtype != torch.float32 or bias.shape != (out_maps,) or not bias.is_contiguous(),
         f"bias must be contiguous float32 ({out_maps},)"),
        (inputs.dtype != torch.int64 or not inputs.is_contiguous(), "input indices must be contiguous int64"),
        (fan > 0 and (int(inputs.min()) < 0 or int(inputs.max()) >= source.shape[0]),
         f"input indices must lie in [0, {source.shape[0]})"),
        (target.shape[0] < out_maps or source.shape[1:] != target.shape[1:], "buffers of different shapes"),
        (any(a.dtype != np.float32 or not a.flags.c_contiguous for a in (source, target)),
         "buffers must be C-contiguous float32"),
        (source.shape[1] < rows_read or source.shape[2] < cols_read,
         f"buffers of {source.shape[1:]} leave no slack for a {out_shape} output"),
    ]
    for failed, message in problems:
        if failed:
            raise ValueError(f"sparse kernel: {message}")


def ceil_div(value: int, divisor: int) -> int:
    return -(-value // divisor)


def logistic_layer(
    source: np.ndarray, target: np.ndarray, layer: Layer, shift: float, shape: tuple[int, int], clone: Clone
) -> tuple[int, int]:
    """target[o] = f(bias[o] + Σ_j filters[o, j] ⊗ source[inputs[o, j]]) − shift over the valid
    region, f the logistic and ⊗ a "valid" 5 × 5 convolution; `shape` is the source's valid region,
    and the target's is returned, computed by `clone`. Jobs (block of rows, output map) are split
    evenly over threads, each thread a contiguous range of row blocks."""
    filters, bias, inputs = layer
    out_maps, fan = inputs.shape
    out_rows, out_cols = shape[0] - _sparse_conv.KERNEL + 1, shape[1] - _sparse_conv.KERNEL + 1
    check_layer(source, target, layer, (out_rows, out_cols), clone)
    jobs = out_maps * ceil_div(out_rows, clone.rows)
    workers = max(1, min(torch.get_num_threads(), jobs))
    bounds = [jobs * worker // workers for worker in range(workers + 1)]
    addresses = (source.ctypes.data, target.ctypes.data, filters.data_ptr(), bias.data_ptr(),
                 inputs.data_ptr())
    map_stride, row_stride = source.strides[0] // 4, source.strides[1] // 4
    geometry = (shift, fan, map_stride, target.strides[0] // 4, row_stride, out_maps, out_rows, out_cols)
    pool = thread_pool(os.getpid(), workers)
    pending = [
        pool.submit(_sparse_conv.logistic_layer, clone.index, *addresses, *geometry, bounds[w], bounds[w + 1])
        for w in range(workers)
    ]
    for job in pending:
        job.result()
    return out_rows, out_cols


def aligned_zeros(shape: tuple[int, ...]) -> np.ndarray:
    """float32 zeros starting on a cache line (numpy only promises 16 bytes): with the row stride
    a multiple of 64 bytes, fewer of the kernel's vector loads straddle two lines (CN2 on a 512²
    image: 0.12 s with 16-byte-aligned buffers, 0.08 s aligned)."""
    count = int(np.prod(shape))
    raw = np.zeros(count + 16, np.float32)
    start = (-raw.ctypes.data % 64) // 4
    return raw[start : start + count].reshape(shape)


@contextmanager
def map_buffers(maps: int, shape: tuple[int, int]) -> Iterator[list[np.ndarray]]:
    """Two (maps, *shape) float32 buffers, kept from one call to the next of the same shape.

    Fresh buffers of this size cost ~10 ms of page faults per 512² image, a tenth of the forward
    pass. A call made while another thread holds the kept buffers gets fresh ones.
    """
    if not _buffers_lock.acquire(blocking=False):
        yield [aligned_zeros((maps, *shape)) for _ in range(2)]
        return
    try:
        if _kept_buffers.get("key") != (maps, shape):
            buffers = [aligned_zeros((maps, *shape)) for _ in range(2)]
            _kept_buffers.update(key=(maps, shape), buffers=buffers)
        yield _kept_buffers["buffers"]
    finally:
        _buffers_lock.release()


def sparse_forward(layers: list[Layer], padded: np.ndarray, centre: float) -> np.ndarray:
    """A network of logistic layers on one padded image (H × W float32): its valid output.

    Every layer reads its input minus `centre` and the output layer's result is not shifted, as in
    DenoisingConvNet.forward; `layers` come from DenoisingConvNet.sparse_layers. The layers write
    the two buffers in turn; the image starts in the one the first layer does not write.
    """
    if (reason := unavailable_reason()) is not None:
        raise RuntimeError(reason)
    rows, cols = padded.shape
    clone, kernel = active_clone(), _sparse_conv.KERNEL
    # Slack: the last block of rows may pass the valid ones by rows − 1 and reads kernel − 1 rows
    # below its own; the last vector may pass the valid columns by vector − 1 and read 4 beyond.
    shape = (ceil_div(rows, clone.rows) * clone.rows + kernel, ceil_div(cols, clone.lanes) * clone.lanes + clone.lanes)
    with map_buffers(layers[0][0].shape[0], shape) as buffers:
        source = buffers[1]
        source[0, :rows, :cols] = padded - np.float32(centre)
        for index, layer in enumerate(layers):
            shift = centre if index < len(layers) - 1 else 0.0
            rows, cols = logistic_layer(source, buffers[index % 2], layer, shift, (rows, cols), clone)
            source = buffers[index % 2]
        return source[0, :rows, :cols].copy()
