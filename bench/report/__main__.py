"""`python -m bench.report <folders> --out report.html`: the HTML report of any results folders
(run or sweep folders, results stores), like `python -m bench.leaderboard` for the CSV files."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from bench.errors import BenchError
from bench.leaderboard import collect_rows
from bench.plugins import load_plugins
from bench.provenance import command_line, git_commit, package_version
from bench.report.page import write_html_report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.report", description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", help="folders to read rows from (searched recursively)")
    parser.add_argument("--out", required=True, type=Path, help="the HTML file to write")
    parser.add_argument("--reference", default=None, help="reference method (default: the best classical one)")
    parser.add_argument("--gallery", type=int, default=1, metavar="N",
                        help="re-run the methods on the first N images for the gallery (0: none; default 1)")
    parser.add_argument("--gallery-images", nargs="+", default=None, metavar="ID",
                        help="the image ids to show instead of the first N")
    parser.add_argument("--gallery-sigma", type=float, default=None, help="σ of the gallery (default: the middle one)")
    parser.add_argument("--plugins", nargs="*", default=[], help="modules or files that register the methods")
    args = parser.parse_args(argv)
    try:
        load_plugins(args.plugins)
        rows = collect_rows(args.folders)
        if not rows:
            raise BenchError(f"no result rows found under {', '.join(args.folders)}")
        info = {"command": command_line(), "version": package_version(), "commit": git_commit()}
        write_html_report(rows, args.out, info, reference=args.reference,
                          gallery_images=args.gallery_images or args.gallery, gallery_sigma=args.gallery_sigma)
    except BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
