"""conv as an implicit GEMM: patches packed from the input for every geometry (padding, strides,
dilations, groups, 1x1, depth blocks cutting through taps), fused epilogues and threads, and
the kernel gradient (transposed patches), compiled == interpreted."""

from __future__ import annotations

import numpy as np
import pytest

import graphc
from graphc.backend import compile_graph
from graphc.primitives.conv import conv_kernel_grad_p, conv_p

pytestmark = pytest.mark.backend

#: (input H, W, C), kernel (KH, KW, I, O) and conv attributes.
GEOMETRIES = {
    "3x3 valid": ((9, 8, 3), (3, 3, 3, 5), {}),
    "3x3 same, stride 2": (
        (9, 10, 4),
        (3, 3, 4, 33),
        {"strides": (2, 2), "padding": ((1, 1), (1, 2))},
    ),
    "dilated kernel": (
        (11, 9, 2),
        (3, 2, 2, 7),
        {"rhs_dilation": (2, 3), "padding": ((2, 0), (0, 3))},
    ),
    "dilated input": (
        (5, 4, 3),
        (3, 3, 3, 4),
        {"lhs_dilation": (2, 3), "padding": ((2, 2), (1, 1))},
    ),
    "groups": ((6, 6, 6), (3, 3, 2, 9), {"feature_group_count": 3, "padding": ((1, 1), (1, 1))}),
    "depthwise": ((7, 7, 4), (3, 3, 1, 4), {"feature_group_count": 4}),
    "pointwise": ((5, 6, 40), (1, 1, 40, 70), {}),
    "pointwise, stride 2": ((5, 6, 8), (1, 1, 8, 3), {"strides": (2, 2)}),
    "taps cut by depth blocks": ((4, 4, 300), (2, 2, 300, 6), {}),
    "wide": ((3, 3, 2), (3, 3, 2, 70), {"padding": ((1, 1), (1, 1))}),
}

DEFAULTS = {
    "strides": (1, 1),
    "padding": ((0, 0), (0, 0)),
    "lhs_dilation": (1, 1),
    "rhs_dilation": (1, 1),
    "feature_group_count": 1,
}


