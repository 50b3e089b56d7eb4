"""Field of Experts denoising (Roth & Black, CVPR 2005; IJCV 82(2), 2009).

The prior is a product of 24 Student-t experts on 5×5 cliques,
E(x) = Σ_cliques Σ_i α_i log(1 + ½ (J_iᵀ x_c)²), p(x) ∝ exp(−E(x)); the shipped parameters are
van der Maaten's 2009 model of that form (methods/weights/foe_5x5.md), not Roth & Black's own.
Denoising is their gradient ascent on log p(x) + λ log p(y | x), started at the noisy image y:

    x ← x + η [ Σ_i J_i⁻ ∗ ψ_i(J_i ∗ x) + λ/σ² (y − x) ],   ψ_i(u) = −α_i u / (1 + u²/2),

on the 0–255 scale, with cliques only where they fit inside the image (Roth's code: "valid"
filtering, responses zero-padded, then "same" filtering with the mirrored filter — the exact
gradient of the energy of the cliques inside the image). λ, η and the number of iterations per σ
come from the grid search of `python -m bench.foe_search`, stored in conf/method/foe.yaml.

Speed: all 24 filter responses come from one convolution; the back-projection is one matrix
product onto the 25 clique taps followed by 25 shifted additions (much faster on a CPU than a
24→1 transposed convolution); both run on blocks of 64 rows, so the responses stay in cache.
float32 throughout: the iterates move by many grey levels, so float32's 1e-7 relative error is
far below what PSNR can see.
"""

from __future__ import annotations

import hashlib
import math
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from itertools import islice
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import yaml

from bench.errors import BenchError
from bench.protocol import validate_image, validate_sigma
from bench.registry import register_method

WEIGHTS = Path(__file__).with_name("weights") / "foe_5x5.npz"
WEIGHTS_SHA256 = "f34149fa2a92a15324f84b508be998bd480f580288282d2ab5f30c42f68d5522"
CLIQUE = 5
STRIP_ROWS = 64  # response rows per block: 24 maps × 64 rows × 508 × 4 B ≈ 3 MB


@dataclass(frozen=True)
class FoEPrior:
    """Filters J_i as 5×5 arrays (J_iᵀ x_c = Σ_uv filters[i, u, v] · x[r+u, c+v]) and weights α_i."""

    filters: np.ndarray
    alphas: np.ndarray


def load_prior(path: Path = WEIGHTS, sha256: str | None = WEIGHTS_SHA256) -> FoEPrior:
    """The shipped prior, checked against its recorded SHA-256 (None skips the check)."""
    try:
        content = Path(path).read_bytes()
    except OSError as error:
        raise BenchError(f"FoE prior {path} cannot be read: {error.strerror or error}") from None
    if sha256 is not None and hashlib.sha256(content).hexdigest() != sha256:
        raise BenchError(f"FoE prior {path} is corrupt: its SHA-256 is not the recorded {sha256[:12]}…")
    try:
        with np.load(path) as arrays:
            filters, alphas = arrays["filters"].astype(np.float64), arrays["alphas"].astype(np.float64)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as error:
        raise BenchError(f"FoE prior {path} is not a valid parameter file: {error}") from None
    if filters.ndim != 3 or filters.shape[1:] != (CLIQUE, CLIQUE) or alphas.shape != filters.shape[:1]:
        raise BenchError(f"FoE prior {path}: expected filters N×5×5 and N alphas, got "
                         f"{filters.shape} and {alphas.shape}")
    return FoEPrior(filters, alphas)


class FieldOfExperts:
    """The FoE energy and its gradient on batches of images shaped (B, 1, H, W)."""

    def __init__(self, prior: FoEPrior, dtype: torch.dtype = torch.float32) -> None:
        filters = torch.as_tensor(prior.filters, dtype=dtype)
        self.dtype = dtype
        self.alphas = torch.as_tensor(prior.alphas, dtype=dtype)
        self.weight = filters[:, None]  # (N, 1, 5, 5): conv2d correlates, so J_i ∗ x = J_iᵀ x_c
        # Back-projection onto the 25 clique taps with 2α folded in: taps[k, i] = 2 α_i J_i[k].
        self.taps = (filters.reshape(len(filters), -1) * (2 * self.alphas)[:, None]).T.contiguous()

    def responses(self, x: torch.Tensor) -> torch.Tensor:
        """J_iᵀ x_c for every clique inside the image: (B, N, H−4, W−4), one batched convolution."""
        return F.conv2d(x, self.weight)

    def energy(self, x: torch.Tensor) -> torch.Tensor:
        """E(x) per image, shape (B,)."""
        r = self.responses(x)
        return (torch.log1p(0.5 * r * r).sum(dim=(2, 3)) * self.alphas).sum(dim=1)

    def gradient(self, x: torch.Tensor, strip: int = STRIP_ROWS) -> torch.Tensor:
        """∇E(x) = Σ_i J_i⁻ ∗ α_i φ(J_i ∗ x), φ(u) = u / (1 + u²/2): the adjoint of 'valid' filtering.
        Computed `strip` response rows at a time so the 24 response maps stay in cache."""
        batch, _, height, width = x.shape
        h, w = height - CLIQUE + 1, width - CLIQUE + 1
        grad = torch.zeros_like(x)
        for top in range(0, h, strip):
            rows = min(strip, h - top)
            r = self.responses(x[:, :, top:top + rows + CLIQUE - 1])
            r.div_(torch.square(r).add_(2.0))  # φ(u) / 2 = u / (2 + u²); the 2 is in self.taps
            per_tap = torch.matmul(self.taps, r.view(batch, -1, rows * w)).view(batch, -1, rows, w)
            for k in range(CLIQUE * CLIQUE):
                u, v = divmod(k, CLIQUE)
                grad[:, 0, top + u:top + u + rows, v:v + w] += per_tap[:, k]
        return grad


