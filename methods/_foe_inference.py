"""FoE's gradient, and whole gradient steps, through the compiled kernel (`_foe_kernel.c`).

One kernel call computes a range of rows of ∇E(x), or of the step x + ω/σ²·η (y − x) − η ∇E(x)
(+ β (x − x_prev) with heavy-ball momentum): the
responses, φ and the back-projection fused over a ring of a few rows that stays in cache, instead of
PyTorch's passes through the N full response maps. Each image's rows are split evenly over the
threads (torch's thread count), which release the GIL; the result does not depend on the split.

The kernel is built at install time (`setup.py`), once per instruction set; methods/_kernel_clones.py
picks the clone. Where it could not be built (no C compiler) or is stale, `unavailable_reason()`
says why and methods/foe.py computes the gradient with PyTorch, with the same results to float32
rounding.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from functools import lru_cache

import numpy as np
import torch

from bench.methods._kernel_clones import Clone, build_problem, choose_clone, clones_of
from bench.methods._thread_pool import thread_pool

API_VERSION = 2  # must match API_VERSION in _foe_kernel.c
SLACK = 16  # floats past the last column of a row that the kernel may read: one AVX-512 vector

try:
    from bench.methods import _foe_kernel
except ImportError as error:  # built without a C compiler
    _foe_kernel, _import_error = None, str(error)
else:
    _import_error = ""


def unavailable_reason(clique: int | None = None) -> str | None:
    """Why the kernel cannot run here (for s×s cliques, when given), or None when it can."""
    if problem := build_problem(_foe_kernel, _import_error, API_VERSION, "FoE kernel"):
        return problem
    if clique is not None and clique > _foe_kernel.MAX_CLIQUE:
        return f"the FoE kernel takes cliques up to {_foe_kernel.MAX_CLIQUE}×{_foe_kernel.MAX_CLIQUE}"
    return None


@lru_cache(maxsize=1)
def compiled_clones() -> tuple[Clone, ...]:
    """Every clone the build holds, best first (asks the CPU once)."""
    return clones_of(_foe_kernel)


def active_clone() -> Clone:
    """The clone named by $DENOISE_BENCH_SPARSE_CLONE, else the best one this CPU runs."""
    return choose_clone(compiled_clones())


def padded(images: torch.Tensor) -> torch.Tensor:
    """(B, 1, H, W) images as float32 (B, H, stride) rows with zero slack the kernel may read."""
    batch, _, height, width = images.shape
    stride = -(-(width + SLACK) // SLACK) * SLACK
    buffer = torch.zeros(batch, height, stride, dtype=torch.float32)
    buffer[:, :, :width] = images[:, 0]
    return buffer


class CompiledFoE:
    """A prior's filters laid out for the kernel: J_i, and 2α_i J_i mirrored for the back-projection."""

    def __init__(self, filters: torch.Tensor, alphas: torch.Tensor) -> None:
        self.filters = filters.to(torch.float32).contiguous()
        self.taps = (self.filters.flip(1, 2) * (2 * alphas.to(torch.float32))[:, None, None]).contiguous()
        self.maps, self.clique = self.filters.shape[0], self.filters.shape[-1]

    def _run(self, x: torch.Tensor, y: torch.Tensor | None, out: torch.Tensor, out_stride: int,
             width: int, pulls: list[float], steps: list[float], momenta: list[float]) -> None:
        """Every image's rows, split over the threads; x, y as made by `padded`, out (B, H, ≥ width)."""
        batch, height = x.shape[:2]
        clone = active_clone()
        workers = max(1, min(torch.get_num_threads(), height))
        bounds = [height * worker // workers for worker in range(workers + 1)]
        pool = thread_pool(os.getpid(), workers)
        pending = []
        for b in range(batch):
            addresses = (x[b].data_ptr(), 0 if y is None else y[b].data_ptr(), out[b].data_ptr())
            geometry = (x.stride(1), x.stride(1), out_stride, height, width, self.maps, self.clique,
                        self.filters.data_ptr(), self.taps.data_ptr(), pulls[b], steps[b], momenta[b])
            pending += [pool.submit(_foe_kernel.gradient_rows, clone.index, *addresses, *geometry,
                                    bounds[w], bounds[w + 1]) for w in range(workers) if bounds[w] < bounds[w + 1]]
        for job in pending:
            job.result()

    def gradient(self, x: torch.Tensor) -> torch.Tensor:
        """∇E(x) of (B, 1, H, W) images."""
        batch, _, height, width = x.shape
        out = torch.empty(batch, 1, height, width, dtype=torch.float32)
        self._run(padded(x), None, out[:, 0], width, width, [0.0] * batch, [0.0] * batch, [0.0] * batch)
        return out

    def steps(self, noisy: torch.Tensor, pull: torch.Tensor, step: torch.Tensor,
              momentum: torch.Tensor | float = 0.0) -> Iterator[torch.Tensor]:
        """x_{k+1} = x_k + pull (y − x_k) − step ∇E(x_k) + momentum (x_k − x_{k−1}) from x₋₁ = x₀ = y;
        pull, step and momentum are per image (scalars or (B, 1, 1, 1)). Each iterate is a
        (B, 1, H, W) view, valid until the next."""
        batch, _, _, width = noisy.shape
        y = padded(noisy)
        buffers = [y.clone(), y.clone()]  # x_k, and x_{k−1}, which the kernel overwrites with x_{k+1}
        pulls, steps, momenta = (np.broadcast_to(np.asarray(v, np.float32).reshape(-1), batch).tolist()
                                 for v in (pull, step, momentum))
        while True:
            self._run(buffers[0], y, buffers[1], y.stride(1), width, pulls, steps, momenta)
            buffers.reverse()
            yield buffers[0][:, None, :, :width]
