"""Datasets: ids and loading, colour averaging, clear errors for bad folders, the BSDS300
download path (served from a local HTTP server) with its checksum check, and the Hydra configs."""

from __future__ import annotations

import hashlib
import socket
import tarfile
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf
from PIL import Image

import bench.datasets.bsds300 as bsds300
from bench import BenchError, get_dataset
from bench.images import DATA_ENV, shared_data_root
from bench.datasets.skimage_images import BUNDLED

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"
RNG = np.random.default_rng(0)


def write_image(path: Path, colour: bool = False, size: tuple[int, int] = (12, 10)) -> np.ndarray:
    """A random 8-bit image file; returns the pixels as written."""
    shape = (*size, 3) if colour else size
    pixels = RNG.integers(0, 256, shape, dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return pixels


# --- skimage ---------------------------------------------------------------------------------


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)


def test_skimage_default_loads_every_bundled_image_offline(no_network: None) -> None:
    dataset = get_dataset("skimage")
    assert dataset.ids() == list(BUNDLED)
    for image_id in dataset.ids():
        image = dataset.load(image_id)
        assert image.ndim == 2 and image.dtype == np.float64
        assert 0 <= image.min() and image.max() <= 255


def test_skimage_colour_is_channel_averaged() -> None:
    rgb = skimage.data.astronaut().astype(np.float64)
    expected = rgb.mean(axis=2)
    np.testing.assert_allclose(get_dataset("skimage", images=["astronaut"]).load("astronaut"), expected)


def test_skimage_image_choice() -> None:
    assert get_dataset("skimage", images="camera").ids() == ["camera"]
    with pytest.raises(BenchError, match="eagle"):
        get_dataset("skimage", images=["camera", "eagle"])
    with pytest.raises(BenchError, match="no image 'moon'"):
        get_dataset("skimage", images=["camera"]).load("moon")


# --- folder ----------------------------------------------------------------------------------


def test_folder_ids_are_sorted_stems_and_colour_is_averaged(tmp_path: Path) -> None:
    gray = write_image(tmp_path / "b.png")
    rgb = write_image(tmp_path / "a.png", colour=True)
    (tmp_path / "README.txt").write_text("not an image, ignored")
    dataset = get_dataset("folder", root=str(tmp_path))
    assert dataset.ids() == ["a", "b"]
    np.testing.assert_array_equal(dataset.load("b"), gray.astype(np.float64))
    np.testing.assert_allclose(dataset.load("a"), rgb.astype(np.float64).mean(axis=2))


def test_folder_names_an_unreadable_image(tmp_path: Path) -> None:
    write_image(tmp_path / "good.png")
    (tmp_path / "broken.png").write_text("this is not a PNG")
    with pytest.raises(BenchError, match="broken.png"):
        get_dataset("folder", root=tmp_path)


def test_folder_errors(tmp_path: Path) -> None:
    with pytest.raises(BenchError, match="dataset.root"):
        get_dataset("folder")
    with pytest.raises(BenchError, match="not found"):
        get_dataset("folder", root=tmp_path / "missing")
    with pytest.raises(BenchError, match="no image files"):
        get_dataset("folder", root=tmp_path)
    write_image(tmp_path / "x.png")
    write_image(tmp_path / "x.jpg")
    with pytest.raises(BenchError, match="share the id 'x'"):
        get_dataset("folder", root=tmp_path)


# --- bsd68 -----------------------------------------------------------------------------------


def test_bsd68_from_shared_data() -> None:
    if not (shared_data_root() / "bsd68").is_dir():
        pytest.skip(f"shared data not present (set ${DATA_ENV})")
    dataset = get_dataset("bsd68")
    assert len(dataset.ids()) == 68 and dataset.ids()[0] == "test001"
    image = dataset.load("test001")
    assert image.ndim == 2 and image.shape in ((321, 481), (481, 321))


def test_bsd68_root_option_and_shared_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "bsd68").mkdir()
    write_image(tmp_path / "bsd68" / "test001.png")
    assert get_dataset("bsd68", root=tmp_path / "bsd68").ids() == ["test001"]
    monkeypatch.setenv(DATA_ENV, str(tmp_path))
    assert get_dataset("bsd68").ids() == ["test001"]


# --- bsds300 ---------------------------------------------------------------------------------


def make_bsds_tree(parent: Path) -> None:
    """A miniature BSDS300/images/{test,train} tree of colour JPEGs."""
    for split, ids in (("test", ["3096", "8023"]), ("train", ["2092"])):
        folder = parent / "BSDS300" / "images" / split
        folder.mkdir(parents=True)
        for image_id in ids:
            write_image(folder / f"{image_id}.jpg", colour=True)


