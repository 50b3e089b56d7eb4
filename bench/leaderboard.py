"""Leaderboard and paired comparisons from per-image rows, and the command that rebuilds them.

    python -m bench.leaderboard <dir> [<dir> ...] --out <dir>

reads every result row under the given folders (run or sweep folders: `job_rows.csv`,
`rows.csv`; results stores: `rows-*.jsonl`), keeps one row per key (see `bench.store`), and writes
`rows.csv`, `leaderboard.csv`, `paired.csv` and `leaderboard.md` into --out.

Rows are grouped by dataset, noise model and σ: results under different noise models are never
averaged together, and every table names the noise model its numbers used (rows from before noise
models existed are `gaussian`).

Statistics. Each image's value is averaged over seeds first, so n counts images, the independent
samples. psnr_se = std(ddof=1)/√n over images. The paired table compares every two methods on the
same dataset, noise model and σ over the images both finished: mean and standard error of the per-image
difference A − B and the paired t-test p-value (scipy.stats.ttest_rel); A is the one with the
higher mean PSNR, so differences are positive when the ranking holds.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import warnings
from collections.abc import Iterable, Mapping, Sequence
from itertools import combinations
from pathlib import Path
from typing import Any

import pandas as pd
from scipy import stats

from bench.errors import BenchError
from bench.provenance import command_line, git_commit, package_version
from bench.report import references
from bench.store import FAILED, OK, ResultStore, Row, latest_rows, row_noise

ROW_COLUMNS = [
    "method", "config_name", "method_options", "config_hash", "dataset", "dataset_options", "crop",
    "dataset_hash", "image_id", "height", "width", "noise", "sigma", "seed", "weights", "status", "error",
    "psnr", "ssim", "seconds", "version", "commit", "host", "finished_at", *references.COLUMNS,
]
TEXT_COLUMNS = [
    "method", "config_name", "method_options", "config_hash", "dataset", "dataset_options",
    "dataset_hash", "image_id", "noise", "weights", "status", "error", "version", "commit", "host",
    "finished_at", *references.TEXT_COLUMNS,
]
JOB_ROWS = "job_rows.csv"
ROW_FILES = (JOB_ROWS, "rows.csv")
GROUP = ["dataset", "noise", "sigma"]


def write_rows_csv(rows: Iterable[Row], path: Path) -> None:
    frame = pd.DataFrame([row | {"noise": row_noise(row)} for row in rows], columns=ROW_COLUMNS)
    frame.to_csv(path, index=False)


def read_rows_csv(path: Path) -> list[Row]:
    """Rows as written by `write_rows_csv` (text columns kept as text: image id "001" stays "001")."""
    frame = pd.read_csv(path, dtype={column: str for column in TEXT_COLUMNS}, keep_default_na=False,
                        na_values={c: [""] for c in ROW_COLUMNS if c not in TEXT_COLUMNS})
    frame = frame.astype(object).where(frame.notna(), None)
    return frame.to_dict("records")


def collect_rows(folders: Sequence[str | Path]) -> list[Row]:
    """One row per key from every row file and store under `folders`."""
    rows: list[Row] = []
    for folder in map(Path, folders):
        if not folder.is_dir():
            raise BenchError(f"results folder not found: {folder}")
        for name in ROW_FILES:
            for path in sorted(folder.rglob(name)):
                rows.extend(read_rows_csv(path))
        for store_dir in sorted({path.parent for path in folder.rglob("rows-*.jsonl")}):
            rows.extend(ResultStore(store_dir).rows())
    return latest_rows(rows)


def labelled(rows: Iterable[Row]) -> pd.DataFrame:
    """Rows as a frame with display labels in `method` and `dataset`.

    A method is named by its config file (`bls_gsm2`), a dataset by its name; a name run with
    several configurations gets the options that tell them apart, e.g. `cn2(recipe=paper)`,
    `skimage(crop=32)`, or, when only their trained weights differ, their config hash
    (`cnblind(version=1a2b3c4)`)."""
    frame = pd.DataFrame([row | {"noise": row_noise(row)} for row in rows], columns=ROW_COLUMNS)
    for column in ("sigma", "psnr", "ssim", "seconds"):
        frame[column] = pd.to_numeric(frame[column])
    frame["weights"] = frame["weights"].astype(object).where(frame["weights"].notna(), "")
    frame["method_config"] = [json.loads(text or "{}") for text in frame["method_options"]]
    frame["dataset_config"] = [
        json.loads(text or "{}") | ({} if _missing(crop) else {"crop": int(crop)})
        for text, crop in zip(frame["dataset_options"], frame["crop"])
    ]
    names = pd.Series([config if isinstance(config, str) and config else method
                       for config, method in zip(frame["config_name"], frame["method"])])
    # Same name and options but several hashes in one comparison (dataset, noise model, σ): other
    # trained weights (which fingerprint into the hash); named by their hash, not averaged together.
    # Across σ or noise models one method may use different weights by design (cn2 per σ).
    comparison = [names, frame["method_options"], frame["dataset_hash"], frame["crop"], frame["noise"], frame["sigma"]]
    versions = frame.groupby(comparison, dropna=False)["config_hash"].transform("nunique") > 1
    frame["method_config"] = [config | {"version": str(digest)[:7]} if several else config
                              for config, digest, several in zip(frame["method_config"], frame["config_hash"], versions)]
    frame["method"] = _display_labels(names, frame["method_config"])
    frame["dataset"] = _display_labels(frame["dataset"], frame["dataset_config"])
    return frame


def leaderboard(frame: pd.DataFrame) -> pd.DataFrame:
    """Per dataset, noise model, σ and method: mean ± standard error over images, best PSNR first;
    `weights` names the trained parameters the method used there (e.g. the convnet's file)."""
    keys = [*GROUP, "method"]
    scores = _per_image(frame).groupby(keys).agg(
        n_images=("psnr", "size"), psnr_mean=("psnr", "mean"), psnr_se=("psnr", _standard_error),
        ssim_mean=("ssim", "mean"), ssim_se=("ssim", _standard_error),
        seconds_mean=("seconds", "mean"))
    failed = (frame.status == FAILED).groupby([frame[key] for key in keys]).sum().rename("n_failed")
    weights = frame.groupby(keys)["weights"].agg(lambda names: ", ".join(sorted(set(names) - {""})))
    table = frame[keys].drop_duplicates().join(scores, on=keys).join(failed, on=keys).join(weights, on=keys)
    table = table.join(references.summary(frame, keys), on=keys)
    table["n_images"] = table["n_images"].fillna(0).astype(int)
    table["n_failed"] = table["n_failed"].astype(int)
    columns = ["method", "dataset", "noise", "sigma", "n_images", "n_failed", "psnr_mean", "psnr_se",
               "published_psnr", "out_of_range", "ssim_mean", "ssim_se", "seconds_mean", "weights"]
    return table[columns].sort_values([*GROUP, "psnr_mean"], ascending=[True, True, True, False],
                                      na_position="last", ignore_index=True)


def paired_differences(frame: pd.DataFrame, board: pd.DataFrame) -> pd.DataFrame:
    """Every pair of methods per dataset, noise model and σ, over the images both finished (see
    module doc)."""
    per_image = _per_image(frame)
    records = []
    for (dataset, noise, sigma), ranked in board.groupby(GROUP, sort=False):
        scores = per_image[(per_image.dataset == dataset) & (per_image.noise == noise) & (per_image.sigma == sigma)]
        by_method = dict(tuple(scores.groupby("method")))
        methods = [name for name in ranked.method if name in by_method]
        for better, worse in combinations(methods, 2):
            both = by_method[better].merge(by_method[worse], on="image_id", suffixes=("_a", "_b"))
            difference = both.psnr_a - both.psnr_b
            records.append({
                "dataset": dataset, "noise": noise, "sigma": sigma, "method_a": better, "method_b": worse,
                "n_images": len(both), "psnr_diff_mean": _mean(difference),
                "psnr_diff_se": _standard_error(difference),
                "p_value": _paired_p_value(both.psnr_a, both.psnr_b),
                "ssim_diff_mean": _mean(both.ssim_a - both.ssim_b),
            })
    return pd.DataFrame(records, columns=[
        "dataset", "noise", "sigma", "method_a", "method_b", "n_images", "psnr_diff_mean", "psnr_diff_se",
        "p_value", "ssim_diff_mean"])


def selected_pairs(paired: pd.DataFrame, pairs: Sequence[tuple[str, str]]) -> pd.DataFrame:
    """The paired differences A − B for the asked pairs, signed as asked (paired.csv orders each
    pair by rank instead), e.g. the paper's claims CN2 − BLS-GSM and CNBlind − CN2 per σ."""
    records = []
    for a, b in pairs:
        for _, row in paired[paired.method_a.isin([a, b]) & paired.method_b.isin([a, b])].iterrows():
            sign = 1.0 if row.method_a == a else -1.0
            records.append(row.to_dict() | {"method_a": a, "method_b": b,
                                            "psnr_diff_mean": sign * row.psnr_diff_mean,
                                            "ssim_diff_mean": sign * row.ssim_diff_mean})
    return pd.DataFrame(records, columns=paired.columns)


def write_report(rows: Sequence[Row], out: Path, info: Mapping[str, Any],
                 pairs: Sequence[tuple[str, str]] = ()) -> pd.DataFrame:
    """rows.csv, leaderboard.csv, paired.csv, leaderboard.md in `out` (and pairs.csv for the
    asked `pairs`); returns the leaderboard."""
    out.mkdir(parents=True, exist_ok=True)
    write_rows_csv(rows, out / "rows.csv")
    frame = labelled(rows)
    board = leaderboard(frame)
    paired = paired_differences(frame, board)
    board.to_csv(out / "leaderboard.csv", index=False)
    paired.to_csv(out / "paired.csv", index=False)
    chosen = selected_pairs(paired, pairs) if pairs else None
    if chosen is not None:
        chosen.to_csv(out / "pairs.csv", index=False)
    (out / "leaderboard.md").write_text(markdown_report(frame, board, paired, info, chosen), encoding="utf-8")
    return board


def markdown_report(frame: pd.DataFrame, board: pd.DataFrame, paired: pd.DataFrame,
                    info: Mapping[str, Any], chosen: pd.DataFrame | None = None) -> str:
    lines = ["# Leaderboard", ""]
    lines += [f"- {key}: `{value}`" for key, value in info.items()]
    lines += ["", "## Mean PSNR (dB) ± standard error, by σ", "", markdown_table(psnr_by_sigma(board))]
    if chosen is not None:
        lines += ["", "## Selected paired differences (A − B, signed as asked; paired t-test)", "",
                  markdown_table(_formatted(chosen)) if len(chosen) else "(none of the pairs has results)"]
    lines += ["", "## Mean over images (± standard error)", "", markdown_table(_formatted(board))]
    lines += ["", "## Paired differences (A − B over the images both finished; paired t-test)", "",
              markdown_table(_formatted(paired)) if len(paired) else "(fewer than two methods)"]
    lines += ["", "## Configurations", "", markdown_table(_configurations(frame))]
    if len(sources := references.sources(frame)):
        lines += ["", "## Reference weights (published: the authors' average, gaussian protocol)", "",
                  markdown_table(sources)]
    failures = frame[frame.status == FAILED]
    if len(failures):
        lines += ["", "## Failures", "", markdown_table(
            failures[["method", "dataset", "noise", "sigma", "seed", "image_id", "error"]].astype(str))]
    return "\n".join(lines) + "\n"


def psnr_by_sigma(board: pd.DataFrame) -> pd.DataFrame:
    """One row per (dataset, noise model, method), one column per σ: the paper's Figure 2 as a table.

    Rows follow the ranking at the lowest σ; a cell is blank where the method has no result, and
    notes a published average or a σ outside the method's trained range."""
    cells = board.assign(
        cell=[f"{m:.2f} ± {se:.2f}{note}" if pd.notna(m) else ""
              for m, se, note in zip(board.psnr_mean, board.psnr_se, references.cell_notes(board))]
    )
    table = cells.pivot_table(index=["dataset", "noise", "method"], columns="sigma", values="cell", aggfunc="first",
                              sort=False).fillna("")
    table.columns = [f"σ={sigma:g}" for sigma in table.columns]
    return table.reset_index()


def markdown_table(frame: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table of the frame's cells as text (no extra dependency)."""
    def cell(value: Any) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    header = "| " + " | ".join(map(cell, frame.columns)) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(map(cell, values)) + " |" for values in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def print_summary(board: pd.DataFrame, out: Path) -> None:
    print(markdown_table(_formatted(board)))
    print(f"leaderboard written to {out}/leaderboard.md (and .csv, paired.csv, rows.csv)")


def _per_image(frame: pd.DataFrame) -> pd.DataFrame:
    """Successful rows averaged over seeds: one value per (dataset, σ, method, image)."""
    finished = frame[frame.status == OK]
    return (finished.groupby([*GROUP, "method", "image_id"], as_index=False)
            [["psnr", "ssim", "seconds"]].mean())


def _display_labels(names: pd.Series, configs: pd.Series) -> list[str]:
    variants: dict[str, list[dict[str, Any]]] = {}
    for name, config in zip(names, configs):
        if config not in variants.setdefault(name, []):
            variants[name].append(config)
    labels = []
    for name, config in zip(names, configs):
        keys = sorted({key for variant in variants[name] for key in variant
                       if any(other.get(key) != variant.get(key) for other in variants[name])})
        shown = ", ".join(f"{key}={_compact(config.get(key))}" for key in keys)
        labels.append(f"{name}({shown})" if shown else name)
    return labels


def _configurations(frame: pd.DataFrame) -> pd.DataFrame:
    methods = frame.drop_duplicates("method")[["method", "config_hash", "method_options"]]
    datasets = frame.drop_duplicates("dataset")[["dataset", "dataset_hash", "dataset_config"]]
    return pd.concat([
        pd.DataFrame({"kind": "method", "label": methods.method, "hash": methods.config_hash,
                      "options": methods.method_options}),
        pd.DataFrame({"kind": "dataset", "label": datasets.dataset, "hash": datasets.dataset_hash,
                      "options": [_compact(c) for c in datasets.dataset_config]}),
    ], ignore_index=True)


def _formatted(table: pd.DataFrame) -> pd.DataFrame:
    """Numbers rounded for reading (the CSV files keep full precision)."""
    digits = {"psnr_mean": 2, "psnr_se": 2, "published_psnr": 2, "psnr_diff_mean": 2, "psnr_diff_se": 2,
              "ssim_mean": 4, "ssim_se": 4, "ssim_diff_mean": 4}
    shown = table.astype(object).copy()
    for column in table.columns:
        if column in digits:
            shown[column] = [_fixed(value, digits[column]) for value in table[column]]
        elif column in ("seconds_mean", "p_value"):
            shown[column] = [_significant(value) for value in table[column]]
        elif column == "sigma":
            shown[column] = [f"{value:g}" for value in table[column]]
    return shown


def _fixed(value: float, digits: int) -> str:
    return "–" if _missing(value) else f"{value:.{digits}f}"


def _significant(value: float) -> str:
    return "–" if _missing(value) else f"{value:.3g}"


def _compact(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _mean(values: pd.Series) -> float:
    return float(values.mean()) if len(values) else math.nan


def _standard_error(values: pd.Series) -> float:
    return float(values.std(ddof=1) / math.sqrt(len(values))) if len(values) > 1 else math.nan


def _paired_p_value(a: pd.Series, b: pd.Series) -> float:
    if len(a) < 2:
        return math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # identical pairs: p is undefined (nan)
        return float(stats.ttest_rel(a.to_numpy(), b.to_numpy()).pvalue)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.leaderboard",
        description="Rebuild leaderboard.csv/.md, paired.csv and rows.csv from results folders "
                    "(run or sweep folders, results stores).")
    parser.add_argument("folders", nargs="+", help="folders to read rows from (searched recursively)")
    parser.add_argument("--out", required=True, type=Path, help="folder to write the report into")
    parser.add_argument("--pairs", nargs="+", default=[], metavar="A:B",
                        help="method pairs whose paired difference A − B gets its own table (pairs.csv)")
    args = parser.parse_args(argv)
    try:
        rows = collect_rows(args.folders)
        if not rows:
            raise BenchError(f"no result rows found under {', '.join(args.folders)}")
        info = {"command": command_line(), "version": package_version(), "commit": git_commit()}
        board = write_report(rows, args.out, info, [_pair(text) for text in args.pairs])
    except BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print_summary(board, args.out)
    return 0


def _pair(text: str) -> tuple[str, str]:
    a, colon, b = text.partition(":")
    if not (colon and a and b):
        raise BenchError(f"a pair is written A:B (e.g. cn2:bls_gsm), got {text!r}")
    return a, b


if __name__ == "__main__":
    sys.exit(main())
