"""A method in one file: the README's example runs as written, the checker passes it and fails
broken methods naming the reason, and methods and datasets need no YAML file."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import TEST_PLUGINS

from bench.check.__main__ import main as check_main

README = Path(__file__).parents[1] / "README.md"


def readme_example() -> tuple[str, list[str]]:
    """The file and the commands of README's "Adding a method", as written there."""
    section = README.read_text(encoding="utf-8").split("## Adding a method")[1]
    source = re.search(r"Write `my/median.py`:\n\n```python\n(.*?)```", section, re.S).group(1)
    commands = re.search(r"then benchmark it:\n\n```bash\n(.*?)```", section, re.S).group(1)
    return source, commands.strip().splitlines()


def run(command: list[str], folder: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_the_readme_example_runs_as_written(tmp_path) -> None:
    source, commands = readme_example()
    (tmp_path / "my").mkdir()
    (tmp_path / "my" / "median.py").write_text(source, encoding="utf-8")
    assert len(commands) == 3
    for command in commands:
        words = shlex.split(command)
        assert words[0] == "python"
        result = run([sys.executable, *words[1:]], tmp_path)
        assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
        if words[2] == "bench.check":
            assert result.stdout.rstrip().endswith("all checks passed")
            assert "FAIL" not in result.stdout
    sweep = next((tmp_path / "multirun").glob("*/*"))
    board = pd.read_csv(sweep / "leaderboard.csv")
    assert sorted(set(board.method)) == ["median", "wavelet"] and set(board.n_images) == {12}
    assert (sweep / "report.html").is_file()
    single = pd.read_csv(next((tmp_path / "outputs").glob("*/*/leaderboard.csv")))
    options = pd.read_csv(next((tmp_path / "outputs").glob("*/*/rows.csv"))).method_options
    assert single.method.tolist() == ["median"] and set(options) == {'{"size": 5}'}


@pytest.fixture
def check(capsys):
    """`python -m bench.check ARGS --plugins <the tests' plugins file>` in this process: (status, lines).
    (As a file, like tests/test_runner.py: importing it under a second module name would register
    its methods twice.)"""

    def run_check(*args: str) -> tuple[int, list[str]]:
        status = check_main([*args, "--plugins", str(TEST_PLUGINS / "bench_test_plugins.py")])
        captured = capsys.readouterr()
        return status, (captured.out + captured.err).splitlines()

    return run_check


@pytest.mark.parametrize("mode, reason", [
    ("shape", "FAIL  output shape and dtype: returned shape (63, 64) for input shape (64, 64)"),
    ("nan", "FAIL  finite values: 4096 NaN and 0 infinite values among 4096"),
    ("inplace", "FAIL  input not modified: denoise changed 4096 of 4096 pixels of its input array"),
])
def test_the_checker_fails_a_broken_method_naming_the_reason(check, mode: str, reason: str) -> None:
    status, lines = check("broken", "-o", f"mode={mode}")
    assert status == 1 and reason in lines and "checks failed" in lines[-1]


def test_the_checker_passes_a_non_blind_method_and_rejects_unknown_ones(check) -> None:
    status, lines = check("wavelet")
    assert status == 0 and lines[-1] == "all checks passed"
    assert "PASS  non-blind: refuses σ ≤ 0 or None: raises for σ = 0, negative and None" in lines
    status, lines = check("xyz")
    assert status == 2 and lines[-1].startswith("error: unknown method 'xyz'; available: ")


def test_the_checker_fails_a_non_blind_method_that_accepts_any_sigma(check) -> None:
    status, lines = check("sleepy")
    assert status == 1
    assert any(line.startswith("FAIL  non-blind: refuses σ ≤ 0 or None: denoised with σ = 0, -25, None "
                               "instead of raising an error") for line in lines)


TILES = '''
import numpy as np
from bench import register_dataset


class Tiles:
    name = "tiles"

    def __init__(self, n, size):
        self.n, self.size = n, size

    def ids(self):
        return [f"tile{i}" for i in range(self.n)]

    def load(self, image_id):
        return np.full((self.size, self.size), 10.0 * int(image_id[4:])) + np.eye(self.size) * 100


@register_dataset("tiles")
def tiles(level: float, n: int = 3, size: int = 16):  # no default: level must be given
    return Tiles(n, size)
'''


def test_a_dataset_needs_no_yaml_and_a_yaml_file_still_wins(bench_cli) -> None:
    (bench_cli.folder / "tiles.py").write_text(TILES, encoding="utf-8")
    result = bench_cli("plugins=[tiles.py,bench_test_plugins]", "dataset=tiles", "dataset.options.n=2",
                       "dataset.options.level=10", "method=noisy", "hydra.run.dir=run")
    assert result.returncode == 0, result.stderr
    assert pd.read_csv(bench_cli.folder / "run" / "leaderboard.csv").n_images.tolist() == [2]
    composed = bench_cli("method=broken", "--cfg=job")  # tests/plugins/conf/method/broken.yaml: fail_every 2
    assert composed.returncode == 0 and "fail_every: 2" in composed.stdout  # the factory's default is 1
    assert "schema" not in composed.stderr  # no ConfigStore node was merged into the YAML file
    missing = bench_cli("plugins=[tiles.py]", "dataset=tiles", "method=noisy")
    assert missing.returncode == 2 and missing.stderr.strip().splitlines()[-1] == (
        "error: missing value for dataset.options.level: set it on the command line, e.g. dataset.options.level=...")


def test_an_entry_point_method_gets_a_config_node_too(monkeypatch) -> None:
    from importlib.metadata import EntryPoint

    from hydra.core.config_store import ConfigStore

    from bench import plugins, registry

    installed = [EntryPoint("ep_tv", "bench.methods.baselines:tv", "bench.methods")]
    monkeypatch.setattr(registry, "entry_points", lambda group: installed if group == "bench.methods" else [])
    monkeypatch.setattr(plugins, "METHODS", registry.Registry("method", "bench.methods", "bench.methods"))
    plugins.register_config_nodes()
    node = ConfigStore.instance().load("method/ep_tv.yaml").node
    assert node == {"name": "ep_tv", "options": {"weight_per_sigma": 1.0}}
