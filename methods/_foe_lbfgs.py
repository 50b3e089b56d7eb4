"""Limited-memory BFGS for a batch of independent problems, yielding every iterate.

Why not torch.optim.LBFGS: `foe` stops early at a tuned iteration count (its energy is
non-convex and the best estimate is reached before convergence), and its grid search runs many
images at once. Both need per-image state — curvature pairs, step lengths, line searches — in one
batched tensor, and each iterate handed back as it is made; torch's optimiser treats the batch as
one problem and reports only the end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch

Objective = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
ARMIJO = 1e-4
MAX_HALVINGS = 30


def _dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-image inner product, shape (B, 1, 1, 1), accumulated in float64."""
    return (a * b).sum(dim=(1, 2, 3), keepdim=True, dtype=torch.float64)


def _direction(grad: torch.Tensor, pairs: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]],
               scale: torch.Tensor) -> torch.Tensor:
    """−H·grad by the two-loop recursion, in the images' dtype with float64 inner products; a pair
    with ρ = 0 (rejected for that image) is inert."""
    dtype = grad.dtype
    q = grad.clone()
    coefficients = []
    for s, y, rho in reversed(pairs):
        a = rho * _dot(s, q)
        q.sub_(y * a.to(dtype))
        coefficients.append(a)
    q.mul_(scale.to(dtype))
    for (s, y, rho), a in zip(pairs, reversed(coefficients)):
        q.add_(s * (a - rho * _dot(y, q)).to(dtype))
    return q.neg_()


def lbfgs_iterates(objective: Objective, start: torch.Tensor, memory: int = 8) -> Iterator[torch.Tensor]:
    """x₁, x₂, … from x₀ = start. `objective(x)` returns (f per image as (B, 1, 1, 1) float64,
    ∇f). Each step backtracks (halving) until the Armijo condition holds for every image; the
    first step is scaled so that no pixel moves by more than 1. A curvature pair with sᵀy ≤ 0 (the
    energy is non-convex) is not stored for that image."""
    x = start.clone()
    f, g = objective(x)
    pairs: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
    scale = 1.0 / g.abs().amax(dim=(1, 2, 3), keepdim=True).double().clamp_min(1e-12)
    while True:
        d = _direction(g, pairs, scale)
        slope = _dot(g, d)
        uphill = slope >= 0
        if uphill.any():  # a poor quasi-Newton model for some image: fall back to steepest descent
            d = torch.where(uphill, -g * scale.to(g.dtype), d)
            slope = _dot(g, d)
        t = torch.ones_like(slope)
        for _ in range(MAX_HALVINGS):
            trial = x + t.to(x.dtype) * d
            f_trial, g_trial = objective(trial)
            accepted = f_trial <= f + ARMIJO * t * slope
            if accepted.all():
                break
            t = torch.where(accepted, t, 0.5 * t)
        s, y = trial - x, g_trial - g
        curvature = _dot(s, y)
        keep = curvature > 1e-12 * _dot(y, y)
        rho = torch.where(keep, 1.0 / curvature.clamp_min(1e-300), torch.zeros_like(curvature))
        pairs = [*pairs[max(0, len(pairs) + 1 - memory):], (s, y, rho)]
        scale = torch.where(keep, curvature / _dot(y, y).clamp_min(1e-300), scale)
        x, f, g = trial, f_trial, g_trial
        yield x
