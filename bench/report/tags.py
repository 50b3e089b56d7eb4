"""What kind of method a leaderboard row is, from `tags:` in its config file (conf/method/*.yaml).

- `classical`: hand-designed, learns nothing from training images (wavelet, tv, nlm, bm3d,
  bls_gsm, bls_gsm2; BLS-GSM fits its model to the noisy image itself). The HTML report's default
  reference is the best classical method present: the bar a learned method has to clear.
- `non-paper`: a variant the paper did not have (cn2_x8, CN2's test-time self-ensemble).
- `truncated`: a training run cut far short of its recipe (cn2_paper: 0.2 % of the paper's schedule).
- `floor`: not a denoiser (`noisy`, the input itself), 5–15 dB below every method.
Figure 2 and the difference plots leave out `non-paper`, `truncated` and `floor` rows unless asked:
Figure 2 to keep the paper's form, both so that one far-off row does not squash the axis.
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Iterable

import yaml

CLASSICAL = "classical"
LEFT_OUT_OF_FIGURES = frozenset({"non-paper", "truncated", "floor"})


def method_tags() -> dict[str, frozenset[str]]:
    """Config name → its tags, for every shipped method config."""
    folder = importlib.resources.files("bench.conf") / "method"
    tags = {}
    for entry in folder.iterdir():
        if entry.name.endswith(".yaml"):
            config = yaml.safe_load(entry.read_text(encoding="utf-8")) or {}
            tags[entry.name.removesuffix(".yaml")] = frozenset(config.get("tags") or ())
    return tags


def kept_in_figures(methods: Iterable[str]) -> list[bool]:
    """For each method label: False for rows tagged `non-paper`, `truncated` or `floor`."""
    tags = method_tags()
    return [not (tags.get(method, frozenset()) & LEFT_OUT_OF_FIGURES) for method in methods]
