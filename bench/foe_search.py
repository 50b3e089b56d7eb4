"""Grid search of the FoE's data weight ω, step size η (gradient and momentum solvers), momentum β
(momentum solver) and stopping iteration per σ, on training crops (never on test images).

Jain & Seung (2008): "the number of iterations and magnitude of the step size are optimized for
each noise level using a grid search on the training set"; Roth & Black (2009) choose ω per σ.
Each grid point runs as one batch of the crops (every crop its own problem), and the PSNR is read
every `--every` iterations, so the stopping iteration is searched at no extra cost. The best mean
PSNR per σ is written to the `tuned: <prior>: <solver>: <σ>:` entry of conf/method/foe.yaml,
which `foe` reads for its defaults, with the command in the `search:` block beside it. With
`--tolerance t` it is instead the setting of fewest iterations within t dB of the best (FoE's time
is proportional to its iterations; the best is then recorded beside it). A best on the edge of the
grid is reported: widen the grid until it lies inside.

    python -m bench.foe_search --solver gradient --sigmas 25 --omegas 1 2 3 --steps 0.5 1 2   # see search: in foe.yaml
    python -m bench.foe_search --solver momentum --sigmas 25 --omegas 2 3 --steps 1 2 --momenta 0.5 0.8
    python -m bench.foe_search --solver lbfgs --sigmas 25 --omegas 2 4 --crops 2 --output /tmp/foe.yaml
"""

from __future__ import annotations

import argparse
import itertools
import math
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import yaml

from bench.errors import BenchError
from bench.images import load_image
from bench.methods._foe_priors import PRIORS, load_prior
from bench.methods.foe import DEFAULT_SOLVER, SOLVERS, STEP_SOLVERS, FieldOfExperts, iterates, tuned_config_path
from bench.protocol import noisy_version
from bench.training_sets import SMALL_SET_IDS, training_files

DATASET = "train400"


@dataclass(frozen=True)
class Grid:
    """The values searched: ω always; η and β ([None] where the solver takes none)."""

    omegas: list[float]
    steps: list[float | None]
    momenta: list[float | None]

    @property
    def shape(self) -> tuple[int, int, int]:
        return len(self.omegas), len(self.steps), len(self.momenta)

    def point(self, index: tuple[int, ...]) -> tuple[float, float | None, float | None]:
        """(ω, η, β) at a grid index."""
        return self.omegas[index[0]], self.steps[index[1]], self.momenta[index[2]]


def training_crops(count: int, size: int) -> tuple[list[str], list[np.ndarray]]:
    """`count` crops of size×size from the centres of evenly spaced images of the "small" set
    (the stand-in for Roth & Black's 40 training images)."""
    if not 1 <= count <= len(SMALL_SET_IDS):
        raise BenchError(f"--crops must be between 1 and {len(SMALL_SET_IDS)}, got {count}")
    picks = np.linspace(0, len(SMALL_SET_IDS) - 1, count).round().astype(int)
    files = training_files("small")
    ids, crops = [], []
    for index in picks:
        image = load_image(files[index])
        if min(image.shape) < size:
            raise BenchError(f"--crop-size {size} exceeds training image {files[index].name} {image.shape}")
        top, left = (image.shape[0] - size) // 2, (image.shape[1] - size) // 2
        ids.append(SMALL_SET_IDS[index])
        crops.append(image[top:top + size, left:left + size])
    return ids, crops


