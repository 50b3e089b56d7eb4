"""Seconds per image for every method on one 512×512 image, with references measured in turn with it.

`python -m bench.timing --out results/timing.md` — convnets are also given in GFLOP/s and as a
fraction of this machine's sgemm rate (the network is 624 5×5 convolutions ≈ 8.2 GFLOP per 512²
image), and so is FoE, with its iteration count at this σ and the time per iteration (each is two
N-filter s×s correlations, ≈ 0.63 GFLOP for 24 5×5 filters on 512²; L-BFGS line-search retries
count as extra work, not extra iterations); every method is also given as a ratio to
scikit-image's `denoise_wavelet` on the same image. Both references are timed in turn with each
method, not once per run: this machine's speed moves by ±15 % within minutes. The clone
(instruction set) that each compiled kernel ran, the convnets' and FoE's, is named.
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import datetime, timezone
from collections.abc import Callable
from functools import partial
from pathlib import Path
from types import ModuleType

import numpy as np
import torch
from skimage import data
from skimage.restoration import denoise_wavelet

from bench.methods import _foe_inference, _sparse_inference
from bench.protocol import noisy_version
from bench.provenance import command_line
from bench.registry import get_method

# The paper's MATLAB timings for a 512×512 image on a 2.16 GHz Core 2 (section 3).
PAPER_SECONDS = {"cn1": 38.86, "cn2": 38.86, "cnblind": 38.86, "foe": 1664.0, "bls_gsm": 51.86, "bls_gsm2": 26.51}
DEFAULT_METHODS = ("cn1", "cn2", "cnblind", "bls_gsm", "bls_gsm2", "foe", "wavelet", "tv", "nlm", "bm3d")


def best_seconds_in_turn(calls: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Fastest of `repeats` timed calls of each of `calls`, taken in turn (one of each per round,
    after one warm-up of each): the least disturbed by other load. This machine's speed moves by
    ±15 % within minutes (other tenants of the host; sgemm measured 80–164 GFLOP/s within one
    run), so a ratio of two timings is fair only when both come from the same minutes."""
    for call in calls.values():
        call()
    best = dict.fromkeys(calls, float("inf"))
    for _ in range(repeats):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def sgemm_call(size: int) -> Callable[[], object]:
    """One single-precision size × size matrix multiply with torch's current thread count."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    return lambda: a @ b


def sgemm_gflops(seconds: float, size: int) -> float:
    return 2 * size**3 / seconds / 1e9


def convnet_gflop(method, shape: tuple[int, int], sigma: float) -> float:
    """Useful work of one forward pass, as the paper counts it: convolutions × 25 MACs × pixels."""
    net = method.network(None if method.blind else sigma)
    return net.convolution_count() * 25 * 2 * shape[0] * shape[1] / 1e9


def foe_work(method, shape: tuple[int, int], sigma: float) -> tuple[int, float]:
    """FoE's iteration count at σ and the useful work of one iteration (GFLOP): a forward and a
    back-projection correlation with every filter."""
    filters, clique = len(method.model.alphas), method.model.clique
    return method.schedule(sigma).iterations, 2 * filters * clique**2 * 2 * shape[0] * shape[1] / 1e9


def test_image(size: int = 512) -> np.ndarray:
    """camera (512×512, bundled with scikit-image), cropped or tiled to `size`."""
    image = np.asarray(data.camera(), np.float64)
    return np.resize(image, (size, size)) if image.shape != (size, size) else image


def timing_rows(methods: list[str], size: int, sigma: float, repeats: int, sgemm_size: int = 2048) -> list[dict]:
    """A header (the kernels' clones, the range of the references' measurements) and one row per
    method; each method's ratios use the sgemm and wavelet timings taken in turn with it."""
    image = test_image(size)
    noisy = noisy_version(image, "camera", "timing", sigma, 0)
    references = {
        "sgemm": sgemm_call(sgemm_size),
        "wavelet": lambda: denoise_wavelet(noisy / 255, sigma=sigma / 255, method="BayesShrink", mode="soft"),
    }
    rows = []
    for name in methods:
        method = get_method(name)
        best = best_seconds_in_turn(
            {"method": partial(method.denoise, noisy, None if method.blind else sigma), **references}, repeats)
        seconds, sgemm = best["method"], sgemm_gflops(best["sgemm"], sgemm_size)
        row = {
            "method": name,
            "seconds": seconds,
            "paper_matlab_seconds": PAPER_SECONDS.get(name),
            "skimage_wavelet_seconds": best["wavelet"],
            "x_skimage_wavelet": seconds / best["wavelet"],
            "sgemm_gflop_per_s": sgemm,
        }
        if name.startswith("cn"):
            row["gflop_per_s"] = convnet_gflop(method, image.shape, sigma) / seconds
        if name == "foe":
            iterations, gflop = foe_work(method, image.shape, sigma)
            row["iterations"], row["ms_per_iteration"] = iterations, 1000 * seconds / iterations
            row["gflop_per_s"] = gflop * iterations / seconds
        if "gflop_per_s" in row:
            row["fraction_of_sgemm"] = row["gflop_per_s"] / sgemm
        rows.append(row)
    header = {"sgemm_size": sgemm_size,
              "sparse_kernel": kernel_clone(_sparse_inference, _sparse_inference.unavailable_reason()),
              "foe_kernel": kernel_clone(_foe_inference, _foe_inference.unavailable_reason())}
    return [header, *rows]


