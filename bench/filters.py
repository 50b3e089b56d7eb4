"""Figure 4 of the paper: the learned first- and second-layer filters of a network, as a PNG.

`python -m bench.filters cnblind --out results/figures/cnblind_filters.png`
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from bench.errors import BenchError  # noqa: E402
from bench.methods._convnet import DenoisingConvNet, load_weights  # noqa: E402
from bench.methods.convnets import MODEL_SPECS, weight_file  # noqa: E402


def filter_panels(net: DenoisingConvNet) -> tuple[np.ndarray, np.ndarray]:
    """First layer (24 filters) and second layer (24 maps × fan-in filters, sparse form)."""
    first = net.first.weight.detach()[:, 0].numpy()
    second = net.hidden_weights[0].detach().numpy()
    return first, second


def render_filters(net: DenoisingConvNet, title: str, out: Path) -> Path:
    """Each filter scaled to its own range, as in the paper's figure; layer 2 one row per map."""
    first, second = filter_panels(net)
    rows, cols = second.shape[0], second.shape[1]
    figure = plt.figure(figsize=(cols * 0.45 + 0.6, (rows + 4) * 0.45 + 0.8))
    grid = figure.add_gridspec(rows + 4, max(cols, 12))
    for index, kernel in enumerate(first):
        axis = figure.add_subplot(grid[index // 12, index % 12])
        axis.imshow(kernel, cmap="gray")
        axis.set_axis_off()
    for row in range(rows):
        for col in range(cols):
            axis = figure.add_subplot(grid[4 + row, col])
            axis.imshow(second[row, col], cmap="gray")
            axis.set_axis_off()
    figure.suptitle(f"{title}: layer 1 (top, 24 filters) and layer 2 (one row per map)", fontsize=9)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=120)
    plt.close(figure)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", choices=sorted(MODEL_SPECS))
    parser.add_argument("--sigma", type=float, default=50.0, help="noise level of a cn1/cn2 network")
    parser.add_argument("--recipe", default="modern")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    sigma = None if MODEL_SPECS[args.model].blind else args.sigma
    try:
        net, _ = load_weights(weight_file(args.model, sigma, args.recipe))
    except BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    label = args.model if sigma is None else f"{args.model} σ={sigma:g}"
    out = args.out or Path("results/figures") / f"{weight_file(args.model, sigma, args.recipe).stem}_filters.png"
    print(render_filters(net, label, out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
