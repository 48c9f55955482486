"""Graphs through the pass pipeline: fused loop nests, epilogues and the memory plan."""

from __future__ import annotations

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
