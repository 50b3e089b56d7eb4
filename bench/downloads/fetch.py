"""Download one file with pooch, checked against its SHA-256, with one-line errors.

pooch streams into a temporary file beside the target and moves it into place only once the
hash matches, so a failed or mismatching download leaves nothing half-written in the cache; a
file already there with the right hash is not downloaded again.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pooch

from bench.errors import BenchError

APP = "denoise-bench"


def cache_folder(cache: str | os.PathLike | None) -> Path:
    """The user's choice, else pooch's per-user cache folder (e.g. ~/.cache/denoise-bench)."""
    return Path(cache).expanduser() if cache is not None else Path(pooch.os_cache(APP))


def fetch(url: str, sha256: str, fname: str, folder: Path, hint: str, processor: Any = None) -> Any:
    """`folder/fname` downloaded from `url` unless present with the right hash; pooch's return
    value (the path, or what `processor` makes of it). `hint` tells the user what to do instead
    when the server cannot be reached."""
    try:
        return pooch.retrieve(url, known_hash=f"sha256:{sha256}", fname=fname, path=folder,
                              processor=processor, progressbar=True)
    except ValueError as error:  # pooch's report of a hash mismatch
        raise BenchError(
            f"checksum failed for {fname} downloaded from {url}: {' '.join(str(error).split())}"
        ) from None
    except OSError as error:  # includes requests' connection and HTTP errors
        raise BenchError(f"cannot download {fname} from {url} ({_reason(error)}); {hint}") from None


def _reason(error: OSError) -> str:
    """The HTTP status, else the kind of failure (requests' own text repeats the URL at length)."""
    response = getattr(error, "response", None)
    if response is not None:
        return f"HTTP {response.status_code} {response.reason}"
    return type(error).__name__
