"""The contract a denoiser must meet, checked on small synthetic images in a few seconds.

The harness calls `method.denoise(noisy, sigma)` on float64 images of any size, with σ for a
non-blind method and None for a blind one, and scores the result as it is. So a method must
return a finite float image of the input's shape, leave its input alone (the same noisy array is
scored against), give the same output for the same input (else a resumed run mixes two answers),
work on odd and tiny sizes (crops and thumbnails are datasets too), and, if non-blind, refuse a
σ it cannot use rather than silently denoise with it. Each check is one line of the report; the
timing and PSNR lines are information, not pass/fail.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bench.protocol import add_noise, psnr
from bench.registry import Denoiser

SIZE = (64, 64)
ODD_SIZE = (37, 53)
TINY_SIZE = (8, 8)
TIMING_SIZE = (256, 256)
REPEAT_TOLERANCE = 1e-6  # on 0–255: room for floating-point summation order in thread pools


class ContractViolation(Exception):
    """A check's failure, with the reason shown to the plugin author."""


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool | None  # None: information, not a check
    detail: str

    def line(self) -> str:
        status = {True: "PASS", False: "FAIL", None: "INFO"}[self.passed]
        return f"{status}  {self.name}: {self.detail}"


def synthetic_image(height: int, width: int) -> np.ndarray:
    """A clean test image on 0–255 with smooth shading, a sharp-edged disc and fine texture."""
    y, x = np.mgrid[0:height, 0:width] / max(height, width, 2)
    disc = ((y - 0.5) ** 2 + (x - 0.4) ** 2 < 0.09).astype(float)
    return 60 + 80 * x + 60 * disc + 25 * np.sin(2 * np.pi * 6 * (x + y))


def noisy_image(shape: tuple[int, int], sigma: float) -> tuple[np.ndarray, np.ndarray]:
    clean = synthetic_image(*shape)
    return clean, add_noise(clean, sigma, rng_seed=shape[0] * 1000 + shape[1])


def check_method(method: Denoiser, sigma: float = 25.0) -> list[CheckResult]:
    """Every check on `method` (σ is the noise level of the synthetic images)."""
    interface = _run("interface", lambda: _interface(method))
    if not interface.passed:
        return [interface]
    given = None if method.blind else sigma
    checks: list[tuple[str, Callable[[], str]]] = [
        ("output shape and dtype", lambda: _shape_and_dtype(method, SIZE, sigma, given)),
        ("finite values", lambda: _finite(method, sigma, given)),
        ("input not modified", lambda: _input_untouched(method, sigma, given)),
        ("same output twice", lambda: _repeatable(method, sigma, given)),
        (f"odd size {ODD_SIZE[0]}×{ODD_SIZE[1]}", lambda: _shape_and_dtype(method, ODD_SIZE, sigma, given)),
        (f"tiny size {TINY_SIZE[0]}×{TINY_SIZE[1]}", lambda: _shape_and_dtype(method, TINY_SIZE, sigma, given)),
    ]
    if method.blind:
        checks.append(("blind: ignores σ", lambda: _ignores_sigma(method, sigma)))
    else:
        checks.append(("non-blind: refuses σ ≤ 0 or None", lambda: _refuses_bad_sigma(method, sigma)))
    results = [interface, *(_run(name, check) for name, check in checks)]
    results += _information(method, sigma, given)
    return results


def _run(name: str, check: Callable[[], str]) -> CheckResult:
    try:
        return CheckResult(name, True, check())
    except ContractViolation as violation:
        return CheckResult(name, False, str(violation))
    except Exception as error:  # noqa: BLE001 — a crashing method fails the check, named
        return CheckResult(name, False, f"denoise raised {type(error).__name__}: {' '.join(str(error).split())}")


def _interface(method: object) -> str:
    if not isinstance(getattr(method, "blind", None), bool):
        raise ContractViolation("needs a class attribute `blind = True` or `blind = False`")
    if not callable(getattr(method, "denoise", None)):
        raise ContractViolation("needs a method `denoise(noisy, sigma)`")
    return f"blind = {method.blind}" + ("" if method.blind else " (is given σ)")


def _output(method: Denoiser, noisy: np.ndarray, given: float | None) -> np.ndarray:
    output = method.denoise(noisy, given)
    if not isinstance(output, np.ndarray):
        raise ContractViolation(f"returned {type(output).__name__}, expected a numpy array")
    return output


