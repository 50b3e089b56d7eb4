"""The learned Field of Experts priors `foe` can use, read from files checked against their SHA-256.

Three priors of the same form, E(x) = Σ_cliques Σ_i α_i log(1 + ½ (J_iᵀ x_c)²) on 0–255 images:
Roth & Black's own 5×5 (24 experts) and 3×3 (8 experts) models, in the ASCII `.foe` format of
the copies that ceres-solver ships (methods/weights/foe_roth.md), and van der Maaten's 2009 5×5
model (methods/weights/foe_5x5.md), the project's earlier default.
"""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.errors import BenchError

WEIGHTS_DIR = Path(__file__).with_name("weights")


@dataclass(frozen=True)
class FoEPrior:
    """Filters J_i as s×s arrays (J_iᵀ x_c = Σ_uv filters[i, u, v] · x[r+u, c+v] for the clique
    whose top-left pixel is (r, c)) and expert weights α_i."""

    filters: np.ndarray
    alphas: np.ndarray

    @property
    def clique(self) -> int:
        return self.filters.shape[-1]


@dataclass(frozen=True)
class PriorFile:
    path: Path
    sha256: str


PRIORS = {
    "roth5x5": PriorFile(WEIGHTS_DIR / "foe_roth_5x5.foe",
                         "ad85b5fbf567ffd65ef6225ab9a4c5891d6c705b5bae0f5a9d5a72ceee752491"),
    "roth3x3": PriorFile(WEIGHTS_DIR / "foe_roth_3x3.foe",
                         "7f5c37342406c77b02b7b283bdcfafa21d5ce5b7529cb544048a421eb1c75d69"),
    "vandermaaten": PriorFile(WEIGHTS_DIR / "foe_5x5.npz",
                              "f34149fa2a92a15324f84b508be998bd480f580288282d2ab5f30c42f68d5522"),
}


def parse_foe(text: str, source: str) -> FoEPrior:
    """Roth & Black's `.foe` text: `s K`, the s² column offsets, the s² row offsets, K weights α,
    then K rows of s² coefficients in the offset order. Every filter coefficient is placed at its
    (row, column) offset, so the file's pixel order does not matter."""
    tokens = text.split()
    try:
        side, count = int(tokens[0]), int(tokens[1])
        if side < 2 or count < 1:
            raise ValueError(f"clique side {side} and expert count {count} must be ≥ 2 and ≥ 1")
        taps = side * side
        expected = 2 + 2 * taps + count + count * taps
        if len(tokens) != expected:
            raise ValueError(f"{len(tokens)} numbers where `{side} {count}` needs {expected} (truncated?)")
        cols = np.array(tokens[2:2 + taps], dtype=int)
        rows = np.array(tokens[2 + taps:2 + 2 * taps], dtype=int)
        alphas = np.array(tokens[2 + 2 * taps:2 + 2 * taps + count], dtype=np.float64)
        coefficients = np.array(tokens[2 + 2 * taps + count:], dtype=np.float64).reshape(count, taps)
    except (IndexError, ValueError) as error:
        raise BenchError(f"FoE prior {source} is not a valid .foe file: {error}") from None
    offsets = set(zip(rows.tolist(), cols.tolist()))
    if offsets != {(r, c) for r in range(side) for c in range(side)}:
        raise BenchError(f"FoE prior {source}: the offsets do not cover the {side}×{side} clique once each")
    filters = np.zeros((count, side, side))
    filters[:, rows, cols] = coefficients
    return FoEPrior(filters, alphas)


def parse_npz(path: Path) -> FoEPrior:
    """The `.npz` of van der Maaten's prior: arrays `filters` (N×5×5) and `alphas` (N)."""
    try:
        with np.load(path) as arrays:
            filters, alphas = arrays["filters"].astype(np.float64), arrays["alphas"].astype(np.float64)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as error:
        raise BenchError(f"FoE prior {path} is not a valid parameter file: {error}") from None
    return FoEPrior(filters, alphas)


def load_prior_file(path: Path, sha256: str | None) -> FoEPrior:
    """A prior from a `.foe` or `.npz` file, checked against `sha256` (None skips the check)."""
    try:
        content = Path(path).read_bytes()
    except OSError as error:
        raise BenchError(f"FoE prior {path} cannot be read: {error.strerror or error}") from None
    if sha256 is not None and hashlib.sha256(content).hexdigest() != sha256:
        raise BenchError(f"FoE prior {path} is corrupt or truncated: its SHA-256 is not the recorded {sha256[:12]}…")
    if Path(path).suffix == ".foe":
        prior = parse_foe(content.decode("ascii", errors="replace"), str(path))
    else:
        prior = parse_npz(Path(path))
    filters, alphas = prior.filters, prior.alphas
    if filters.ndim != 3 or filters.shape[1] != filters.shape[2] or alphas.shape != filters.shape[:1]:
        raise BenchError(f"FoE prior {path}: expected N×s×s filters and N alphas, got "
                         f"{filters.shape} and {alphas.shape}")
    if not (np.isfinite(filters).all() and np.isfinite(alphas).all() and (alphas > 0).all()):
        raise BenchError(f"FoE prior {path}: the coefficients must be finite and every α > 0")
    return prior


def load_prior(name: str = "roth5x5") -> FoEPrior:
    """A shipped prior by name (`roth5x5`, `roth3x3`, `vandermaaten`)."""
    if name not in PRIORS:
        raise BenchError(f"unknown FoE prior {name!r}; choose one of {', '.join(PRIORS)}")
    return load_prior_file(PRIORS[name].path, PRIORS[name].sha256)
