"""The downloadable test sets (datasets/testsets.py): the manifest the package carries, download
with checksum from a server on 127.0.0.1 (test-made files; the real BSD68 files when the shared
data is here), one-line errors naming the file, nothing half-written left in the cache."""

from __future__ import annotations

import csv
import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import bench.datasets.testsets as testsets
from bench import BenchError, get_dataset
from bench.images import DATA_ENV, load_image, shared_data_root

PINNED = "https://raw.githubusercontent.com/cszn/FFDNet/e787f46df2f374ff3591186706229cb9a0591fea/testsets/"


def write_manifest(path: Path, entries: list[tuple[str, str, str, str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["dataset", "file", "sha256", "url"])
        writer.writerows(entries)
    return path


def serve_images(site: Path, url: str, dataset: str, names: list[str], colour: bool = False) -> list[tuple]:
    """Random 8-bit images under site/<dataset>/, and their manifest entries."""
    (site / dataset).mkdir()
    rng = np.random.default_rng(len(names))
    entries = []
    for name in names:
        pixels = rng.integers(0, 256, (9, 7, 3) if colour else (9, 7), dtype=np.uint8)
        Image.fromarray(pixels).save(site / dataset / name)
        digest = hashlib.sha256((site / dataset / name).read_bytes()).hexdigest()
        entries.append((dataset, name, digest, f"{url}/{dataset}/{name}"))
    return entries


@pytest.fixture
def no_shared_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As on a user's machine: no ../shared/data beside the checkout."""
    monkeypatch.setenv(DATA_ENV, str(tmp_path / "no-shared-data"))


def test_the_package_carries_every_file_of_the_five_sets() -> None:
    counts = {name: len(testsets.manifest(name)) for name in testsets.NAMES}
    assert counts == {"bsd68": 68, "set12": 12, "kodak24": 24, "mcmaster": 18, "cbsd68": 68}
    for name, folder in testsets.NAMES.items():
        for entry in testsets.manifest(name):
            assert entry.url == f"{PINNED}{folder}/{entry.file}"
            assert len(entry.sha256) == 64 and int(entry.sha256, 16) >= 0


def test_a_set_is_downloaded_verified_and_then_read_from_the_cache(
        web_folder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_shared_data) -> None:
    site, url = web_folder
    entries = serve_images(site, url, "Set12", ["01.png", "02.png", "03.png"])
    monkeypatch.setattr(testsets, "MANIFEST", write_manifest(tmp_path / "m.csv", entries))
    cache = tmp_path / "cache"
    dataset = get_dataset("set12", cache=cache)
    assert dataset.name == "set12" and dataset.ids() == ["01", "02", "03"]
    np.testing.assert_array_equal(dataset.load("02"), np.asarray(Image.open(site / "Set12" / "02.png"), float))
    assert sorted(path.name for path in (cache / "set12").iterdir()) == ["01.png", "02.png", "03.png"]
    shutil.rmtree(site / "Set12")  # the server no longer has them: the cache must do
    assert get_dataset("set12", cache=cache).ids() == ["01", "02", "03"]


def test_colour_sets_are_averaged_to_gray(web_folder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          no_shared_data) -> None:
    site, url = web_folder
    entries = serve_images(site, url, "Kodak24", ["kodim01.png"], colour=True)
    monkeypatch.setattr(testsets, "MANIFEST", write_manifest(tmp_path / "m.csv", entries))
    image = get_dataset("kodak24", cache=tmp_path / "cache").load("kodim01")
    np.testing.assert_allclose(image, np.asarray(Image.open(site / "Kodak24" / "kodim01.png"), float).mean(axis=2))


def test_a_mismatching_download_is_refused_and_leaves_nothing(
        web_folder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_shared_data) -> None:
    site, url = web_folder
    entries = serve_images(site, url, "McMaster", ["1.tif", "2.tif"])
    entries[1] = (*entries[1][:2], "0" * 64, entries[1][3])  # the manifest expects other bytes
    monkeypatch.setattr(testsets, "MANIFEST", write_manifest(tmp_path / "m.csv", entries))
    cache = tmp_path / "cache"
    with pytest.raises(BenchError) as raised:
        get_dataset("mcmaster", cache=cache)
    message = str(raised.value)
    assert message.startswith("checksum failed for 2.tif downloaded from") and "\n" not in message
    assert [path.name for path in (cache / "mcmaster").iterdir()] == ["1.tif"]  # verified, kept


def test_an_unreachable_server_is_a_one_line_error_naming_the_file(
        web_folder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_shared_data) -> None:
    site, url = web_folder
    entries = serve_images(site, url, "CBSD68", ["101085.png"])
    (site / "CBSD68" / "101085.png").unlink()  # the server answers 404
    monkeypatch.setattr(testsets, "MANIFEST", write_manifest(tmp_path / "m.csv", entries))
    with pytest.raises(BenchError) as raised:
        get_dataset("cbsd68", cache=tmp_path / "cache")
    message = str(raised.value)
    assert message.startswith("cannot download 101085.png from") and "(HTTP 404" in message
    assert "dataset.root=" in message
    assert "\n" not in message and not list((tmp_path / "cache" / "cbsd68").iterdir())


def test_bsd68_downloads_without_the_shared_folder_and_matches_it(
        web_folder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real manifest's BSD68 hashes against the real files, served as GitHub would."""
    shared = shared_data_root() / "bsd68"
    if not shared.is_dir():
        pytest.skip(f"shared BSD68 copy not present (set ${DATA_ENV})")
    site, url = web_folder
    shutil.copytree(shared, site / "BSD68")
    entries = [("BSD68", e.file, e.sha256, e.url.replace(PINNED, f"{url}/")) for e in testsets.manifest("bsd68")]
    monkeypatch.setattr(testsets, "MANIFEST", write_manifest(tmp_path / "m.csv", entries))
    monkeypatch.setenv(DATA_ENV, str(tmp_path / "no-shared-data"))
    dataset = get_dataset("bsd68", cache=tmp_path / "cache")
    assert len(dataset.ids()) == 68
    np.testing.assert_array_equal(dataset.load("test068"), load_image(shared / "test068.png"))


def test_root_wins_over_download(tmp_path: Path, no_shared_data) -> None:
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "a.png")
    assert get_dataset("set12", root=tmp_path).ids() == ["a"]