def _shape_and_dtype(method: Denoiser, shape: tuple[int, int], sigma: float, given: float | None) -> str:
    _, noisy = noisy_image(shape, sigma)
    output = _output(method, noisy, given)
    if output.shape != noisy.shape:
        raise ContractViolation(f"returned shape {output.shape} for input shape {noisy.shape}")
    if not np.issubdtype(output.dtype, np.floating):
        raise ContractViolation(f"returned dtype {output.dtype}, expected floats on 0–255 (rounding costs PSNR)")
    if not np.all(np.isfinite(output)):
        raise ContractViolation(f"{_count_non_finite(output)} at this size")
    return f"{output.shape} {output.dtype}"


def _finite(method: Denoiser, sigma: float, given: float | None) -> str:
    _, noisy = noisy_image(SIZE, sigma)
    output = _output(method, noisy, given)
    if not np.all(np.isfinite(output)):
        raise ContractViolation(_count_non_finite(output))
    return f"range {output.min():.1f} … {output.max():.1f}"


def _count_non_finite(output: np.ndarray) -> str:
    values = np.asarray(output, np.float64)
    return (f"{int(np.isnan(values).sum())} NaN and {int(np.isinf(values).sum())} infinite values "
            f"among {values.size}")


def _input_untouched(method: Denoiser, sigma: float, given: float | None) -> str:
    _, noisy = noisy_image(SIZE, sigma)
    before = noisy.copy()
    _output(method, noisy, given)
    if not np.array_equal(noisy, before):
        changed = int(np.sum(noisy != before))
        raise ContractViolation(f"denoise changed {changed} of {noisy.size} pixels of its input array")
    return "input array unchanged"


def _repeatable(method: Denoiser, sigma: float, given: float | None) -> str:
    if getattr(method, "deterministic", True) is False:
        return "declared non-deterministic (deterministic = False): not checked"
    _, noisy = noisy_image(SIZE, sigma)
    first = _output(method, noisy.copy(), given)
    second = _output(method, noisy.copy(), given)
    if first.shape != second.shape:
        raise ContractViolation(f"shapes differ between two calls: {first.shape}, {second.shape}")
    difference = float(np.max(np.abs(np.asarray(first, np.float64) - second)))
    if not difference <= REPEAT_TOLERANCE:
        raise ContractViolation(f"two calls on the same input differ by up to {difference:.3g} "
                                "(declare `deterministic = False` if that is intended)")
    return f"max difference {difference:.2g}"


def _ignores_sigma(method: Denoiser, sigma: float) -> str:
    _, noisy = noisy_image(SIZE, sigma)
    without = _output(method, noisy.copy(), None)
    try:
        told = _output(method, noisy.copy(), sigma)
    except Exception:  # noqa: BLE001 — refusing a σ it is never given is fine
        return "works with σ = None (refuses a σ, which the harness never passes)"
    if not np.allclose(without, told, rtol=0, atol=REPEAT_TOLERANCE, equal_nan=True):
        raise ContractViolation(f"output changes when σ = {sigma:g} is passed (blind = True, "
                                "so benchmarks never pass it): set blind = False to be given σ")
    return "same output with σ = None and with σ given"


def _refuses_bad_sigma(method: Denoiser, sigma: float) -> str:
    _, noisy = noisy_image(SIZE, sigma)
    accepted = []
    for bad in (0.0, -sigma, None):
        try:
            method.denoise(noisy.copy(), bad)
        except Exception:  # noqa: BLE001 — any exception is a refusal
            continue
        accepted.append("None" if bad is None else f"{bad:g}")
    if accepted:
        raise ContractViolation(f"denoised with σ = {', '.join(accepted)} instead of raising an error "
                                "(bench.protocol.validate_sigma does it in one line)")
    return "raises for σ = 0, negative and None"


def _information(method: Denoiser, sigma: float, given: float | None) -> list[CheckResult]:
    """Time per megapixel and PSNR on a 256×256 synthetic image (skipped if the method fails there)."""
    clean, noisy = noisy_image(TIMING_SIZE, sigma)
    try:
        start = time.perf_counter()
        output = method.denoise(noisy.copy(), given)
        seconds = time.perf_counter() - start
        score = psnr(clean, np.asarray(output, np.float64))
    except Exception as error:  # noqa: BLE001 — already reported by the checks above
        return [CheckResult("time per megapixel", None, f"not measured: {type(error).__name__}: {error}")]
    megapixels = noisy.size / 1e6
    return [
        CheckResult("time per megapixel", None,
                    f"{seconds / megapixels:.3g} s (one {TIMING_SIZE[0]}×{TIMING_SIZE[1]} image in {seconds:.3g} s)"),
        CheckResult("PSNR on a synthetic image", None,
                    f"noisy {psnr(clean, noisy):.2f} dB → {score:.2f} dB at σ = {sigma:g}"),
    ]
