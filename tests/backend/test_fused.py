"""Graphs through the pass pipeline: fused loop nests, epilogues and the memory plan."""

from __future__ import annotations

import re

import numpy as np
import pytest

import graphc
from graphc.backend import compile_graph

pytestmark = pytest.mark.backend

BATCHES = (0, 1, 7, 1000)


def primitives(graph: graphc.Graph) -> list[str]:
    return [graph.primitive(n).name for n in graph.order]


def fused_kinds(graph: graphc.Graph) -> list[str]:
    return [graph.attrs(n)["kind"] for n in graph.order if graph.primitive(n).name == "fused"]


def as_list(result) -> list[np.ndarray]:
    return result if isinstance(result, list) else [result]


def check(graph: graphc.Graph, make_args, rtol: float = 1e-5, atol: float = 1e-6):
    """Compile with the passes; compare with the interpreter at every batch size."""
    f = compile_graph(graph)
    for batch in BATCHES:
        args = make_args(np.random.default_rng(batch), batch)
        for got, want in zip(as_list(f(*args)), as_list(graph(*args))):
            np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)
    return f


def normal(shape, dtype="float32"):
    return lambda rng, batch: [rng.standard_normal((batch, *shape)).astype(dtype)]


def test_an_elementwise_chain_is_one_loop_nest() -> None:
    x = graphc.placeholder((None, 5), name="x")
    bias = graphc.constant(np.linspace(-1, 1, 5).astype(np.float32), name="bias")
    y = x + bias
    gelu = 0.5 * y * (1.0 + graphc.tanh(0.7978845608 * (y + 0.044715 * y * y * y)))
    f = check(graphc.Graph([x], gelu), normal((5,)))
    assert fused_kinds(f.graph) == ["elementwise"]
    assert len(f.program.kernels) == 1 and f.workspace_size(1000) == 0


