"""The paper's figures from our own runs.

    python -m bench.figures psnr-vs-sigma results/leaderboard.csv --out results/figures/psnr_vs_sigma.png
    python -m bench.figures difference results --out results/figures/difference_to_reference.png
    python -m bench.figures compare --dataset bsd68 --image test003 --sigma 50 --out results/figures/compare.png

Figure 2 (mean PSNR against σ with standard-error bars) reads a leaderboard and leaves out the
rows tagged `non-paper` or `truncated` (bench.report.tags) unless --all is given. Methods lie
within 1 dB of each other there, so the difference plot shows what Figure 2 cannot: each method's
paired PSNR difference to a reference method with its 95 % interval (from paired.csv). Figure 3
(clean, noisy and each method's output with a zoomed region) re-runs the methods on the
protocol's noisy image, so it needs no stored outputs. Figure 4 (learned filters) is
`python -m bench.filters`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from bench.errors import BenchError  # noqa: E402
from bench.leaderboard import GROUP  # noqa: E402
from bench.protocol import DEFAULT_NOISE, NOISE_MODELS, noisy_version, psnr  # noqa: E402
from bench.registry import get_dataset  # noqa: E402
from bench.report.statistics import default_reference, differences_to_reference  # noqa: E402
from bench.report.tags import kept_in_figures, method_tags  # noqa: E402
from bench.runner import make_method  # noqa: E402

COMPARED = ("cn2", "bls_gsm", "foe")


def plot_psnr_vs_sigma(leaderboard_csv: Path, out: Path, dataset: str | None = None,
                       noise: str | None = None, include_all: bool = False) -> Path:
    """One line per method: mean PSNR ± standard error at each σ (the paper's Figure 2), one panel
    per noise model (results under different noise models are not comparable)."""
    if not leaderboard_csv.is_file():
        raise BenchError(f"leaderboard not found: {leaderboard_csv}")
    board = pd.read_csv(leaderboard_csv)
    if "noise" not in board:
        board["noise"] = DEFAULT_NOISE  # a leaderboard from before noise models existed
    if not include_all:
        board = board[kept_in_figures(board.method)]
    if dataset is not None:
        board = board[board["dataset"] == dataset]
    if noise is not None:
        board = board[board["noise"] == noise]
    if board.empty:
        raise BenchError(f"no leaderboard rows for dataset {dataset!r}, noise {noise!r} in {leaderboard_csv}")
    panels = sorted(board["noise"].unique(), key=lambda name: list(NOISE_MODELS).index(name))
    figure, axes = plt.subplots(1, len(panels), figsize=(6.5 * len(panels), 4.5), squeeze=False)
    names = ", ".join(sorted(board["dataset"].unique()))
    for axis, panel in zip(axes[0], panels):
        shown = board[board["noise"] == panel]
        for method, rows in shown.sort_values("sigma").groupby("method", sort=False):
            axis.errorbar(rows["sigma"], rows["psnr_mean"], yerr=rows["psnr_se"], marker="o", capsize=3,
                          label=method)
        sigmas = sorted(shown["sigma"].unique())
        axis.set_xticks(sigmas, [f"{s:g}" for s in sigmas])
        axis.set_xlabel("noise σ")
        axis.set_ylabel("mean PSNR of denoised images (dB)")
        axis.set_title(f"{names}, {panel} noise (bars: ±1 standard error)")
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8, ncol=2)
    return save(figure, out)


def difference_figure(differences: pd.DataFrame) -> plt.Figure:
    """PSNR − reference per σ with 95 % intervals: one panel per dataset (and noise), methods side
    by side within each σ, best first."""
    reference = differences.reference.iloc[0]
    panels = [key for key in GROUP if key != "sigma"]
    groups = list(differences.groupby(panels, sort=True))
    order = differences.groupby("method")["diff"].mean().sort_values(ascending=False).index.tolist()
    sigmas = sorted(differences.sigma.unique())
    figure, axes = plt.subplots(1, len(groups), figsize=(1.2 + 0.5 * len(order) * len(sigmas) ** 0.5 * len(groups) + 3,
                                                         4.6), squeeze=False, sharey=True)
    width = 0.8 / max(len(order), 1)
    colours = plt.get_cmap("tab10" if len(order) <= 10 else "tab20")
    for axis, (panel, rows) in zip(axes[0], groups):
        for index, method in enumerate(order):
            mine = rows[rows.method == method]
            x = [sigmas.index(sigma) - 0.4 + width * (index + 0.5) for sigma in mine.sigma]
            axis.errorbar(x, mine["diff"], yerr=[mine["diff"] - mine.ci_low, mine.ci_high - mine["diff"]],
                          fmt="o", capsize=3, color=colours(index % colours.N), label=method)
        axis.axhline(0, color="black", linewidth=1)
        axis.set_xticks(range(len(sigmas)), [f"σ = {sigma:g}" for sigma in sigmas])
        axis.set_title(", ".join(map(str, panel if isinstance(panel, tuple) else (panel,))), fontsize=9)
        axis.grid(axis="y", alpha=0.3)
    axes[0, 0].set_ylabel(f"PSNR − {reference} (dB), paired, 95 % interval")
    axes[0, -1].legend(fontsize=8, loc="center left", bbox_to_anchor=(1.02, 0.5))
    return figure


def plot_difference_to_reference(folder: Path, out: Path, reference: str | None = None,
                                 include_all: bool = False) -> Path:
    """The difference plot from a results folder's leaderboard.csv and paired.csv."""
    for name in ("leaderboard.csv", "paired.csv"):
        if not (folder / name).is_file():
            raise BenchError(f"{name} not found in {folder}")
    paired = pd.read_csv(folder / "paired.csv")
    reference = reference or default_reference(pd.read_csv(folder / "leaderboard.csv"), method_tags())
    differences = differences_to_reference(paired, reference)
    if not include_all:
        differences = differences[kept_in_figures(differences.method)]
    return save(difference_figure(differences), out)


def plot_comparison(
    dataset_name: str,
    image_id: str,
    sigma: float,
    methods: tuple[str, ...],
    out: Path,
    zoom: tuple[int, int, int] | None = None,
    seed: int = 0,
    noise: str = DEFAULT_NOISE,
) -> Path:
    """Clean, noisy and each method's output (PSNR in the title), each with a zoomed inset row."""
    dataset = get_dataset(dataset_name)
    clean = dataset.load(image_id)
    noisy = noisy_version(clean, dataset.name, image_id, sigma, seed, noise)
    panels = [("clean", clean), (f"noisy {psnr(clean, noisy):.2f} dB", noisy)]
    for name in methods:
        method = make_method(name, {}, noise)
        output = method.denoise(noisy, None if method.blind else sigma)
        panels.append((f"{name} {psnr(clean, output):.2f} dB", output))
    top, left, size = zoom or (clean.shape[0] // 3, clean.shape[1] // 3, min(clean.shape) // 4)
    figure, axes = plt.subplots(2, len(panels), figsize=(2.6 * len(panels), 4.6))
    for column, (title, image) in enumerate(panels):
        shown = np.clip(image, 0, 255)
        axes[0, column].imshow(shown, cmap="gray", vmin=0, vmax=255)
        axes[0, column].add_patch(Rectangle((left, top), size, size, fill=False, edgecolor="red"))
        axes[0, column].set_title(title, fontsize=8)
        axes[1, column].imshow(shown[top : top + size, left : left + size], cmap="gray", vmin=0, vmax=255)
        for axis in axes[:, column]:
            axis.set_axis_off()
    figure.suptitle(f"{dataset.name} {image_id}, σ = {sigma:g}, {noise} noise (seed {seed})", fontsize=9)
    return save(figure, out)


def save(figure: plt.Figure, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(out, dpi=110)
    plt.close(figure)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    curve = commands.add_parser("psnr-vs-sigma", help="Figure 2 from a leaderboard.csv")
    curve.add_argument("leaderboard", type=Path)
    curve.add_argument("--dataset", default=None)
    curve.add_argument("--noise", choices=list(NOISE_MODELS), default=None, help="default: a panel for each")
    curve.add_argument("--all", action="store_true", help="also the rows tagged non-paper or truncated")
    curve.add_argument("--out", type=Path, default=Path("results/figures/psnr_vs_sigma.png"))
    difference = commands.add_parser("difference", help="PSNR − reference per σ, 95 %% intervals")
    difference.add_argument("folder", type=Path, help="a folder with leaderboard.csv and paired.csv")
    difference.add_argument("--reference", default=None, help="default: the best classical method present")
    difference.add_argument("--all", action="store_true", help="also the rows tagged non-paper or truncated")
    difference.add_argument("--out", type=Path, default=Path("results/figures/difference_to_reference.png"))
    compare = commands.add_parser("compare", help="Figure 3: outputs side by side with a zoom")
    compare.add_argument("--dataset", default="bsd68")
    compare.add_argument("--image", required=True)
    compare.add_argument("--sigma", type=float, default=50.0)
    compare.add_argument("--noise", choices=list(NOISE_MODELS), default=DEFAULT_NOISE)
    compare.add_argument("--methods", nargs="+", default=list(COMPARED))
    compare.add_argument("--zoom", type=int, nargs=3, metavar=("TOP", "LEFT", "SIZE"), default=None)
    compare.add_argument("--out", type=Path, default=Path("results/figures/comparison.png"))
    args = parser.parse_args(argv)
    try:
        if args.command == "psnr-vs-sigma":
            out = plot_psnr_vs_sigma(args.leaderboard, args.out, args.dataset, args.noise, include_all=args.all)
        elif args.command == "difference":
            out = plot_difference_to_reference(args.folder, args.out, args.reference, include_all=args.all)
        else:
            out = plot_comparison(args.dataset, args.image, args.sigma, tuple(args.methods), args.out, args.zoom,
                                  noise=args.noise)
    except BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