@pytest.mark.parametrize("below", ["", "BSDS300", "BSDS300/images"])
def test_bsds300_from_an_extracted_folder(tmp_path: Path, below: str) -> None:
    make_bsds_tree(tmp_path)
    root = tmp_path / below
    assert get_dataset("bsds300", root=root).ids() == ["3096", "8023"]
    train = get_dataset("bsds300", root=root, split="train")
    assert train.ids() == ["2092"]
    assert train.load("2092").shape == (12, 10)


def test_bsds300_bad_split_or_root(tmp_path: Path) -> None:
    with pytest.raises(BenchError, match="split"):
        get_dataset("bsds300", root=tmp_path, split="val")
    with pytest.raises(BenchError, match="BSDS300/images/test"):
        get_dataset("bsds300", root=tmp_path)


@pytest.fixture
def served_archive(web_folder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A miniature BSDS300-images.tgz served over HTTP on localhost, as Berkeley would serve
    the real one; returns the archive's SHA-256."""
    site, url = web_folder
    source = tmp_path / "source"
    source.mkdir()
    make_bsds_tree(source)
    archive = site / bsds300.ARCHIVE_NAME
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(source / "BSDS300", arcname="BSDS300")
    monkeypatch.setattr(bsds300, "ARCHIVE_URL", f"{url}/{archive.name}")
    return hashlib.sha256(archive.read_bytes()).hexdigest()


def test_bsds300_download_verifies_and_extracts(served_archive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bsds300, "ARCHIVE_SHA256", served_archive)
    cache = tmp_path / "cache"
    dataset = get_dataset("bsds300", cache=cache)
    assert dataset.ids() == ["3096", "8023"]
    jpeg = np.asarray(Image.open(cache / "bsds300" / "BSDS300" / "images" / "test" / "3096.jpg"), np.float64)
    np.testing.assert_allclose(dataset.load("3096"), jpeg.mean(axis=2))
    monkeypatch.setattr(bsds300, "ARCHIVE_URL", "http://127.0.0.1:9/unreachable.tgz")
    assert get_dataset("bsds300", cache=cache, split="train").ids() == ["2092"]  # cached: no download


def test_bsds300_corrupted_download_is_refused(served_archive, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with pytest.raises(BenchError) as raised:
        get_dataset("bsds300", cache=cache)  # the archive does not match the official checksum
    message = str(raised.value)
    assert "checksum failed" in message and bsds300.ARCHIVE_NAME in message and "\n" not in message
    assert not (cache / bsds300.ARCHIVE_NAME).exists() and not (cache / "bsds300").exists()


def test_bsds300_unreachable_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setattr(bsds300, "ARCHIVE_URL", f"http://127.0.0.1:{port}/BSDS300-images.tgz")
    with pytest.raises(BenchError, match="cannot download .* dataset.root"):
        get_dataset("bsds300", cache=tmp_path)


# --- Hydra configs -----------------------------------------------------------------------------


def dataset_options(overrides: list[str]) -> tuple[str, dict]:
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base=None):
        cfg = compose(config_name="config", overrides=overrides)
    return cfg.dataset.name, OmegaConf.to_container(cfg.dataset.options, resolve=True, throw_on_missing=True)


def test_dataset_root_shorthand_reaches_the_options(tmp_path: Path) -> None:
    write_image(tmp_path / "one.png")
    name, options = dataset_options(["dataset=folder", f"dataset.root={tmp_path}"])
    assert options == {"root": str(tmp_path)}
    assert get_dataset(name, **options).ids() == ["one"]
    name, options = dataset_options(["dataset=bsds300", "dataset.split=train"])
    assert options == {"root": None, "split": "train", "cache": None}
    name, options = dataset_options(["dataset=skimage", "dataset.images=[camera,moon]"])
    assert get_dataset(name, **options).ids() == ["camera", "moon"]


def test_folder_config_without_root_says_how_to_set_it() -> None:
    name, options = dataset_options(["dataset=folder"])
    with pytest.raises(BenchError, match="dataset.root="):
        get_dataset(name, **options)


def test_every_dataset_config_names_a_registered_dataset() -> None:
    from bench import list_datasets

    for path in sorted((CONF_DIR / "dataset").glob("*.yaml")):
        assert OmegaConf.load(path).name in list_datasets()