def kernel_clone(kernel: ModuleType, reason: str | None) -> str:
    """Which build of a compiled kernel ran (an instruction set, or why none did); `kernel` is its
    Python side (methods/_sparse_inference.py, methods/_foe_inference.py)."""
    if reason is not None:
        return f"none ({reason})"
    runnable = [clone.name for clone in kernel.compiled_clones() if clone.cpu_runs]
    return f"{kernel.active_clone().name} clone (this CPU runs: {', '.join(runnable)})"


def cell(value: float | None, spec: str) -> str:
    return "–" if value is None else format(value, spec)


def to_markdown(rows: list[dict], size: int, sigma: float) -> str:
    header, *methods = rows
    sgemm = [row["sgemm_gflop_per_s"] for row in methods]
    wavelet = [row["skimage_wavelet_seconds"] for row in methods]
    lines = [
        f"Image {size}×{size} (camera), σ = {sigma:g}; torch threads = {torch.get_num_threads()}, "
        f"CPU count = {os.cpu_count()}; best of repeated runs.",
        f"References, timed in turn with each method (best of the same rounds): sgemm "
        f"({header['sgemm_size']}², torch) {min(sgemm):.1f}–{max(sgemm):.1f} GFLOP/s; skimage "
        f"denoise_wavelet (BayesShrink) {min(wavelet):.3f}–{max(wavelet):.3f} s. Each row's ratios use its own.",
        f"Convnets' sparse kernel: {header['sparse_kernel']}. FoE's kernel: {header['foe_kernel']}.",
        "",
        "| method | seconds | paper (MATLAB) s | × skimage wavelet | GFLOP/s | sgemm alongside, GFLOP/s "
        "| fraction of sgemm | iterations | ms per iteration |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in methods:
        cells = [
            row["method"],
            cell(row["seconds"], ".3f"),
            cell(row["paper_matlab_seconds"], "g"),
            cell(row["x_skimage_wavelet"], ".1f"),
            cell(row.get("gflop_per_s"), ".1f"),
            cell(row["sgemm_gflop_per_s"], ".1f"),
            cell(row.get("fraction_of_sgemm"), ".0%"),
            cell(row.get("iterations"), "d"),
            cell(row.get("ms_per_iteration"), ".1f"),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", nargs="+", default=list(DEFAULT_METHODS))
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--sigma", type=float, default=50.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    text = to_markdown(timing_rows(args.methods, args.size, args.sigma, args.repeats), args.size, args.sigma)
    text = f"Command: `{command_line()}` (run {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC)\n\n{text}"
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)


if __name__ == "__main__":
    main()
