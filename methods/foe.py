"""Field of Experts denoising (Roth & Black, CVPR 2005; IJCV 82(2), 2009).

The prior is a product of Student-t experts on s×s cliques,
E(x) = Σ_cliques Σ_i α_i log(1 + ½ (J_iᵀ x_c)²), p(x) ∝ exp(−E(x)), on the 0–255 scale. By
default it is Roth & Black's own 5×5 model with 24 experts (`prior: roth5x5`); their 3×3 model
(`roth3x3`) and van der Maaten's 2009 5×5 model (`vandermaaten`, the earlier default) are options
(methods/_foe_priors.py). Denoising is MAP estimation from x₀ = y,

    minimise  E(x) + ω ‖x − y‖² / (2σ²),

stopped at a tuned iteration count: the energy is non-convex and from a noisy start the best
estimate comes before convergence. Three optimisers: `gradient`, the papers' plain steps
x ← x − η [∇E(x) + ω (x − y)/σ²] (Roth & Black 2005; Jain & Seung 2008 call it gradient ascent on
log p(x) + ω log p(y | x)); `momentum`, the same steps plus β (x_k − x_{k−1}) (Polyak's heavy
ball), which reaches the plain steps' PSNR in 30–40 % fewer iterations; and `lbfgs`
(limited-memory BFGS with Armijo backtracking, methods/_foe_lbfgs.py), which lowers the energy far
faster but, stopped at its own best iteration, denoised worse on the training crops (docs/foe.md).
With Roth & Black's prior the tuned η is far above 2/L: the steps do not descend monotonically,
and that is what denoises best. ω, η, β and the iteration count per σ come from the grid search
of `python -m bench.foe_search` on training crops, stored in conf/method/foe.yaml.

Cliques count only where they fit inside the image (Roth's code: "valid" filtering, responses
zero-padded, then "same" filtering with the mirrored filter — the exact gradient of the energy
of the cliques inside the image).

Speed: float32 gradients, and whole gradient steps, run in a compiled kernel
(methods/_foe_kernel.c, through methods/_foe_inference.py), which computes the N responses
and φ for a few rows at a time into a ring of rows that stays in cache, and back-projects them,
summed over the filters in registers (its header says how it blocks rows); one kernel call is one
step x ← x + ω/σ²·η (y − x) − η ∇E(x) (+ β (x − x_prev)).
Rows are split over torch's threads, with results independent of the split; the clone for the
CPU's instruction set (AVX-512, AVX2 + FMA, plain) is picked at load. Alone on a 2-core AMD EPYC
(Zen 3, AVX2), a 512² step took 6.0–7.8 ms on two threads in two runs, 64–68 % of the sgemm
rate timed in turn with it; on a 2-core Intel Xeon (AVX-512) 4.4–5.0 ms, 42–47 % (results/timing.md;
the torch path: ≈ 60 ms per step on one thread, docs/foe.md). Where the
kernel is not built, and in float64, the gradient comes from torch: one convolution for all filter
responses, the back-projection one matrix product onto the s² clique taps and s² shifted
additions, on blocks of 64 rows. L-BFGS's energies
always come from torch (accumulated in float64). The tuned steps are long and not monotone, so
rounding differences grow over the iterations: any change of arithmetic (float32 or float64,
torch or kernel) moves a whole image's PSNR by ~0.005 dB, a 64² crop's by up to ~0.1 dB.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from importlib import resources
from itertools import islice
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import yaml

from bench.errors import BenchError
from bench.methods._foe_inference import CompiledFoE, unavailable_reason
from bench.methods._foe_lbfgs import lbfgs_iterates
from bench.methods._foe_priors import PRIORS, FoEPrior, load_prior
from bench.protocol import validate_image, validate_sigma
from bench.registry import register_method

STRIP_ROWS = 64  # response rows per block: 24 maps × 64 rows × 508 × 4 B ≈ 3 MB
DEFAULT_PRIOR = "roth5x5"
DEFAULT_SOLVER = "momentum"


class FieldOfExperts:
    """The FoE energy and its gradient on batches of images shaped (B, 1, H, W)."""

    def __init__(self, prior: FoEPrior, dtype: torch.dtype = torch.float32, compiled: bool = True) -> None:
        filters = torch.as_tensor(prior.filters, dtype=dtype)
        self.dtype = dtype
        self.clique = prior.clique
        self.alphas = torch.as_tensor(prior.alphas, dtype=dtype)
        self.weight = filters[:, None]  # (N, 1, s, s): conv2d correlates, so J_i ∗ x = J_iᵀ x_c
        # Back-projection onto the s² clique taps with 2α folded in: taps[k, i] = 2 α_i J_i[k].
        self.taps = (filters.reshape(len(filters), -1) * (2 * self.alphas)[:, None]).T.contiguous()
        # float32 gradients go through the compiled kernel where it runs (float64 stays in torch).
        use_kernel = compiled and dtype == torch.float32 and unavailable_reason(prior.clique) is None
        self.kernel = CompiledFoE(filters, self.alphas) if use_kernel else None

    def responses(self, x: torch.Tensor) -> torch.Tensor:
        """J_iᵀ x_c for every clique inside the image: (B, N, H−s+1, W−s+1), one batched convolution."""
        return F.conv2d(x, self.weight)

    def energy(self, x: torch.Tensor) -> torch.Tensor:
        """E(x) per image, shape (B,)."""
        r = self.responses(x)
        return (torch.log1p(0.5 * r * r).sum(dim=(2, 3)) * self.alphas).sum(dim=1)

    def gradient(self, x: torch.Tensor, strip: int = STRIP_ROWS) -> torch.Tensor:
        """∇E(x) = Σ_i J_i⁻ ∗ α_i φ(J_i ∗ x), φ(u) = u / (1 + u²/2): the adjoint of 'valid' filtering."""
        if self.kernel is not None:
            return self.kernel.gradient(x)
        return self._pass(x, strip, with_energy=False, with_gradient=True)[1]

    def energy_and_gradient(self, x: torch.Tensor, strip: int = STRIP_ROWS) -> tuple[torch.Tensor, torch.Tensor]:
        """(E(x) per image as float64 (B,), ∇E(x)): from one pass over the responses in torch; with the
        kernel, its gradient and a torch pass for the energy alone."""
        if self.kernel is not None:
            return self._pass(x, strip, with_energy=True, with_gradient=False)[0], self.kernel.gradient(x)
        return self._pass(x, strip, with_energy=True, with_gradient=True)

    def _pass(self, x: torch.Tensor, strip: int, with_energy: bool,
              with_gradient: bool) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """`strip` response rows at a time, so the N response maps stay in cache."""
        batch, _, height, width = x.shape
        s = self.clique
        h, w = height - s + 1, width - s + 1
        grad = torch.zeros_like(x) if with_gradient else None
        energy = torch.zeros(batch, dtype=torch.float64) if with_energy else None
        for top in range(0, h, strip):
            rows = min(strip, h - top)
            r = self.responses(x[:, :, top:top + rows + s - 1])
            squares = torch.square(r)
            if energy is not None:  # log, not log1p: 2× faster here, and 1 + u²/2 ≥ 1 loses nothing
                logs = torch.log(squares.mul(0.5).add_(1.0)).sum(dim=(2, 3))
                energy += (logs.double() * self.alphas.double()).sum(dim=1)
            if grad is None:
                continue
            r.div_(squares.add_(2.0))  # φ(u) / 2 = u / (2 + u²); the 2 is in self.taps
            per_tap = torch.matmul(self.taps, r.view(batch, -1, rows * w)).view(batch, -1, rows, w)
            for k in range(s * s):
                u, v = divmod(k, s)
                grad[:, 0, top + u:top + u + rows, v:v + w] += per_tap[:, k]
        return energy, grad


def posterior_energy(model: FieldOfExperts, x: torch.Tensor, noisy: torch.Tensor,
                     sigma: float, omega: torch.Tensor | float) -> torch.Tensor:
    """−log p(x | y) up to constants, per image: E(x) + ω ‖x − y‖² / (2σ²)."""
    data_term = ((noisy - x) ** 2).sum(dim=(1, 2, 3)) / (2.0 * sigma**2)
    return model.energy(x) + torch.as_tensor(omega, dtype=x.dtype).reshape(-1) * data_term


def gradient_steps(model: FieldOfExperts, noisy: torch.Tensor, sigma: float, omega: torch.Tensor | float,
                   step: torch.Tensor | float, momentum: torch.Tensor | float = 0.0) -> Iterator[torch.Tensor]:
    """The iterates x₁, x₂, … of gradient steps from x₀ = y, x_{k+1} = x_k − η ∇U(x_k) + β (x_k − x_{k−1})
    (x₋₁ = y): β = 0 is the papers' plain step, β > 0 Polyak's heavy-ball momentum. Each iterate
    may be overwritten by the steps after it. omega, step and momentum may be per-image tensors of
    shape (B, 1, 1, 1) for grid searches."""
    x = noisy.clone()
    descent = -torch.as_tensor(step, dtype=x.dtype)
    pull = -descent * torch.as_tensor(omega, dtype=x.dtype) / sigma**2
    beta = torch.as_tensor(momentum, dtype=x.dtype)
    if model.kernel is not None:  # the same steps, each one kernel call (a view, valid until the next)
        yield from model.kernel.steps(noisy, pull, -descent, beta)
        return
    previous = x.clone() if bool((beta != 0).any()) else None  # plain steps keep no x_{k−1}
    while True:
        grad = model.gradient(x)
        if previous is None:  # in place
            x.addcmul_(noisy - x, pull).addcmul_(grad, descent)
        else:
            previous, x = x, x.addcmul(noisy - x, pull).addcmul_(grad, descent).addcmul_(x - previous, beta)
        del grad  # holding it across the yield makes the next step's large buffers slower to get
        yield x


def lbfgs_steps(model: FieldOfExperts, noisy: torch.Tensor, sigma: float,
                omega: torch.Tensor | float) -> Iterator[torch.Tensor]:
    """The iterates of L-BFGS on the posterior energy from x₀ = y, each image its own problem."""
    weight = torch.as_tensor(omega, dtype=torch.float64).reshape(-1, 1, 1, 1)
    pull = (weight / sigma**2).to(noisy.dtype)

    def objective(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        energy, grad = model.energy_and_gradient(x)
        residual = x - noisy
        data_term = (residual * residual).sum(dim=(1, 2, 3), keepdim=True, dtype=torch.float64)
        return energy.view(-1, 1, 1, 1) + weight * data_term / (2.0 * sigma**2), grad.addcmul_(residual, pull)

    return lbfgs_iterates(objective, noisy)


@dataclass(frozen=True)
class Schedule:
    """The solver's settings for one noise level: ω, the iteration count, η (gradient and momentum)
    and β (momentum only)."""

    omega: float
    iterations: int
    step_size: float | None = None
    momentum: float | None = None


SETTINGS = {"lbfgs": ("omega", "iterations"), "gradient": ("omega", "iterations", "step_size"),
            "momentum": ("omega", "iterations", "step_size", "momentum")}  # what each solver needs
SOLVERS = tuple(SETTINGS)
STEP_SOLVERS = tuple(solver for solver, needs in SETTINGS.items() if "step_size" in needs)  # they take η


def iterates(model: FieldOfExperts, noisy: torch.Tensor, sigma: float, solver: str, omega: torch.Tensor | float,
             step_size: torch.Tensor | float | None = None,
             momentum: torch.Tensor | float | None = None) -> Iterator[torch.Tensor]:
    """The iterates of `solver` (one of SOLVERS)."""
    if solver in STEP_SOLVERS:
        return gradient_steps(model, noisy, sigma, omega, step_size, momentum if solver == "momentum" else 0.0)
    return lbfgs_steps(model, noisy, sigma, omega)


def run(model: FieldOfExperts, noisy: torch.Tensor, sigma: float, solver: str, plan: Schedule) -> torch.Tensor:
    """The estimate after plan.iterations iterations of `solver`."""
    x = noisy
    for x in islice(iterates(model, noisy, sigma, solver, plan.omega, plan.step_size, plan.momentum),
                    plan.iterations):
        pass
    return x


def tuned_config_path() -> Path:
    return Path(str(resources.files("bench.conf") / "method" / "foe.yaml"))


Tuned = dict[float, Schedule]


def load_tuned(prior: str, solver: str, path: Path | None = None) -> Tuned:
    """The per-σ values chosen by `python -m bench.foe_search` for one prior and solver (the
    `tuned: <prior>: <solver>:` block of foe.yaml); empty when that pair was never tuned."""
    path = path or tuned_config_path()
    try:
        config = yaml.safe_load(Path(path).read_text()) or {}
        table = ((config.get("tuned") or {}).get(prior) or {}).get(solver) or {}
        return {float(sigma): Schedule(float(row["omega"]), int(row["iterations"]),
                                       *(None if row.get(name) is None else float(row[name])
                                         for name in ("step_size", "momentum")))
                for sigma, row in table.items()}
    except (OSError, yaml.YAMLError, AttributeError, KeyError, TypeError, ValueError) as error:
        raise BenchError(f"cannot read the FoE per-σ settings in {path}: {error}") from None


def schedule_for(sigma: float, tuned: Tuned) -> Schedule:
    """The tuned values at σ: linear in log σ between tuned noise levels (log ω, log η and the
    iteration count, β linearly), the nearest tuned level outside their range."""
    if not tuned:
        raise BenchError("no tuned FoE settings for this prior and solver: run `python -m bench.foe_search` "
                         "or pass omega, iterations (and step_size for solvers gradient and momentum, "
                         "momentum for solver=momentum)")
    levels = sorted(tuned)
    position = float(np.interp(math.log(sigma), np.log(levels), np.arange(len(levels))))
    low = int(math.floor(position))
    high, t = min(low + 1, len(levels) - 1), position - low
    a, b = tuned[levels[low]], tuned[levels[high]]
    if t == 0:
        return a

    def geometric(p: float | None, q: float | None) -> float | None:
        return None if p is None or q is None else math.exp((1 - t) * math.log(p) + t * math.log(q))

    def linear(p: float | None, q: float | None) -> float | None:
        return None if p is None or q is None else (1 - t) * p + t * q

    return Schedule(omega=geometric(a.omega, b.omega), iterations=round(linear(a.iterations, b.iterations)),
                    step_size=geometric(a.step_size, b.step_size), momentum=linear(a.momentum, b.momentum))


class FoEDenoiser:
    """Non-blind: needs σ. Options left None take the tuned per-σ value of the prior and solver."""

    blind = False

    def __init__(self, prior: str = DEFAULT_PRIOR, solver: str = DEFAULT_SOLVER, iterations: int | None = None,
                 omega: float | None = None, step_size: float | None = None, momentum: float | None = None) -> None:
        if solver not in SOLVERS:
            raise BenchError(f"foe option solver must be one of {', '.join(SOLVERS)}, got {solver!r}")
        for name, value in (("iterations", iterations), ("omega", omega), ("step_size", step_size)):
            if value is not None and not (np.isfinite(value) and value > 0):
                raise BenchError(f"foe option {name} must be > 0, got {value}")
        if momentum is not None and not 0 <= momentum < 1:
            raise BenchError(f"foe option momentum must be in [0, 1), got {momentum}")
        if iterations is not None and int(iterations) != iterations:
            raise BenchError(f"foe option iterations must be an integer, got {iterations}")
        given = {"omega": omega, "iterations": iterations, "step_size": step_size, "momentum": momentum}
        for name, value in given.items():
            if value is not None and name not in SETTINGS[solver]:
                users = " and ".join(f"solver={other}" for other, needs in SETTINGS.items() if name in needs)
                raise BenchError(f"foe option {name} applies only to {users}")
        self.prior_name, self.solver = prior, solver
        self.model = FieldOfExperts(load_prior(prior))
        self.overrides = {name: value for name, value in given.items() if value is not None}
        self.complete = set(self.overrides) == set(SETTINGS[solver])
        self.tuned = {} if self.complete else load_tuned(prior, solver)

    def schedule(self, sigma: float) -> Schedule:
        plan = Schedule(0.0, 0) if self.complete else schedule_for(sigma, self.tuned)
        plan = replace(plan, **self.overrides)
        return Schedule(float(plan.omega), int(plan.iterations),
                        *(None if value is None else float(value) for value in (plan.step_size, plan.momentum)))

    def fingerprint(self, sigma: float | None) -> str:
        """The prior file's SHA-256 and the settings used at σ: results made with other tuned
        values must not pass for these."""
        plan = self.schedule(float(sigma)) if sigma is not None else None
        if plan is not None and plan.momentum is None:  # as written before β existed: earlier rows keep their keys
            plan = f"Schedule(omega={plan.omega!r}, iterations={plan.iterations!r}, step_size={plan.step_size!r})"
        return f"{PRIORS[self.prior_name].sha256[:16]}:{self.solver}:{plan}"

    def denoise(self, noisy: np.ndarray, sigma: float | None) -> np.ndarray:
        validate_sigma(sigma, self.blind, "foe")
        image = validate_image(noisy, "noisy image")
        if min(image.shape) < self.model.clique:
            raise BenchError(f"foe needs an image of at least {self.model.clique}×{self.model.clique} pixels, "
                             f"got {image.shape}")
        plan = self.schedule(float(sigma))
        y = torch.as_tensor(image, dtype=self.model.dtype)[None, None]
        return run(self.model, y, float(sigma), self.solver, plan)[0, 0].double().numpy()


@register_method("foe")
def make_foe(prior: str = DEFAULT_PRIOR, solver: str = DEFAULT_SOLVER, iterations: int | None = None,
             omega: float | None = None, step_size: float | None = None, momentum: float | None = None) -> FoEDenoiser:
    return FoEDenoiser(prior=prior, solver=solver, iterations=iterations, omega=omega, step_size=step_size,
                       momentum=momentum)
