"""`report.html`: one self-contained page to read a run's results in a browser.

Everything is inline — CSS, two small scripts (click a column header to sort a table; pick the
reference of the difference plot), plots as SVG and images as PNG in data: URLs — so the file can
be mailed, archived or opened offline, and loads nothing from the network.

Sections: the leaderboard; PSNR − reference per σ with 95 % intervals (one plot per possible
reference, the best classical method shown first, see bench.report.tags); the paired difference
matrix with p-values per dataset and σ; PSNR per image; the gallery (bench.report.gallery).
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image

from bench.errors import BenchError
from bench.figures import difference_figure, plt
from bench.leaderboard import GROUP, labelled, leaderboard, paired_differences
from bench.report.gallery import GalleryItem, gallery
from bench.report.statistics import CONFIDENCE, default_reference, differences_to_reference
from bench.report.tags import CLASSICAL, kept_in_figures, method_tags
from bench.store import FAILED, OK, Row

SIGNIFICANT = 0.05
ZOOM_PIXELS = 160  # the zoomed crops are shown this wide
MIN_IMAGE_PIXELS = 192  # smaller images (crops) are enlarged to this width

STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em auto; max-width: 1200px; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ddd; padding: 2px 8px; text-align: right; white-space: nowrap; }
th { background: #f3f3f3; } td.text, th.text { text-align: left; }
table.sortable th { cursor: pointer; user-select: none; }
th[data-order=asc]::after { content: " ▲"; } th[data-order=desc]::after { content: " ▼"; }
td.better { background: #d9f2d9; } td.worse { background: #f8dada; } td.tie { color: #777; }
.scroll { max-height: 32em; overflow: auto; }
figure.plot[hidden] { display: none; } figure { margin: 0.5em 0; }
.gallery { display: flex; flex-wrap: wrap; gap: 10px; }
.gallery figure { margin: 0; } .gallery img { display: block; image-rendering: pixelated; }
figcaption { font-size: 12px; } .note { color: #555; font-size: 13px; }
"""