def test_fused_bodies_with_broadcasts_and_every_dtype() -> None:
    x = graphc.placeholder((None, 1, 3), "int32", name="x")
    y = graphc.placeholder((4, 1), "int32", name="y")
    m = graphc.where((x > 0) & (y < 5), x * y - 3, graphc.broadcast_to(y % 3, (None, 4, 3)))
    flags = graphc.logical_not(m > 2) | (x == 0)
    graph = graphc.Graph([x, y], [m // 2, flags])

    def args(rng, batch):
        return [
            rng.integers(-5, 9, (batch, 1, 3)).astype(np.int32),
            rng.integers(-5, 9, (4, 1)).astype(np.int32),
        ]

    f = check(graph, args)
    assert "fused" in primitives(f.graph)


def test_matmul_epilogue() -> None:
    rng = np.random.default_rng(0)
    x = graphc.placeholder((None, 8), name="x")
    w = graphc.constant(rng.standard_normal((8, 6)).astype(np.float32), name="w")
    b = graphc.constant(rng.standard_normal(6).astype(np.float32), name="b")
    f = check(graphc.Graph([x], graphc.relu(x @ w + b)), normal((8,)), atol=1e-5)
    assert fused_kinds(f.graph) == ["epilogue"]
    assert f.program.scratch == {}  # the product is computed in the output array


def test_epilogue_with_another_dtype_uses_a_scratch_array() -> None:
    rng = np.random.default_rng(0)
    x = graphc.placeholder((None, 8), name="x")
    w = graphc.constant(rng.standard_normal((8, 6)).astype(np.float32), name="w")
    out = graphc.cast(x @ w, "float64") * 2.0 - 1.0
    f = check(graphc.Graph([x], out), normal((8,)), atol=1e-5)
    assert fused_kinds(f.graph) == ["epilogue"]
    (node,) = f.program.scratch
    assert f.program.scratch[node][1].dtype == np.float32


def test_conv_epilogue() -> None:
    rng = np.random.default_rng(0)
    x = graphc.placeholder((None, 6, 6, 3), name="image")
    k = graphc.constant(rng.standard_normal((3, 3, 3, 4)).astype(np.float32), name="kernel")
    b = graphc.constant(rng.standard_normal(4).astype(np.float32), name="bias")
    y = graphc.relu(graphc.conv2d(x, k, padding="same") + b)
    f = check(graphc.Graph([x], y), normal((6, 6, 3)), atol=1e-5)
    assert "epilogue" in fused_kinds(f.graph)


def test_the_memory_plan_shares_workspace_slots() -> None:
    x = graphc.placeholder((None, 16), "float64", name="x")
    y = x
    for _ in range(4):
        y = graphc.exp(y - graphc.max(y, axis=1, keepdims=True))
        y = y / graphc.sum(y, axis=1, keepdims=True)
    f = check(graphc.Graph([x], y), normal((16,), "float64"), rtol=1e-12)
    intermediates = [n for n, h in f.program.homes.items() if h.kind == "workspace"]
    assert len(f.program.layout) < len(intermediates)


def test_a_gradient_graph_from_autodiff() -> None:
    w = graphc.placeholder((3,), "float64", name="w")
    x = graphc.placeholder((None, 3), "float64", name="x")
    loss = graphc.sum(graphc.tanh(x * w) ** 2 + graphc.exp(-w))
    gradient = graphc.grad(graphc.Graph([w, x], loss))

    def args(rng, batch):
        return [rng.standard_normal(3), rng.standard_normal((batch, 3))]

    check(gradient, args, rtol=1e-10, atol=1e-12)


# --- reductions: "reduce" and "rows" kernels -----------------------------------------------------

FLOATS = ("float32", "float64")


def tolerance(dtype: str) -> dict:
    """Float sums may add in another order than numpy's (vector lanes, pairwise)."""
    return {"rtol": 2e-5, "atol": 1e-6} if dtype == "float32" else {"rtol": 1e-12, "atol": 1e-13}


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_is_one_rows_kernel(dtype, op) -> None:
    x = graphc.placeholder((None, 37), dtype, name="x")
    graph = graphc.Graph([x], getattr(graphc, op)(x, axis=-1))
    f = check(graph, normal((37,), dtype), **tolerance(dtype))
    assert fused_kinds(f.graph) == ["rows"] and len(f.program.kernels) == 1
    assert f.workspace_size(1000) == 0


@pytest.mark.parametrize("dtype", FLOATS)
def test_softmax_over_two_trailing_axes(dtype) -> None:
    x = graphc.placeholder((None, 3, 5), dtype, name="x")
    graph = graphc.Graph([x], graphc.softmax(x, axis=(1, 2)))
    f = check(graph, normal((3, 5), dtype), **tolerance(dtype))
    assert fused_kinds(f.graph) == ["rows"]


@pytest.mark.parametrize("dtype", FLOATS)
def test_softmax_of_a_batched_vector_reduces_the_batch_in_one_row(dtype) -> None:
    x = graphc.placeholder((None,), dtype, name="x")
    graph = graphc.Graph([x], graphc.softmax(x))
    f = check(graph, lambda rng, n: [rng.normal(size=n).astype(dtype)], **tolerance(dtype))
    assert fused_kinds(f.graph) == ["rows"]


@pytest.mark.parametrize("dtype", FLOATS)
def test_softmax_over_the_batch_axis(dtype) -> None:
    x = graphc.placeholder((None, 6), dtype, name="x")
    f = check(graphc.Graph([x], graphc.softmax(x, axis=0)), normal((6,), dtype), **tolerance(dtype))
    assert fused_kinds(f.graph) == ["reduce", "elementwise", "reduce"]


@pytest.mark.parametrize("dtype", FLOATS)
def test_layer_norm_and_extremes_are_rows_kernels(dtype) -> None:
    x = graphc.placeholder((None, 3, 16), dtype, name="x")
    gamma = graphc.constant(np.linspace(0.5, 1.5, 16).astype(dtype), name="gamma")
    centered = x - graphc.mean(x, axis=-1, keepdims=True)
    var = graphc.mean(centered * centered, axis=-1, keepdims=True)
    norm = centered / graphc.sqrt(var + 1e-5) * gamma
    spread = (x - graphc.min(x, axis=-1, keepdims=True)) / (
        graphc.max(x, axis=-1, keepdims=True) - graphc.min(x, axis=-1, keepdims=True)
    )
    f = check(graphc.Graph([x], [norm, spread]), normal((3, 16), dtype), rtol=1e-4, atol=1e-5)
    assert fused_kinds(f.graph) == ["rows", "rows"]


def test_integer_rows_and_reductions_are_exact() -> None:
    x = graphc.placeholder((None, 9), "int32", name="x")
    centered = x - graphc.max(x, axis=-1, keepdims=True)
    smallest = graphc.min(x * x - 3, axis=0)

    def args(rng, batch):
        return [rng.integers(-50, 50, (batch, 9)).astype(np.int32)]

    f = check(graphc.Graph([x], [centered * 2, smallest]), args, rtol=0, atol=0)
    assert fused_kinds(f.graph) == ["rows", "reduce"]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("axis", [0, 1, 2, (1, 2), (0, 2), None])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions_of_elementwise_bodies(dtype, axis, keepdims) -> None:
    x = graphc.placeholder((None, 4, 6), dtype, name="x")
    w = graphc.constant(np.linspace(-1, 1, 6).astype(dtype), name="w")
    body = graphc.exp(graphc.tanh(x * w))
    outs = [
        graphc.sum(body, axis=axis, keepdims=keepdims),
        graphc.max(x - w, axis=axis, keepdims=keepdims),
    ]
    f = check(graphc.Graph([x], outs), normal((4, 6), dtype), **tolerance(dtype))
    assert fused_kinds(f.graph) == ["reduce", "reduce"] and len(f.program.kernels) == 2


@pytest.mark.parametrize("dtype", FLOATS)
def test_mean_squared_error_reduces_without_storing_the_squares(dtype) -> None:
    y = graphc.placeholder((None, 10), dtype, name="y")
    t = graphc.placeholder((None, 10), dtype, name="t")
    d = y - t
    graph = graphc.Graph([y, t], graphc.mean(d * d))

    def args(rng, batch):
        return [rng.standard_normal((batch, 10)).astype(dtype) for _ in range(2)]

    f = compile_graph(graph)
    assert "reduce" in fused_kinds(f.graph) and f.workspace_size(1000) < 1000
    for batch in BATCHES[1:]:  # an empty batch: nan (0 / 0) on both sides
        arrays = args(np.random.default_rng(batch), batch)
        np.testing.assert_allclose(f(*arrays), graph(*arrays), **tolerance(dtype))
    empty = args(np.random.default_rng(0), 0)
    assert np.isnan(f(*empty)) and np.isnan(graph(*empty))


def test_rows_kernels_share_rows_between_threads() -> None:
    # The batch sum makes the graph not batch-separable, so the rows kernel splits its rows.
    x = graphc.placeholder((None, 4096), name="x")
    graph = graphc.Graph([x], [graphc.log_softmax(x), graphc.sum(x, axis=0)])
    f = compile_graph(graph, threads=2)
    assert fused_kinds(f.graph) == ["rows"]
    assert re.search(r"define [^\n]*k\d+_fused_reduce_max[^\n]*\.work", f.llvm_ir())
    for batch in (0, 3, 2000):
        arrays = [np.random.default_rng(batch).standard_normal((batch, 4096)).astype(np.float32)]
        for got, want in zip(f(*arrays), graph(*arrays)):
            np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-4)
