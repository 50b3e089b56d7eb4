"""The authors' DnCNN / FDnCNN / FFDNet weights: the MatConvNet reader (on a tiny file in
MatConvNet's layout written here), real networks against a float64 reimplementation, weights
checked against their SHA-256 (local folder and download), the converted-tensor cache, the σ
range, and `python -m bench dataset=set12 method=dncnn sigma=25` with both downloads served from
127.0.0.1. The real weights come from ../shared/data/refweights (skipped when absent)."""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
import skimage.data
import torch
from PIL import Image

import bench.datasets.testsets as testsets
from bench import BenchError, get_method
from bench.images import DATA_ENV, shared_data_root
from bench.pretrained import catalogue
from bench.pretrained.matconvnet import read_simplenn
from bench.runner import JobSpec, run_job
from bench.store import ResultStore

REFWEIGHTS = shared_data_root() / "refweights"
needs_weights = pytest.mark.skipif(not REFWEIGHTS.is_dir(),
                                   reason=f"the authors' weights are not here ({REFWEIGHTS}; set ${DATA_ENV})")
RNG = np.random.default_rng(0)


# --- the MatConvNet reader ----------------------------------------------------------------------


def write_simplenn(path: Path, layers: list[tuple[str, list[np.ndarray], dict]]) -> None:
    """A .mat file laid out as MATLAB v7.3 saves a MatConvNet `net`: a cell array of structs
    behind HDF5 object references, every array stored with its axes reversed."""
    with h5py.File(path, "w") as file:
        refs = file.create_group("#refs#")

        def stored(name: str, array: np.ndarray, matlab_class: str) -> h5py.Reference:
            dataset = refs.create_dataset(name, data=array)
            dataset.attrs["MATLAB_class"] = np.bytes_(matlab_class)
            return dataset.ref

        layer_refs = []
        for index, (kind, weights, numbers) in enumerate(layers):
            group = refs.create_group(f"layer{index}")
            group.create_dataset("type", data=np.array([[ord(c)] for c in kind], np.uint16))
            group["type"].attrs["MATLAB_class"] = np.bytes_("char")
            for key, value in numbers.items():
                group.create_dataset(key, data=np.array([[value]], np.float64))
            if weights:
                cell = [stored(f"w{index}_{j}", array, "single") for j, array in enumerate(weights)]
                group.create_dataset("weights", data=np.array(cell, dtype=h5py.ref_dtype).reshape(-1, 1))
            layer_refs.append(group.ref)
        file.create_group("net").create_dataset(
            "layers", data=np.array(layer_refs, dtype=h5py.ref_dtype).reshape(-1, 1))


def as_matlab_stores(torch_filters: np.ndarray) -> np.ndarray:
    """(out, in, H, W) → MATLAB's H × W × in × out (trailing 1s dropped), axes reversed as h5py sees it."""
    matlab = torch_filters.transpose(2, 3, 1, 0)
    while matlab.ndim > 2 and matlab.shape[-1] == 1:
        matlab = matlab[..., 0]
    return np.ascontiguousarray(matlab.T, dtype=np.float32)


def test_reader_recovers_pytorch_filters_from_the_matlab_layout(tmp_path: Path) -> None:
    first = RNG.standard_normal((3, 2, 3, 3)).astype(np.float32)  # 2 inputs: image + noise map
    last = RNG.standard_normal((1, 3, 3, 3)).astype(np.float32)  # out = 1: MATLAB drops that axis
    path = tmp_path / "tiny.mat"
    write_simplenn(path, [
        ("concat", [], {}),
        ("conv", [as_matlab_stores(first), np.arange(3, dtype=np.float32)[None]], {"pad": 1, "stride": 1}),
        ("relu", [], {"leak": 0}),
        ("conv", [as_matlab_stores(last), np.array([[0.5]], np.float32)], {"pad": 1, "stride": 1}),
    ])
    assert as_matlab_stores(last).shape == (3, 3, 3) and as_matlab_stores(first).shape == (3, 2, 3, 3)
    layers = read_simplenn(path)
    assert [layer.kind for layer in layers] == ["concat", "conv", "relu", "conv"]
    np.testing.assert_array_equal(layers[1].weight.numpy(), first)
    np.testing.assert_array_equal(layers[1].bias.numpy(), [0, 1, 2])
    np.testing.assert_array_equal(layers[3].weight.numpy(), last)
    assert layers[3].pad == 1 and layers[3].bias.tolist() == [0.5]


def test_reader_refuses_what_it_cannot_run(tmp_path: Path) -> None:
    path = tmp_path / "bnorm.mat"
    write_simplenn(path, [("bnorm", [], {})])
    with pytest.raises(BenchError, match=r"unsupported MatConvNet layer type in layer 1 \(bnorm\)"):
        read_simplenn(path)
    strided = tmp_path / "strided.mat"
    write_simplenn(strided, [("conv", [np.ones((1, 1, 3, 3), np.float32), np.zeros((1, 1), np.float32)],
                              {"pad": 1, "stride": 2})])
    with pytest.raises(BenchError, match="stride 2 is not supported"):
        read_simplenn(strided)
    (tmp_path / "text.mat").write_text("not HDF5")
    with pytest.raises(BenchError, match="MATLAB v7.3"):
        read_simplenn(tmp_path / "text.mat")


