"""Thread pools for the compiled kernels, which release the GIL so that Python threads run them on
several cores at once (the convnets' sparse kernel, BLS-GSM's subbands)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache


@lru_cache(maxsize=4)
def thread_pool(process: int, workers: int) -> ThreadPoolExecutor:
    """One pool per process and thread count. Keyed by process id because a forked child inherits
    the pool object but not its threads."""
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bench-kernel")
