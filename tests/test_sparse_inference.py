"""The compiled sparse kernel: the same network function as PyTorch's dense path, at any image size,
by every clone this CPU runs (chosen with $DENOISE_BENCH_SPARSE_CLONE)."""

from __future__ import annotations

import copy
import threading

import numpy as np
import pytest
import torch

from bench import BenchError
from bench.methods import _convnet, _sparse_inference
from bench.methods._convnet import CENTRE, Architecture, DenoisingConvNet, denoise_with, pad_scaled
from bench.methods._kernel_clones import CLONE_VARIABLE
from bench.methods._sparse_inference import active_clone, compiled_clones, sparse_forward, unavailable_reason
from kernel_clones import CLONE_NAMES, use_clone

needs_kernel = pytest.mark.skipif(unavailable_reason() is not None, reason=str(unavailable_reason()))


@pytest.fixture(params=CLONE_NAMES)
def clone(request, monkeypatch, tmp_path) -> str:
    """Every clone in turn (skipped where the CPU lacks it), plus the AVX-512 clone's own code
    compiled for AVX2, which runs wherever AVX2 does."""
    return use_clone(request.param, _sparse_inference, "_sparse_conv", monkeypatch, tmp_path)


def random_network(arch: Architecture, seed: int = 0) -> DenoisingConvNet:
    """A network with weights and biases far from the near-zero defaults, so every layer matters."""
    torch.manual_seed(seed)
    net = DenoisingConvNet(arch)
    for parameter in net.parameters():
        parameter.data.add_(0.5 * torch.randn_like(parameter))
    return net


def dense_output(net: DenoisingConvNet, image: np.ndarray, dtype: torch.dtype = torch.float32) -> np.ndarray:
    with torch.inference_mode():
        x = pad_scaled(image, net.arch.margin).to(dtype)
        return copy.deepcopy(net).to(dtype)(x)[0, 0].double().numpy() * 255.0


@needs_kernel
@pytest.mark.parametrize(
    "arch",
    [Architecture(), Architecture(hidden_layers=5, connection_seed=3), Architecture(fan_in=24),
     Architecture(fan_in=12)],
    ids=["cn1/cn2", "cnblind", "dense connectivity", "fan of one and a half passes"],
)
@pytest.mark.parametrize("shape", [(1, 1), (7, 9), (37, 70), (64, 33), (11, 150)])
def test_kernel_computes_the_networks_function(arch, shape, clone):
    """Shapes below, across and at block boundaries (2 rows × 32 columns, AVX-512's 8 rows × 32; tails
    of 8 or 16);
    fans in passes of 8 connections (the output layer's 24, a hidden fan of 12);
    the kernel is as close to a float64 evaluation as PyTorch's float32 one is, or within 3e-4
    (on 0–255: ten float32 roundings; the plain clone has no fused multiply-add)."""
    net = random_network(arch)
    image = np.random.default_rng(1).uniform(0, 255, shape)
    fast = denoise_with(net, image)
    assert fast.shape == shape
    dense = dense_output(net, image)
    exact = dense_output(net, image, torch.float64)
    assert np.abs(fast - exact).max() <= max(2 * np.abs(dense - exact).max(), 3e-4)


@needs_kernel
def test_each_clone_reports_its_own_block():
    """AVX-512's 32 registers take 8-row blocks, the other clones 2-row ones; the caller sizes the
    buffers' slack and the row jobs from what each clone reports."""
    blocks = {clone.name: (clone.rows, clone.lanes) for clone in compiled_clones()}
    expected = {"avx512": (8, 32), "avx2": (2, 32), "plain": (2, 32)}
    assert blocks == {name: expected[name] for name in blocks}


@needs_kernel
def test_kernel_logistic_is_accurate_to_float32_over_the_whole_range(clone):
    """One 5×5 layer whose filter picks the centre pixel: the output is the logistic of the input."""
    centre_tap = torch.zeros(1, 1, 5, 5)
    centre_tap[0, 0, 2, 2] = 1.0
    layer = (centre_tap, torch.zeros(1), torch.zeros(1, 1, dtype=torch.long))
    x = np.linspace(-120, 120, 24_001, dtype=np.float32).reshape(1, -1)
    padded = np.pad(x, 2)
    got = sparse_forward([layer], padded, centre=0.0)
    expected = torch.sigmoid(torch.from_numpy(x).double()).numpy()
    np.testing.assert_allclose(got, expected, rtol=0, atol=2e-7)


