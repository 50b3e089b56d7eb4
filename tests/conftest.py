"""Shared fixtures. `bench_cli` runs the real command line in a fresh folder, with the test-only
plugins of tests/plugins/ (methods `sleepy`, `broken`, dataset `synthetic`) available;
`web_folder` serves a folder over HTTP on 127.0.0.1, standing in for a download server."""

from __future__ import annotations

import functools
import http.server
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

TEST_PLUGINS = Path(__file__).parent / "plugins"


@dataclass
class BenchCli:
    """`python -m bench` run in `folder` (so its results store is folder/outputs/store)."""

    folder: Path

    def command(self, *args: str) -> list[str]:
        plugins = [f"hydra.searchpath=[file://{TEST_PLUGINS / 'conf'}]", "plugins=[bench_test_plugins]"]
        flags = [arg for arg in args if arg.startswith("-")]  # Hydra wants -m before overrides
        overrides = [arg for arg in args if not arg.startswith("-")]
        return [sys.executable, "-m", "bench", *flags, *plugins, *overrides]

    def env(self, **extra: str) -> dict[str, str]:
        path = os.pathsep.join(filter(None, [str(TEST_PLUGINS), os.environ.get("PYTHONPATH")]))
        return {**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                **extra}

    def __call__(self, *args: str, timeout: float = 240, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.command(*args), cwd=self.folder, env=self.env(**env),
                              capture_output=True, text=True, timeout=timeout)

    def start(self, *args: str, **env: str) -> subprocess.Popen[str]:
        """In the background, in its own process group (so a test can kill all of it)."""
        return subprocess.Popen(self.command(*args), cwd=self.folder, env=self.env(**env),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True,
                                start_new_session=True)


@pytest.fixture
def bench_cli(tmp_path: Path) -> BenchCli:
    return BenchCli(tmp_path)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def web_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, str]]:
    """(folder, its base URL): files put into the folder are served at base URL + name."""
    site = tmp_path / "site"
    site.mkdir()
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    yield site, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