# --- real networks against a float64 reimplementation --------------------------------------------


def conv64(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """'Same' 3 × 3 correlation in float64, by im2col (C, H, W) → (out, H, W)."""
    channels, height, width = x.shape
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    columns = np.stack([padded[:, i:i + height, j:j + width] for i in range(3) for j in range(3)], axis=1)
    return np.einsum("ock,ckhw->ohw", weight.reshape(weight.shape[0], channels, 9), columns) + bias[:, None, None]


def reference_forward(path: Path, image: np.ndarray, noise_level: float) -> np.ndarray:
    """The authors' vl_simplenn in float64, written from their MATLAB code: concat appends the
    noise-level map; SubP ½ puts the pixel at row offset (i mod 2), column offset (i div 2) into
    channel i (vl_nnSubP.m), after an odd side is extended by its last row/column."""
    layers = read_simplenn(path)
    height, width = image.shape
    even = (height % 2, width % 2) if any(layer.kind == "SubP" for layer in layers) else (0, 0)
    x = np.pad(image, ((0, even[0]), (0, even[1])), mode="edge")[None]
    for layer in layers:
        if layer.kind == "conv":
            x = conv64(x, layer.weight.double().numpy(), layer.bias.double().numpy())
        elif layer.kind == "relu":
            x = np.maximum(x, 0)
        elif layer.kind == "concat":
            x = np.concatenate([x, np.full_like(x[:1], noise_level)])
        elif layer.scale < 1:
            x = np.stack([x[0, i % 2::2, i // 2::2] for i in range(4)])
        else:
            out = np.empty((1, 2 * x.shape[1], 2 * x.shape[2]))
            for i in range(4):
                out[0, i % 2::2, i // 2::2] = x[i]
            x = out
    return x[0, :height, :width]


@needs_weights
@pytest.mark.parametrize("name, sigma, residual", [("ffdnet", 25.0, False), ("dncnn", 50.0, True)])
def test_network_output_matches_a_float64_reference(name: str, sigma: float, residual: bool, tmp_path: Path) -> None:
    clean = RNG.uniform(0, 255, (13, 11))
    noisy = clean + sigma * RNG.standard_normal(clean.shape)
    method = get_method(name, cache=str(tmp_path), device="cpu")
    ours = method.denoise(noisy, sigma)
    path = REFWEIGHTS / catalogue.MODELS[name].weight_file(sigma).name
    network = reference_forward(path, noisy / 255, sigma / 255)
    expected = 255 * (noisy / 255 - network if residual else network)
    assert ours.shape == noisy.shape and ours.dtype == np.float64
    np.testing.assert_allclose(ours, expected, atol=2e-3)
    assert np.abs(ours - noisy).mean() > sigma / 4  # it did denoise (not the identity)


# --- weights: checksum, local folder, converted cache ---------------------------------------------


@needs_weights
def test_weights_are_checked_then_converted_once(tmp_path: Path) -> None:
    cache, folder = tmp_path / "cache", tmp_path / "mine"
    folder.mkdir()
    corrupt = bytearray((REFWEIGHTS / "ffdnet_gray.mat").read_bytes())
    corrupt[-1] ^= 1
    (folder / "ffdnet_gray.mat").write_bytes(bytes(corrupt))
    with pytest.raises(BenchError, match=r"^checksum failed for .*ffdnet_gray.mat: SHA-256"):
        get_method("ffdnet", weights=str(folder), cache=str(cache)).network(25)
    shutil.copy(REFWEIGHTS / "ffdnet_gray.mat", folder)
    get_method("ffdnet", weights=str(folder), cache=str(cache)).network(25)
    assert len(list((cache / "refweights" / "converted").glob("ffdnet_gray-*.pt"))) == 1
    (folder / "ffdnet_gray.mat").unlink()  # the converted tensors suffice from now on
    image = RNG.uniform(0, 255, (8, 8))
    again = get_method("ffdnet", weights=str(folder), cache=str(cache))
    assert again.denoise(image, 25).shape == (8, 8)
    with pytest.raises(BenchError, match="weight file fdncnn_gray.mat not found in"):
        get_method("fdncnn", weights=str(folder), cache=str(cache)).network(25)


@pytest.fixture
def served_weights(web_folder, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The catalogue's URLs pointed at 127.0.0.1, no shared copies: as on a user's machine."""
    site, url = web_folder
    for name, model in catalogue.MODELS.items():
        files = {sigma: dataclasses.replace(file, url=f"{url}/{file.name}") for sigma, file in model.files.items()}
        monkeypatch.setitem(catalogue.MODELS, name, dataclasses.replace(model, files=files))
    monkeypatch.setenv(DATA_ENV, str(tmp_path / "no-shared-data"))
    return site


def test_a_corrupted_weight_download_is_refused_and_leaves_nothing(served_weights: Path, tmp_path: Path) -> None:
    (served_weights / "dncnn_b_gray_blind.mat").write_bytes(b"not the authors' file")
    cache = tmp_path / "cache"
    with pytest.raises(BenchError) as raised:
        get_method("dncnn_b", cache=str(cache)).network(None)
    assert str(raised.value).startswith("checksum failed for dncnn_b_gray_blind.mat downloaded from http://127.0.0.1")
    assert not list((cache / "refweights").rglob("*.mat")) and not (cache / "refweights" / "converted").exists()


@needs_weights
def test_set12_with_dncnn_downloads_checks_and_runs(served_weights: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """`python -m bench dataset=set12 method=dncnn sigma=25` on a machine with internet."""
    site = served_weights
    shutil.copy(REFWEIGHTS / "dncnn_s_sigma25.mat", site)
    (site / "Set12").mkdir()
    Image.fromarray(skimage.data.camera()[100:148, 200:240]).save(site / "Set12" / "01.png")
    digest = hashlib.sha256((site / "Set12" / "01.png").read_bytes()).hexdigest()
    manifest = tmp_path / "testsets.csv"
    url = catalogue.MODELS["dncnn"].files[25.0].url.rsplit("/", 1)[0]
    manifest.write_text(f"dataset,file,sha256,url\nSet12,01.png,{digest},{url}/Set12/01.png\n")
    monkeypatch.setattr(testsets, "MANIFEST", manifest)
    cache = str(tmp_path / "cache")
    spec = JobSpec(method="dncnn", dataset="set12", sigma=25.0, method_options={"cache": cache},
                   dataset_options={"root": None, "cache": cache})
    rows = run_job(spec, ResultStore(tmp_path / "store"))
    assert [(row["status"], row["image_id"]) for row in rows] == [("ok", "01")]
    assert rows[0]["psnr"] > 20.17 + 3  # well above the noisy input's PSNR at σ = 25
    assert rows[0]["weights_sha256"] == catalogue.MODELS["dncnn"].files[25.0].sha256
    assert rows[0]["published_psnr"] is None and rows[0]["out_of_range"] is False  # none for Set12
    assert (tmp_path / "cache" / "set12" / "01.png").is_file()
    assert (tmp_path / "cache" / "refweights" / "dncnn_s_sigma25.mat").is_file()


# --- the σ range ------------------------------------------------------------------------------------


def test_sigma_outside_the_trained_range_is_a_one_line_error(tmp_path: Path) -> None:
    for name, sigma, text in [("dncnn", 100.0, r"σ ∈ \{15, 25, 50\} \(one network each\)"), ("dncnn_b", 60.0, "0 < σ ≤ 55"),
                              ("ffdnet", 80.0, "0 < σ ≤ 75")]:
        spec = JobSpec(method=name, dataset="skimage", sigma=sigma, dataset_options={"images": ["camera"]})
        with pytest.raises(BenchError, match=rf"^{name} is trained for {text}, not σ={sigma:g}; "
                                             r"method.options.out_of_range=run runs it anyway"):
            run_job(spec, ResultStore(tmp_path))
    with pytest.raises(BenchError, match="out_of_range must be one of error, run"):
        get_method("dncnn", out_of_range="warn")
    with pytest.raises(BenchError, match="device must be one of auto, cpu, cuda"):
        get_method("dncnn", device="tpu")


@needs_weights
def test_out_of_range_runs_when_asked_and_is_marked(tmp_path: Path) -> None:
    spec = JobSpec(method="dncnn", dataset="skimage", sigma=100.0, crop=24, limit=1,
                   method_options={"out_of_range": "run", "cache": str(tmp_path / "cache")},
                   dataset_options={"images": ["camera"]})
    [row] = run_job(spec, ResultStore(tmp_path / "store"))
    assert row["status"] == "ok" and row["out_of_range"] is True
    assert row["weights_sha256"] == catalogue.MODELS["dncnn"].files[50.0].sha256  # the nearest network
    from bench.leaderboard import labelled, leaderboard, psnr_by_sigma

    board = leaderboard(labelled([row]))
    assert bool(board.out_of_range.iloc[0]) and "(out of range)" in psnr_by_sigma(board)["σ=100"].iloc[0]


def test_published_averages_only_for_the_whole_published_set() -> None:
    method = get_method("ffdnet")
    assert method.reference("bsd68", 75.0)["published_psnr"] == 24.79
    assert method.reference("bsd68", 30.0)["published_psnr"] is None
    assert method.reference(None, 25.0)["published_psnr"] is None  # a crop or a subset
    assert method.reference("bsd68", 25.0)["reference"].endswith("IEEE TIP, 2018")
    assert get_method("dncnn_b").blind and not get_method("fdncnn").blind


def test_gpu_when_available() -> None:
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert get_method("dncnn").device.type == expected
