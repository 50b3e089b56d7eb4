"""The shipped convnet weights and how each was trained, as a Markdown table read from their records.

`python -m bench.weights` — one row per weight file in `methods/weights/`: model, σ, recipe, the
noise model it was trained for (a result row's `weights` column names the file it used),
training set, updates, the machine, this run's and the whole lineage's wall time (a run may continue
from another network, `init_from`), what it started from and its validation PSNR. The table in
docs/convnets.md is this command's output, so its numbers come from the records, not by hand.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from bench.errors import BenchError
from bench.leaderboard import markdown_table
from bench.methods._convnet import weight_record
from bench.methods.convnets import WEIGHTS_DIR
from bench.protocol import DEFAULT_NOISE
from bench.train import lineage_wall_time_s


def record_row(path: Path) -> dict:
    """The facts of one weight file's record that a reader compares across networks."""
    record = weight_record(path)
    parent = record.get("initialised_from") or {}
    recipe = record["recipe"]
    return {
        "file": path.name,
        "model": record["model"],
        "σ": "0–100" if record.get("sigma") is None else f"{record['sigma']:g}",
        "recipe": recipe["name"],
        "noise": record.get("noise", DEFAULT_NOISE),
        "training set": f"{record['training_set']} ({len(record['training_files'])} crops)",
        "updates": f"{record['steps_per_stage']} × {record['stages']}" if record["stages"] > 1
        else str(record["steps_per_stage"]),
        "batch": f"{recipe['images_per_batch']}×{recipe['patches_per_image']} of {recipe['patch']}²",
        "lr": f"{recipe['lr']:g}",
        "trained on": trained_on(record.get("machine", "")),
        "wall s": f"{record['wall_time_s']:.0f}",
        "lineage wall s": f"{lineage_wall_time_s(record):.0f}",
        "started from": started_from(parent, record.get("noise", DEFAULT_NOISE)),
        "validation PSNR (dB)": f"{record['validation_psnr_db']:.2f}",
    }


def started_from(parent: dict, noise: str) -> str:
    """The parent network and its validation PSNR, which was measured under the parent's own noise
    model: named when it is not this network's (a clipped network continuing a gaussian one)."""
    if not parent:
        return "scratch"
    parent_noise = parent.get("noise", DEFAULT_NOISE)
    measured = f"{parent_noise}, " if parent_noise != noise else ""
    return f"{parent['file']} ({measured}{parent['validation_psnr_db']:.2f} dB)"


def trained_on(machine: str) -> str:
    """The record's machine, short: the GPU's name, or the CPU threads (the CPU's name is long)."""
    if "(CUDA)" in machine:
        return machine.split(" (CUDA)")[0]
    return "CPU, " + machine.rsplit(", ", 1)[-1] if ", " in machine else machine


def weights_table(folder: Path = WEIGHTS_DIR) -> str:
    weight_files = sorted(folder.glob("*.pt"))
    return markdown_table(pd.DataFrame([record_row(path) for path in weight_files]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, default=WEIGHTS_DIR)
    args = parser.parse_args(argv)
    try:
        print(weights_table(args.folder))
    except BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