@needs_kernel
def test_kept_buffers_carry_nothing_from_one_image_to_the_next():
    net = random_network(Architecture())
    rng = np.random.default_rng(2)
    first, second, other_size = (rng.uniform(0, 255, shape) for shape in ((40, 50), (40, 50), (9, 70)))
    reference = denoise_with(net, first)
    denoise_with(net, second)
    denoise_with(net, other_size)
    again = denoise_with(net, first)
    np.testing.assert_array_equal(again, reference)
    again[:] = 0  # the result is the caller's own array, not a view of a kept buffer
    np.testing.assert_array_equal(denoise_with(net, first), reference)


@needs_kernel
def test_concurrent_calls_give_the_serial_results():
    net = random_network(Architecture())
    images = [np.random.default_rng(seed).uniform(0, 255, (48, 48)) for seed in range(4)]
    serial = [denoise_with(net, image) for image in images]
    results: dict[int, np.ndarray] = {}
    def denoise_into_results(i: int) -> None:
        results[i] = denoise_with(net, images[i])

    threads = [threading.Thread(target=denoise_into_results, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for i, expected in enumerate(serial):
        np.testing.assert_array_equal(results[i], expected)


def test_without_the_kernel_the_dense_path_runs_and_says_why(monkeypatch):
    net = random_network(Architecture())
    image = np.random.default_rng(3).uniform(0, 255, (20, 20))
    monkeypatch.setattr(_sparse_inference, "unavailable_reason", lambda: "the sparse kernel was not built")
    with pytest.warns(UserWarning, match="not built.*dense convolutions"):
        fallback = denoise_with(net, image)
    np.testing.assert_array_equal(fallback, dense_output(net, image))


def test_a_stale_build_is_named(monkeypatch):
    if _sparse_inference._sparse_conv is None:
        assert "not built" in unavailable_reason()
    else:
        monkeypatch.setattr(_sparse_inference._sparse_conv, "API_VERSION", -1)
        assert "stale" in unavailable_reason()
        with pytest.raises(RuntimeError, match="stale"):
            layers = random_network(Architecture()).sparse_layers()
            sparse_forward(layers, np.zeros((21, 21), np.float32), CENTRE)


@needs_kernel
def test_cpu_inference_goes_through_the_kernel(monkeypatch):
    calls = []
    original = _sparse_inference.sparse_forward
    monkeypatch.setattr(_sparse_inference, "sparse_forward", lambda *args: calls.append(1) or original(*args))
    denoise_with(random_network(Architecture()), np.zeros((8, 8)))
    assert calls == [1]
    assert _convnet.sparse_inference is _sparse_inference


@needs_kernel
def test_malformed_layers_are_refused_before_the_kernel_reads_memory():
    net = random_network(Architecture())
    padded = np.zeros((30, 30), np.float32)
    layers = net.sparse_layers()
    out_of_range = [*layers[:1], (layers[1][0], layers[1][1], layers[1][2] + 24), *layers[2:]]
    with pytest.raises(ValueError, match=r"indices must lie in \[0, 24\)"):
        sparse_forward(out_of_range, padded, CENTRE)
    wrong_type = [(layers[0][0].double(), *layers[0][1:]), *layers[1:]]
    with pytest.raises(ValueError, match="filters must be contiguous float32"):
        sparse_forward(wrong_type, padded, CENTRE)
    buffer = np.zeros((24, 11, 11), np.float32)  # a 7 × 7 output: no whole vector of 8 or 16 floats
    with pytest.raises(ValueError, match="no slack"):
        _sparse_inference.logistic_layer(buffer, buffer.copy(), layers[1], 0.5, (11, 11), active_clone())


@needs_kernel
def test_the_best_clone_runs_unless_one_is_named(monkeypatch):
    monkeypatch.delenv(CLONE_VARIABLE, raising=False)
    runnable = [c.name for c in compiled_clones() if c.cpu_runs]
    assert active_clone().name == runnable[0] and runnable[-1] == "plain"
    monkeypatch.setenv(CLONE_VARIABLE, "plain")
    assert active_clone().name == "plain"
    monkeypatch.setenv(CLONE_VARIABLE, "sse9")
    with pytest.raises(BenchError, match=f"{CLONE_VARIABLE}=sse9: the build has no such clone; it runs .*plain"):
        active_clone()
    if missing := [c.name for c in compiled_clones() if not c.cpu_runs]:
        monkeypatch.setenv(CLONE_VARIABLE, missing[0])
        with pytest.raises(BenchError, match="this CPU does not run it"):
            active_clone()


@needs_kernel
def test_a_forked_child_runs_the_kernel_after_its_parent_did():
    """The child inherits the parent's thread pool object but not its threads."""
    import multiprocessing

    net = random_network(Architecture())
    image = np.random.default_rng(4).uniform(0, 255, (30, 30))
    expected = denoise_with(net, image)
    with multiprocessing.get_context("fork").Pool(1) as pool:
        result = pool.apply_async(denoise_with, (net, image)).get(timeout=30)
    np.testing.assert_array_equal(result, expected)
