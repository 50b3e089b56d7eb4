"""Grid search of the FoE's λ, step size η and iteration count per σ on training crops.

Jain & Seung (2008): "the number of iterations and magnitude of the step size are optimized for
each noise level using a grid search on the training set". Every (λ, η) pair runs as one batch
of the crops, and the PSNR is read every `--every` iterations, so the iteration count is
searched at no extra cost. The best mean PSNR per σ is written to the `tuned:` block of
conf/method/foe.yaml, which `foe` reads for its defaults.

    python -m bench.foe_search                  # the committed values (docs/foe.md)
    python -m bench.foe_search --sigmas 25 --crops 2 --max-iterations 50 --output /tmp/foe.yaml
"""

from __future__ import annotations

import argparse
import itertools
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch
import yaml

from bench.errors import BenchError
from bench.images import load_image
from bench.methods.foe import FieldOfExperts, ascend, load_prior, tuned_config_path
from bench.protocol import noisy_version
from bench.training_sets import SMALL_SET_IDS, training_files

DATASET = "train400"


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


def search_sigma(model: FieldOfExperts, ids: list[str], crops: list[np.ndarray], sigma: float,
                 lams: list[float], steps: list[float], max_iterations: int, every: int,
                 seed: int) -> np.ndarray:
    """Mean PSNR over the crops, shape (len(lams), len(steps), max_iterations // every). One
    (λ, η) pair at a time: a batch of all pairs is slower (its buffers are re-mapped every step)."""
    clean = torch.as_tensor(np.stack(crops), dtype=model.dtype)[:, None]
    noisy = torch.as_tensor(np.stack([noisy_version(c, DATASET, i, sigma, seed) for c, i in zip(crops, ids)]),
                            dtype=model.dtype)[:, None]
    scores = np.empty((len(lams), len(steps), max_iterations // every))
    for (i, lam), (j, step) in itertools.product(enumerate(lams), enumerate(steps)):
        iterates = ascend(model, noisy, sigma, lam, step)
        for checkpoint in range(scores.shape[2]):
            x = next(itertools.islice(iterates, every - 1, None))
            mse = ((x - clean) ** 2).mean(dim=(1, 2, 3)).double()
            psnr = torch.nan_to_num(20 * np.log10(255.0) - 10 * torch.log10(mse), nan=-np.inf)
            scores[i, j, checkpoint] = psnr.mean().item()
    return scores


def best_setting(scores: np.ndarray, lams: list[float], steps: list[float], every: int) -> dict:
    """The (λ, η, iterations) of the highest mean PSNR (ties: fewest iterations, first λ, first η)."""
    i, j, k = np.unravel_index(np.argmax(scores), scores.shape)
    return {"lam": lams[i], "step_size": steps[j], "iterations": int((k + 1) * every),
            "train_psnr": round(float(scores[i, j, k]), 3)}


def write_tuned(path: Path, tuned: dict, record: dict) -> None:
    """Replace the `tuned:` and `search:` blocks of the method config, keeping name and options."""
    config = yaml.safe_load(path.read_text()) if path.exists() else {}
    config = {"name": "foe", "options": {"iterations": None, "step_size": None, "lam": None}, **(config or {})}
    config["tuned"], config["search"] = tuned, record
    header = ("# Field of Experts (Roth & Black 2005) with the shipped 5×5, 24-expert prior; see docs/foe.md.\n"
              "# The harness builds get_method(cfg.method.name, **cfg.method.options); options left null\n"
              "# take the per-σ values of `tuned:`, written by `python -m bench.foe_search` (record below).\n")
    path.write_text(header + yaml.safe_dump(config, sort_keys=False, allow_unicode=True))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.foe_search", description=__doc__.split("\n")[0])
    parser.add_argument("--sigmas", type=float, nargs="+", default=[25.0, 50.0, 100.0])
    parser.add_argument("--lams", type=float, nargs="+", default=[1e-4, 2e-4, 4e-4, 8e-4, 1.6e-3, 3.2e-3])
    parser.add_argument("--steps", type=float, nargs="+", default=[5000.0, 10000.0])
    parser.add_argument("--max-iterations", type=int, default=1000)
    parser.add_argument("--every", type=int, default=10, help="read the PSNR every N iterations")
    parser.add_argument("--crops", type=int, default=8)
    parser.add_argument("--crop-size", type=int, default=96)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--output", type=Path, default=None, help="default: conf/method/foe.yaml")
    args = parser.parse_args(argv)
    if args.every < 1 or args.max_iterations < args.every:
        parser.error("need 1 <= --every <= --max-iterations")
    if min(args.lams + args.steps + args.sigmas) <= 0:
        parser.error("--sigmas, --lams and --steps must be > 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    started = time.perf_counter()
    try:
        ids, crops = training_crops(args.crops, args.crop_size)
        model = FieldOfExperts(load_prior())
        tuned = {}
        for sigma in args.sigmas:
            scores = search_sigma(model, ids, crops, sigma, args.lams, args.steps,
                                  args.max_iterations, args.every, args.seed)
            key = int(sigma) if sigma.is_integer() else sigma
            tuned[key] = best_setting(scores, args.lams, args.steps, args.every)
            print(f"σ={sigma:g}: best mean PSNR per (λ, η) over iterations ≤ {args.max_iterations}")
            for i, lam in enumerate(args.lams):
                print("  λ=%-8g" % lam + "  ".join(f"η={s:g}: {scores[i, j].max():6.2f}"
                                                   for j, s in enumerate(args.steps)))
            print(f"  chosen: {tuned[key]}", flush=True)
        seconds = time.perf_counter() - started
        output = args.output or tuned_config_path()
        arguments = shlex.join(argv if argv is not None else sys.argv[1:])
        record = {"command": f"python -m bench.foe_search {arguments}".strip(),
                  "crops": ids, "crop_size": args.crop_size, "lams": args.lams, "steps": args.steps,
                  "max_iterations": args.max_iterations, "every": args.every, "seed": args.seed,
                  "threads": torch.get_num_threads(), "wall_seconds": round(seconds, 1)}
        write_tuned(Path(output), tuned, record)
    except BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {output} ({seconds:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