def sample(rng: np.random.Generator, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    if np.dtype(dtype).kind == "i":
        return rng.integers(-9, 10, shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def assert_close(got: np.ndarray, want: np.ndarray) -> None:
    assert got.shape == want.shape and got.dtype == want.dtype
    if want.dtype == np.float32:
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    elif want.dtype == np.float64:
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-11)
    else:
        np.testing.assert_array_equal(got, want)


def conv_graph(dtype: str, geometry: str) -> tuple[graphc.Graph, tuple, tuple]:
    image, kernel, attrs = GEOMETRIES[geometry]
    x = graphc.placeholder((None, *image), dtype, name="x")
    w = graphc.placeholder(kernel, dtype, name="w")
    return graphc.Graph([x, w], conv_p.bind(x, w, **{**DEFAULTS, **attrs})), image, kernel


@pytest.mark.parametrize("geometry", sorted(GEOMETRIES))
@pytest.mark.parametrize("dtype", ["float32", "float64", "int32"])
def test_every_geometry(geometry: str, dtype: str) -> None:
    graph, image, kernel = conv_graph(dtype, geometry)
    f = compile_graph(graph, run_passes=False)
    for batch in (0, 1, 3):
        rng = np.random.default_rng(batch)
        args = [sample(rng, (batch, *image), dtype), sample(rng, kernel, dtype)]
        assert_close(f(*args), graph(*args))


@pytest.mark.parametrize("batch", [0, 1, 5])
def test_fused_bias_and_activation(batch: int) -> None:
    rng = np.random.default_rng(batch)
    x = graphc.placeholder((None, 10, 9, 3), name="x")
    k = graphc.constant(sample(rng, (3, 3, 3, 40), "float32"), name="kernel")
    b = graphc.constant(sample(rng, (40,), "float32"), name="bias")
    residual = graphc.placeholder((None, 10, 9, 40), name="residual")
    y = graphc.relu(graphc.conv2d(x, k, padding="same") + b) + residual
    graph = graphc.Graph([x, residual], y)
    f = compile_graph(graph)
    assert [f.graph.attrs(n)["kind"] for n in f.graph.order if "kind" in f.graph.attrs(n)] == [
        "epilogue"
    ]
    args = [sample(rng, (batch, 10, 9, 3), "float32"), sample(rng, (batch, 10, 9, 40), "float32")]
    assert_close(f(*args), graph(*args))


def test_grouped_epilogue_addresses_each_group() -> None:
    rng = np.random.default_rng(1)
    x = graphc.placeholder((None, 6, 5, 4), "float64", name="x")
    k = graphc.constant(sample(rng, (3, 3, 2, 6), "float64"), name="kernel")
    b = graphc.constant(sample(rng, (6,), "float64"), name="bias")
    y = graphc.tanh(graphc.conv2d(x, k, padding="same", groups=2) * b)
    graph = graphc.Graph([x], y)
    args = [sample(rng, (4, 6, 5, 4), "float64")]
    assert_close(compile_graph(graph)(*args), graph(*args))


def test_threads_share_a_large_conv() -> None:
    rng = np.random.default_rng(2)
    x = graphc.placeholder((8, 16, 16, 16), name="x")  # static: the threads split the kernel
    k = graphc.placeholder((3, 3, 16, 64), name="kernel")
    graph = graphc.Graph([x, k], graphc.relu(graphc.conv2d(x, k, padding="same")))
    args = [sample(rng, (8, 16, 16, 16), "float32"), sample(rng, (3, 3, 16, 64), "float32")]
    two = compile_graph(graph, threads=2)
    assert "pthread_create" in two.llvm_ir()
    np.testing.assert_array_equal(two(*args), compile_graph(graph)(*args))
    assert_close(two(*args), graph(*args))


# --- the kernel gradient ----------------------------------------------------------------------


def kernel_grad_graph(dtype: str, geometry: str) -> tuple[graphc.Graph, tuple, tuple]:
    """conv_kernel_grad(x, ct) for the conv of GEOMETRIES[geometry]: ct has its output shape."""
    image, kernel, attrs = GEOMETRIES[geometry]
    attrs = {**DEFAULTS, **attrs}
    x = graphc.placeholder((None, *image), dtype, name="x")
    out_shape = conv_graph(dtype, geometry)[0].output_types[0].shape
    ct = graphc.placeholder(out_shape, dtype, name="ct")
    grad = conv_kernel_grad_p.bind(x, ct, kernel_size=kernel[:2], **attrs)
    assert grad.shape == kernel
    return graphc.Graph([x, ct], grad), image, out_shape[1:]


@pytest.mark.parametrize("geometry", sorted(GEOMETRIES))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_kernel_gradient_of_every_geometry(geometry: str, dtype: str) -> None:
    """patches^T @ ct, one GEMM over the batch's pixels: every geometry, an empty batch, and
    a batch whose pixels span several depth blocks; two threads give the same bits."""
    graph, image, out = kernel_grad_graph(dtype, geometry)
    one = compile_graph(graph, run_passes=False)
    two = compile_graph(graph, run_passes=False, threads=2)
    for batch in (0, 1, 40):
        rng = np.random.default_rng(batch)
        args = [sample(rng, (batch, *image), dtype), sample(rng, (batch, *out), dtype)]
        got = one(*args)
        np.testing.assert_array_equal(two(*args), got)
        want = graph(*args)
        scale = max(1.0, float(np.abs(want).max(initial=0.0)))
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5 * scale)


@pytest.mark.parametrize(
    "image, kernel",
    [
        ((13, 13, 32), (3, 3, 32, 64)),  # 24 panels of rows, 2 tiles of columns: rows shared
        ((10, 10, 2), (2, 2, 2, 256)),  # 1 panel of rows, 8 tiles: columns shared
    ],
)
def test_threads_share_a_large_kernel_gradient(image: tuple, kernel: tuple) -> None:
    """Each thread packs the depth blocks of its rows (or, sharing columns, all of them) in a
    block of its own; the result is bitwise the one-thread result."""
    rng = np.random.default_rng(3)
    x = graphc.placeholder((64, *image), name="x")  # static: the threads split the kernel
    out = (64, image[0] - kernel[0] + 1, image[1] - kernel[1] + 1, kernel[3])
    ct = graphc.placeholder(out, name="ct")
    grad = conv_kernel_grad_p.bind(x, ct, kernel_size=kernel[:2], **DEFAULTS)
    graph = graphc.Graph([x, ct], grad)
    args = [sample(rng, (64, *image), "float32"), sample(rng, out, "float32")]
    two = compile_graph(graph, threads=2)
    assert "pthread_create" in two.llvm_ir()
    got = two(*args)
    np.testing.assert_array_equal(got, compile_graph(graph)(*args))
    np.testing.assert_allclose(got, graph(*args), rtol=1e-4, atol=1e-3)