def posterior_energy(model: FieldOfExperts, x: torch.Tensor, noisy: torch.Tensor,
                     sigma: float, lam: torch.Tensor | float) -> torch.Tensor:
    """−log p(x) − λ log p(y | x) up to constants, per image: E(x) + λ ‖y − x‖² / (2σ²)."""
    data_term = ((noisy - x) ** 2).sum(dim=(1, 2, 3)) / (2.0 * sigma**2)
    return model.energy(x) + torch.as_tensor(lam, dtype=x.dtype).reshape(-1) * data_term


def ascend(model: FieldOfExperts, noisy: torch.Tensor, sigma: float,
           lam: torch.Tensor | float, step: torch.Tensor | float) -> Iterator[torch.Tensor]:
    """The iterates x₁, x₂, … of Roth & Black's gradient ascent from x₀ = y (one tensor, updated
    in place). lam and step may be per-image tensors of shape (B, 1, 1, 1) for grid searches."""
    x = noisy.clone()
    descent = -torch.as_tensor(step, dtype=x.dtype)
    pull = -descent * torch.as_tensor(lam, dtype=x.dtype) / sigma**2
    while True:
        grad = model.gradient(x)
        x.addcmul_(noisy - x, pull).addcmul_(grad, descent)
        del grad  # holding it across the yield makes the next step's large buffers slower to get
        yield x


@dataclass(frozen=True)
class Schedule:
    """λ, step size η and number of iterations for one noise level."""

    lam: float
    step_size: float
    iterations: int


def run(model: FieldOfExperts, noisy: torch.Tensor, sigma: float, plan: Schedule) -> torch.Tensor:
    """The estimate after plan.iterations steps of `ascend`."""
    x = noisy
    for x in islice(ascend(model, noisy, sigma, plan.lam, plan.step_size), plan.iterations):
        pass
    return x


def tuned_config_path() -> Path:
    return Path(str(resources.files("bench.conf") / "method" / "foe.yaml"))


def load_tuned(path: Path | None = None) -> dict[float, Schedule]:
    """The per-σ values chosen by `python -m bench.foe_search` (the `tuned:` block of foe.yaml)."""
    path = path or tuned_config_path()
    try:
        table = (yaml.safe_load(Path(path).read_text()) or {}).get("tuned") or {}
        return {float(sigma): Schedule(float(row["lam"]), float(row["step_size"]), int(row["iterations"]))
                for sigma, row in table.items()}
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError) as error:
        raise BenchError(f"cannot read the FoE per-σ settings in {path}: {error}") from None


def schedule_for(sigma: float, tuned: dict[float, Schedule]) -> Schedule:
    """The tuned values at σ: linear in log σ between tuned noise levels (log λ, log η and the
    iteration count), the nearest tuned level outside their range."""
    if not tuned:
        raise BenchError("no tuned FoE settings: run `python -m bench.foe_search` or pass lam, "
                         "step_size and iterations")
    levels = sorted(tuned)
    position = float(np.interp(math.log(sigma), np.log(levels), np.arange(len(levels))))
    low = int(math.floor(position))
    high, t = min(low + 1, len(levels) - 1), position - low
    a, b = tuned[levels[low]], tuned[levels[high]]
    if t == 0:
        return a
    return Schedule(
        lam=math.exp((1 - t) * math.log(a.lam) + t * math.log(b.lam)),
        step_size=math.exp((1 - t) * math.log(a.step_size) + t * math.log(b.step_size)),
        iterations=round((1 - t) * a.iterations + t * b.iterations),
    )


class FoEDenoiser:
    """Non-blind: needs σ. Options left None take the tuned per-σ value."""

    blind = False

    def __init__(self, iterations: int | None = None, step_size: float | None = None,
                 lam: float | None = None) -> None:
        for name, value in (("iterations", iterations), ("step_size", step_size), ("lam", lam)):
            if value is not None and not (np.isfinite(value) and value > 0):
                raise BenchError(f"foe option {name} must be > 0, got {value}")
        if iterations is not None and int(iterations) != iterations:
            raise BenchError(f"foe option iterations must be an integer, got {iterations}")
        self.overrides = {"iterations": iterations, "step_size": step_size, "lam": lam}
        self.model = FieldOfExperts(load_prior())
        self.tuned = load_tuned() if None in self.overrides.values() else {}

    def schedule(self, sigma: float) -> Schedule:
        base = schedule_for(sigma, self.tuned) if None in self.overrides.values() else None
        values = {name: value if value is not None else getattr(base, name)
                  for name, value in self.overrides.items()}
        return Schedule(float(values["lam"]), float(values["step_size"]), int(values["iterations"]))

    def denoise(self, noisy: np.ndarray, sigma: float | None) -> np.ndarray:
        validate_sigma(sigma, self.blind, "foe")
        image = validate_image(noisy, "noisy image")
        if min(image.shape) < CLIQUE:
            raise BenchError(f"foe needs an image of at least {CLIQUE}×{CLIQUE} pixels, got {image.shape}")
        plan = self.schedule(float(sigma))
        y = torch.as_tensor(image, dtype=self.model.dtype)[None, None]
        return run(self.model, y, float(sigma), plan)[0, 0].double().numpy()


@register_method("foe")
def make_foe(iterations: int | None = None, step_size: float | None = None,
             lam: float | None = None) -> FoEDenoiser:
    return FoEDenoiser(iterations=iterations, step_size=step_size, lam=lam)