def search_sigma(model: FieldOfExperts, solver: str, ids: list[str], crops: list[np.ndarray], sigma: float,
                 grid: Grid, max_iterations: int, every: int, seed: int, border: int = 0) -> np.ndarray:
    """Mean PSNR over the crops, shape grid.shape + (max_iterations // every,), ignoring `border`
    pixels on every side (Roth & Black's test protocol ignores 10). One grid point at a time: a
    batch of all points is slower (its buffers no longer fit in cache)."""
    clean = torch.as_tensor(np.stack(crops), dtype=model.dtype)[:, None]
    noisy = torch.as_tensor(np.stack([noisy_version(c, DATASET, i, sigma, seed) for c, i in zip(crops, ids)]),
                            dtype=model.dtype)[:, None]
    inner = (..., slice(border, -border or None), slice(border, -border or None))
    scores = np.empty(grid.shape + (max_iterations // every,))
    for index in np.ndindex(grid.shape):
        path = iterates(model, noisy, sigma, solver, *grid.point(index))
        for checkpoint in range(scores.shape[-1]):
            x = next(itertools.islice(path, every - 1, None))
            mse = ((x[inner] - clean[inner]) ** 2).mean(dim=(1, 2, 3)).double()
            psnr = torch.nan_to_num(20 * math.log10(255.0) - 10 * torch.log10(mse), nan=-np.inf)
            scores[index + (checkpoint,)] = psnr.mean().item()
    return scores


def best_setting(scores: np.ndarray, grid: Grid, every: int, tolerance: float = 0.0) -> dict:
    """The setting (ω, η, β, iterations) of the fewest iterations whose mean PSNR is within
    `tolerance` dB of the highest (FoE's time is proportional to its iterations); tolerance 0: the
    highest (ties: the first grid point in ω, η, β order, fewest iterations)."""
    near_best = scores >= scores.max() - tolerance
    fewest = int(np.argmax(near_best.reshape(-1, scores.shape[-1]).any(axis=0)))
    at_fewest = np.where(near_best[..., fewest], scores[..., fewest], -np.inf)
    index = np.unravel_index(np.argmax(at_fewest), grid.shape)
    setting = {"omega": grid.omegas[index[0]], "iterations": (fewest + 1) * every}
    for name, values, i in (("step_size", grid.steps, index[1]), ("momentum", grid.momenta, index[2])):
        if values[i] is not None:
            setting[name] = values[i]
    return setting | {"train_psnr": round(float(scores[index + (fewest,)]), 3)}


def edges_hit(setting: dict, grid: Grid, max_iterations: int) -> list[str]:
    """The searched values whose optimum lies on the edge of their grid (not strictly inside);
    β = 0, the plain steps, is a natural end, not an edge."""
    edges = []
    for symbol, name, values in (("ω", "omega", grid.omegas), ("η", "step_size", grid.steps),
                                 ("β", "momentum", grid.momenta)):
        if name == "omega" or (values[0] is not None and len(values) > 1):
            ends = {max(values)} | ({min(values)} - {0.0})
            if setting[name] in ends:
                edges.append(f"{symbol}={setting[name]:g}")
    if setting["iterations"] >= max_iterations:
        edges.append(f"iterations={setting['iterations']}")
    return edges


def write_tuned(path: Path, prior: str, solver: str, tuned: dict, records: dict) -> None:
    """Set the `tuned:` and `search:` entries of this prior, solver and each searched σ in the
    method config, keeping everything else (name, options, other priors, solvers and σ), so that
    noise levels can be searched by separate runs, each σ keeping the record of its own run."""
    config = (yaml.safe_load(path.read_text()) if path.exists() else None) or {}
    config.setdefault("name", "foe")
    config.setdefault("options", {"prior": prior, "solver": solver, "iterations": None, "omega": None,
                                  "step_size": None, "momentum": None})
    for sigma, setting in tuned.items():
        for block, value in (("tuned", setting), ("search", records[sigma])):
            config[block] = config.get(block) or {}
            config[block].setdefault(prior, {}).setdefault(solver, {})[sigma] = value
    header = ("# Field of Experts (Roth & Black 2005, 2009); see docs/foe.md.\n"
              "# The harness builds get_method(cfg.method.name, **cfg.method.options); options left null\n"
              "# take the per-σ values of `tuned: <prior>: <solver>: <σ>:`, each chosen by the command\n"
              "# recorded in `search: <prior>: <solver>: <σ>:` (`python -m bench.foe_search`).\n")
    path.write_text(header + yaml.safe_dump(config, sort_keys=False, allow_unicode=True))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.foe_search", description=__doc__.split("\n")[0])
    parser.add_argument("--prior", choices=list(PRIORS), default="roth5x5")
    parser.add_argument("--solver", choices=list(SOLVERS), default=DEFAULT_SOLVER)
    parser.add_argument("--sigmas", type=float, nargs="+", default=[25.0, 50.0, 100.0])
    parser.add_argument("--omegas", type=float, nargs="+", required=True, help="data weights ω to try")
    parser.add_argument("--steps", type=float, nargs="+", default=None,
                        help="step sizes η to try (solvers gradient and momentum only, required there)")
    parser.add_argument("--momenta", type=float, nargs="+", default=None,
                        help="heavy-ball momenta β to try, in [0, 1) (solver=momentum only, required there)")
    parser.add_argument("--max-iterations", type=int, default=300)
    parser.add_argument("--every", type=int, default=5, help="read the PSNR every N iterations")
    parser.add_argument("--tolerance", type=float, default=0.0,
                        help="choose the fewest iterations within this many dB of the best mean PSNR")
    parser.add_argument("--crops", type=int, default=8)
    parser.add_argument("--crop-size", type=int, default=96)
    parser.add_argument("--border", type=int, default=0, help="pixels ignored on every side of a crop's PSNR")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--output", type=Path, default=None, help="default: conf/method/foe.yaml")
    args = parser.parse_args(argv)
    if args.every < 1 or args.max_iterations < args.every:
        parser.error("need 1 <= --every <= --max-iterations")
    if (args.steps is None) == (args.solver in STEP_SOLVERS):
        parser.error(f"--steps is required with --solver {' or '.join(STEP_SOLVERS)} and not accepted otherwise")
    if (args.momenta is None) == (args.solver == "momentum"):
        parser.error("--momenta is required with --solver momentum and not accepted otherwise")
    if args.momenta and not all(0 <= beta < 1 for beta in args.momenta):
        parser.error("--momenta must lie in [0, 1)")
    if args.tolerance < 0:
        parser.error("--tolerance must be >= 0")
    if not 0 <= 2 * args.border < args.crop_size:
        parser.error("--border must be >= 0 and leave part of the crop")
    if min(args.omegas + (args.steps or []) + args.sigmas) <= 0:
        parser.error("--sigmas, --omegas and --steps must be > 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    started = time.perf_counter()
    grid = Grid(args.omegas, args.steps or [None], args.momenta or [None])
    try:
        ids, crops = training_crops(args.crops, args.crop_size)
        model = FieldOfExperts(load_prior(args.prior))
        tuned, bests = {}, {}
        for sigma in args.sigmas:
            scores = search_sigma(model, args.solver, ids, crops, sigma, grid, args.max_iterations, args.every,
                                  args.seed, args.border)
            key = int(sigma) if sigma.is_integer() else sigma
            best = bests[key] = best_setting(scores, grid, args.every)
            tuned[key] = best_setting(scores, grid, args.every, args.tolerance)
            print(f"σ={sigma:g}, {args.prior}, {args.solver}: best mean PSNR (iteration) per ω"
                  + (", η" if args.steps else "") + (", β" if args.momenta else "")
                  + f", iterations ≤ {args.max_iterations}")
            for i, omega in enumerate(args.omegas):
                cells = [f"{scores[i, j, k].max():6.2f} ({(scores[i, j, k].argmax() + 1) * args.every:4d})"
                         + ("" if step is None else f" at η={step:g}") + ("" if beta is None else f" β={beta:g}")
                         for j, step in enumerate(grid.steps) for k, beta in enumerate(grid.momenta)]
                print(f"  ω={omega:<8g}" + "   ".join(cells))
            edges = edges_hit(best, grid, args.max_iterations)
            print(f"  best: {best}" + (f"  (ON THE GRID'S EDGE: {', '.join(edges)})" if edges else ""))
            print(f"  chosen (fewest iterations within {args.tolerance:g} dB): {tuned[key]}", flush=True)
        seconds = time.perf_counter() - started
        output = args.output or tuned_config_path()
        arguments = shlex.join(argv if argv is not None else sys.argv[1:])
        record = {"command": f"python -m bench.foe_search {arguments}".strip(),
                  "crops": ids, "crop_size": args.crop_size,
                  **({"border": args.border} if args.border else {}), "omegas": args.omegas,
                  **({"steps": args.steps} if args.steps else {}),
                  **({"momenta": args.momenta} if args.momenta else {}),
                  "max_iterations": args.max_iterations, "every": args.every, "tolerance_db": args.tolerance,
                  "seed": args.seed,
                  "threads": torch.get_num_threads(), "wall_seconds": round(seconds, 1)}
        records = {key: record | ({"best": best} if best != tuned[key] else {}) for key, best in bests.items()}
        write_tuned(Path(output), args.prior, args.solver, tuned, records)
    except BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {output} ({seconds:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
