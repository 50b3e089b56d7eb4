"""Test-only methods and dataset, loaded the way a user loads their own: `plugins=[bench_test_plugins]`
with this folder on PYTHONPATH, and `hydra.searchpath=[file://<this folder>/conf]` for their yamls.

- `synthetic`: n smooth size × size images (no files, instant).
- `sleepy`: the identity after `delay` seconds; appends a line per call to $BENCH_TEST_CALLS, so a
  test can count denoise calls across processes.
- `broken`: every `fail_every`-th call goes wrong in the chosen way (wrong shape, NaN, exception,
  or changing its input array), the other calls return the input.
"""

from __future__ import annotations

import os
import time

import numpy as np

from bench import register_dataset, register_method


class SyntheticDataset:
    name = "synthetic"

    def __init__(self, n: int, size: int) -> None:
        self._n, self._size = n, size

    def ids(self) -> list[str]:
        return [f"img{index:02d}" for index in range(self._n)]

    def load(self, image_id: str) -> np.ndarray:
        index = int(image_id[3:])
        y, x = np.mgrid[0 : self._size, 0 : self._size] / self._size
        return 127.5 + 100 * np.sin(2 * np.pi * ((index + 1) * x + 0.5 * y))


@register_dataset("synthetic")
def synthetic(n: int = 4, size: int = 32) -> SyntheticDataset:
    return SyntheticDataset(n, size)


class Sleepy:
    blind = False

    def __init__(self, delay: float) -> None:
        self._delay = delay

    def denoise(self, noisy: np.ndarray, sigma: float | None) -> np.ndarray:
        calls = os.environ.get("BENCH_TEST_CALLS")
        if calls:
            with open(calls, "a") as handle:
                handle.write(f"{os.getpid()}\n")
        time.sleep(self._delay)
        return noisy


@register_method("sleepy")
def sleepy(delay: float = 0.0) -> Sleepy:
    return Sleepy(delay)


class Broken:
    blind = True

    def __init__(self, mode: str, fail_every: int) -> None:
        self._mode, self._fail_every, self._calls = mode, fail_every, 0

    def denoise(self, noisy: np.ndarray, sigma: float | None) -> np.ndarray:
        self._calls += 1
        if self._calls % self._fail_every:
            return noisy
        if self._mode == "shape":
            return noisy[:-1]
        if self._mode == "nan":
            return np.full_like(noisy, np.nan)
        if self._mode == "inplace":
            noisy += 1.0
            return noisy.copy()
        raise RuntimeError("deliberate failure")


@register_method("broken")
def broken(mode: str = "nan", fail_every: int = 1) -> Broken:
    return Broken(mode, fail_every)
