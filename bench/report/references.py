"""Reference rows (the authors' own weights, methods/reference_cnns.py) in the leaderboard: the
authors' published average beside ours, rows run outside the σ range a network was trained for
marked as such, and each reference's source and weights' SHA-256.

The published averages are for the `gaussian` protocol (unclipped noise) on the whole set; rows
carry one only when their job qualifies (bench.runner.reference_columns).
"""

from __future__ import annotations

import pandas as pd

COLUMNS = ["reference", "weights_sha256", "published_psnr", "out_of_range"]
TEXT_COLUMNS = ["reference", "weights_sha256"]


def summary(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per leaderboard group: the published average (if any row has one) and whether any row
    ran out of the trained σ range."""
    published = pd.to_numeric(frame["published_psnr"])
    out_of_range = frame["out_of_range"].map(lambda value: str(value).lower() == "true")
    grouped = pd.DataFrame({"published_psnr": published, "out_of_range": out_of_range}).groupby(
        [frame[key] for key in keys])
    return grouped.agg(published_psnr=("published_psnr", "max"), out_of_range=("out_of_range", "any"))


def cell_notes(board: pd.DataFrame) -> list[str]:
    """What the by-σ table adds after each group's mean ± SE: the published average, and "out of
    range" (nothing for a board without these columns)."""
    published = board.get("published_psnr", pd.Series(float("nan"), index=board.index))
    outside = board.get("out_of_range", pd.Series(False, index=board.index))
    return [_note(value, bool(flag)) for value, flag in zip(published, outside)]


def _note(published: float, out_of_range: bool) -> str:
    notes = ([f"published {published:.2f}"] if pd.notna(published) else []) + (
        ["out of range"] if out_of_range else [])
    return f" ({'; '.join(notes)})" if notes else ""


def sources(frame: pd.DataFrame) -> pd.DataFrame:
    """One line per reference method and weight file: where its weights and numbers come from."""
    rows = frame[frame["reference"].map(lambda value: isinstance(value, str) and value != "")]
    return (rows[["method", "reference", "weights_sha256"]].drop_duplicates()
            .sort_values(["method", "weights_sha256"], ignore_index=True))
