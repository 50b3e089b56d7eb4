"""Each method against one reference method: the paired PSNR difference with a 95 % interval.

Built from the leaderboard's paired table (`bench.leaderboard.paired_differences`), which holds
every pair once (A = the better one): the difference of a method to the reference is +A−B or −(A−B)
depending on which side the reference is. The interval is mean ± t(0.975, n−1) · paired SE over
the images both finished: the right interval for a mean of n paired differences.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
from scipy import stats

from bench.errors import BenchError
from bench.leaderboard import GROUP
from bench.protocol import DEFAULT_NOISE
from bench.report.tags import CLASSICAL

CONFIDENCE = 0.95


def differences_to_reference(paired: pd.DataFrame, reference: str) -> pd.DataFrame:
    """Per group (dataset, σ, …) and method: PSNR(method) − PSNR(reference), its SE, 95 % interval, p."""
    if "noise" not in paired:
        paired = paired.assign(noise=DEFAULT_NOISE)  # a paired.csv from before noise models existed
    if not ((paired.method_a == reference) | (paired.method_b == reference)).any():
        raise BenchError(f"reference {reference!r} has no paired comparison; methods: "
                         f"{', '.join(sorted(set(paired.method_a) | set(paired.method_b)))}")
    above = paired[paired.method_b == reference].assign(method=lambda t: t.method_a, diff=lambda t: t.psnr_diff_mean)
    below = paired[paired.method_a == reference].assign(method=lambda t: t.method_b, diff=lambda t: -t.psnr_diff_mean)
    table = pd.concat([above, below], ignore_index=True).rename(columns={"psnr_diff_se": "se"})
    half_width = stats.t.ppf(0.5 + CONFIDENCE / 2, (table.n_images - 1).clip(lower=1)) * table.se
    table = table.assign(reference=reference, ci_low=table["diff"] - half_width, ci_high=table["diff"] + half_width)
    return table[[*GROUP, "method", "reference", "n_images", "diff", "se", "ci_low", "ci_high", "p_value"]]


def default_reference(board: pd.DataFrame, tags: Mapping[str, frozenset[str]]) -> str:
    """The best classical method present (see bench.report.tags), else the best method: the one in
    the most (dataset, σ) groups, then with the highest mean PSNR over them."""
    scored = board.dropna(subset=["psnr_mean"])
    if scored.empty:
        raise BenchError("no method has a PSNR: nothing to compare")
    classical = scored[[CLASSICAL in tags.get(method, ()) for method in scored.method]]
    candidates = (classical if len(classical) else scored).groupby("method").psnr_mean.agg(["count", "mean"])
    return str(candidates.sort_values(["count", "mean"], ascending=False).index[0])