SCRIPT = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("th").forEach(function (header, column) {
    header.addEventListener("click", function () {
      var ascending = header.dataset.order !== "asc";
      table.querySelectorAll("th").forEach(function (other) { delete other.dataset.order; });
      header.dataset.order = ascending ? "asc" : "desc";
      var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
      var key = function (row) {
        var cell = row.cells[column], text = cell.dataset.value !== undefined ? cell.dataset.value : cell.textContent;
        var number = parseFloat(text);
        return isNaN(number) ? text : number;
      };
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        if (typeof x !== typeof y) { x = String(x); y = String(y); }
        return (x < y ? -1 : x > y ? 1 : 0) * (ascending ? 1 : -1);
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
var choice = document.getElementById("reference");
if (choice) {
  choice.addEventListener("change", function () {
    document.querySelectorAll("figure.plot").forEach(function (plot) {
      plot.hidden = plot.dataset.reference !== choice.value;
    });
  });
}
"""


def write_html_report(rows: Sequence[Row], out: Path, info: Mapping[str, Any], reference: str | None = None,
                      gallery_images: int | Sequence[str] = 1, gallery_sigma: float | None = None) -> Path:
    """Write the page for `rows` to `out` (see the module doc); `gallery_images=0` leaves out the gallery."""
    frame = labelled(rows)
    board = leaderboard(frame)
    paired = paired_differences(frame, board)
    tags = method_tags()
    sections = [
        f"<h1>denoise-bench report</h1>\n{_info(info)}",
        f"<h2>Leaderboard</h2>\n{_leaderboard(board)}",
        f"<h2>PSNR − reference, per σ</h2>\n{_differences(board, paired, tags, reference)}",
        f"<h2>Paired differences</h2>\n{_matrices(board, paired)}",
        f"<h2>PSNR per image</h2>\n{_per_image(frame)}",
        f"<h2>Gallery</h2>\n{_gallery_section(rows, gallery_images, gallery_sigma)}",
    ]
    failures = frame[frame.status == FAILED]
    if len(failures):
        sections.append("<h2>Failures</h2>\n" + _table(
            failures[["method", *GROUP, "seed", "image_id", "error"]].astype(str), sortable=True))
    page = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<title>denoise-bench report</title><link rel=\"icon\" href=\"data:,\">"
            f"<style>{STYLE}</style></head>\n<body>\n" + "\n".join(sections) +
            f"\n<script>{SCRIPT}</script>\n</body></html>\n")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out


def _info(info: Mapping[str, Any]) -> str:
    items = "".join(f"<li>{escape(str(key))}: <code>{escape(str(value))}</code></li>" for key, value in info.items())
    return f"<ul class=\"note\">{items}</ul>"


def _leaderboard(board: pd.DataFrame) -> str:
    shown = board.assign(psnr=[_plus_minus(m, se, 2) for m, se in zip(board.psnr_mean, board.psnr_se)],
                         ssim=[_plus_minus(m, se, 4) for m, se in zip(board.ssim_mean, board.ssim_se)])
    columns = [c for c in board.columns if c not in ("psnr_mean", "psnr_se", "ssim_mean", "ssim_se", "seconds_mean")]
    table = shown[[*columns, "psnr", "ssim", "seconds_mean"]].rename(
        columns={"psnr": "PSNR (dB) ± SE", "ssim": "SSIM ± SE", "seconds_mean": "seconds"})
    values = {"PSNR (dB) ± SE": board.psnr_mean, "SSIM ± SE": board.ssim_mean}
    return (_table(table, sortable=True, values=values) +
            "<p class=\"note\">Mean over images (each averaged over seeds) ± standard error; "
            "click a column header to sort.</p>")


def _differences(board: pd.DataFrame, paired: pd.DataFrame, tags: Mapping[str, frozenset[str]],
                 reference: str | None) -> str:
    if paired.empty:
        return "<p class=\"note\">(fewer than two methods)</p>"
    first = reference or default_reference(board, tags)
    candidates = [first, *[m for m in board.dropna(subset=["psnr_mean"]).method.unique() if m != first]]
    left_out = [m for m, kept in zip(candidates, kept_in_figures(candidates)) if not kept]
    options, plots = [], []
    for method in candidates:
        differences = differences_to_reference(paired, method)
        differences = differences[[m not in left_out for m in differences.method]]
        if differences.empty:
            continue
        selected = method == first
        options.append(f"<option value=\"{escape(method)}\"{' selected' if selected else ''}>{escape(method)}</option>")
        plots.append(f"<figure class=\"plot\" data-reference=\"{escape(method)}\"{'' if selected else ' hidden'}>"
                     f"<img alt=\"PSNR minus {escape(method)}\" src=\"{_svg(difference_figure(differences))}\">"
                     "</figure>")
    classical = sorted(m for m in board.method.unique() if CLASSICAL in tags.get(m, ()))
    return (f"<p>Reference: <select id=\"reference\">{''.join(options)}</select></p>\n" + "\n".join(plots) +
            f"<p class=\"note\">Each point: the mean over images of PSNR(method) − PSNR(reference) on the "
            f"same noisy images, with its {CONFIDENCE:.0%} interval (Student t on the paired differences). "
            f"An interval that misses 0 is a real difference. The default reference is the best "
            f"<em>classical</em> method present — hand-designed, nothing learned from training images "
            f"(here: {escape(', '.join(classical) or 'none present, so the best method')})." +
            (f" Not plotted, to keep the axis readable (tagged non-paper or truncated; their numbers are "
             f"in the tables): {escape(', '.join(left_out))}." if left_out else "") + "</p>")


def _matrices(board: pd.DataFrame, paired: pd.DataFrame) -> str:
    """Per group, a method × method table: row − column in dB, paired SE and p-value."""
    parts = []
    for group, ranked in board.groupby(GROUP, sort=False):
        key = dict(zip(GROUP, group))
        mine = paired.loc[(paired[GROUP] == pd.Series(key)).all(axis=1)]
        methods = [m for m in ranked.method if m in set(mine.method_a) | set(mine.method_b)]
        if len(methods) < 2:
            continue
        cells = {}
        for pair in mine.itertuples():
            cells[pair.method_a, pair.method_b] = (pair.psnr_diff_mean, pair.psnr_diff_se, pair.p_value)
            cells[pair.method_b, pair.method_a] = (-pair.psnr_diff_mean, pair.psnr_diff_se, pair.p_value)
        header = "".join(f"<th>{escape(m)}</th>" for m in methods)
        body = "".join(f"<tr><th class=\"text\">{escape(a)}</th>" +
                       "".join(_matrix_cell(cells.get((a, b))) for b in methods) + "</tr>" for a in methods)
        title = ", ".join(f"{k} = {v:g}" if isinstance(v, float) else f"{k} = {v}" for k, v in key.items())
        parts.append(f"<h3>{escape(title)}</h3><table><thead><tr><th class=\"text\">row − column</th>"
                     f"{header}</tr></thead><tbody>{body}</tbody></table>")
    note = (f"<p class=\"note\">Mean PSNR difference (dB) row − column over the images both finished, "
            f"± paired standard error, and the paired t-test p-value; green: row significantly better "
            f"(p &lt; {SIGNIFICANT}), red: significantly worse.</p>")
    return note + "\n".join(parts)


def _matrix_cell(cell: tuple[float, float, float] | None) -> str:
    if cell is None:
        return "<td></td>"
    mean, se, p = cell
    kind = "tie" if not p < SIGNIFICANT else ("better" if mean > 0 else "worse")
    return f"<td class=\"{kind}\">{mean:+.2f} ± {se:.2f}<br><small>p = {p:.2g}</small></td>"


def _per_image(frame: pd.DataFrame) -> str:
    scores = (frame[frame.status == OK].groupby([*GROUP, "image_id", "method"]).psnr.mean()
              .unstack("method").reset_index())
    scores.columns.name = None
    methods = [c for c in scores.columns if c not in (*GROUP, "image_id")]
    shown = scores.astype(object)
    for column in methods:
        shown[column] = [_number(value, 2) for value in scores[column]]
    values = {column: scores[column] for column in methods}
    return ("<div class=\"scroll\">" + _table(shown, sortable=True, values=values) + "</div>"
            "<p class=\"note\">PSNR (dB) of each image, averaged over seeds.</p>")


def _gallery_section(rows: Sequence[Row], images: int | Sequence[str], sigma: float | None) -> str:
    """The gallery, or why there is none (a dataset that cannot be read here any more, say)."""
    try:
        return _gallery(gallery(rows, images, sigma))
    except BenchError as error:
        return f"<p class=\"note\">(no gallery: {escape(str(error))})</p>"


def _gallery(items: list[GalleryItem]) -> str:
    if not items:
        return "<p class=\"note\">(no gallery: no finished rows, or gallery_images = 0)</p>"
    parts = []
    for item in items:
        top, left, size = item.zoom
        figures = []
        for panel in item.panels:
            zoomed = panel.image[top : top + size, left : left + size]
            figures.append(
                f"<figure><img alt=\"{escape(panel.caption)}\" src=\"{_png(panel.image)}\" "
                f"width=\"{max(panel.image.shape[1], MIN_IMAGE_PIXELS)}\">"
                f"<img alt=\"{escape(panel.caption)} zoomed\" src=\"{_png(zoomed, ZOOM_PIXELS)}\">"
                f"<figcaption>{escape(panel.caption)}</figcaption></figure>")
        skipped = "".join(f"<li>{escape(text)}</li>" for text in item.skipped)
        unchanged = (f"<p class=\"note\">Returned the noisy input unchanged, not shown again: "
                     f"{escape(', '.join(item.unchanged))}.</p>" if item.unchanged else "")
        parts.append(f"<h3>{escape(item.title)}</h3><div class=\"gallery\">{''.join(figures)}</div>"
                     f"<p class=\"note\">Below each image: rows {top}–{top + size}, columns {left}–{left + size}, "
                     f"enlarged. Values outside 0–255 are clipped for display only.</p>" + unchanged +
                     (f"<p class=\"note\">Skipped:</p><ul class=\"note\">{skipped}</ul>" if skipped else ""))
    return "\n".join(parts)


def _table(frame: pd.DataFrame, sortable: bool = False, values: Mapping[str, pd.Series] | None = None) -> str:
    """An HTML table; `values` gives numbers to sort by for columns shown as formatted text."""
    values = values or {}
    numeric = {c for c in frame.columns if c in values or pd.api.types.is_numeric_dtype(frame[c])}
    header = "".join(f"<th class=\"{'num' if c in numeric else 'text'}\">{escape(str(c))}</th>" for c in frame.columns)
    body = []
    for index in range(len(frame)):
        cells = []
        for column in frame.columns:
            shown = frame[column].iloc[index]
            if column in numeric:
                number = values[column].iloc[index] if column in values else shown
                cells.append(f"<td data-value=\"{_sort_value(number)}\">{escape(_format(shown))}</td>")
            else:
                cells.append(f"<td class=\"text\">{escape(str(shown))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    kind = " class=\"sortable\"" if sortable else ""
    return f"<table{kind}><thead><tr>{header}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _sort_value(number: Any) -> str:
    return "-Infinity" if pd.isna(number) else repr(float(number))


def _format(value: Any) -> str:
    if isinstance(value, float):
        return "–" if pd.isna(value) else f"{value:.3g}"
    return str(value)


def _number(value: float, digits: int) -> str:
    return "–" if pd.isna(value) else f"{value:.{digits}f}"


def _plus_minus(mean: float, se: float, digits: int) -> str:
    return "–" if pd.isna(mean) else f"{mean:.{digits}f} ± {_number(se, digits)}"


def _svg(figure: plt.Figure) -> str:
    buffer = io.BytesIO()
    with plt.rc_context({"svg.fonttype": "none"}):
        figure.tight_layout()
        figure.savefig(buffer, format="svg")
    plt.close(figure)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _png(image: np.ndarray, width: int | None = None) -> str:
    picture = Image.fromarray(np.clip(np.round(image), 0, 255).astype(np.uint8))
    if width is not None and picture.width:
        picture = picture.resize((width, max(1, round(picture.height * width / picture.width))), Image.NEAREST)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
