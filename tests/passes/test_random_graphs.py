"""Property tests: every pass and every level keeps the interpreter's results on random graphs.

Graphs are drawn over the elementwise, compare/select, cast, shape and reduce primitives, in
float64 and int32, with the constants (0, 1, -1, 2, broadcast zeros) that make rewrites fire.
Exact passes must give the same values up to numpy's own layout-dependent rounding (a sum over
a transposed view may round differently), hence a tight tolerance (rtol 1e-9) rather than
bitwise equality; signed zeros matter even so, as 1 / x turns them into infinities.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import graphc
from graphc.errors import ShapeError
from graphc.passes import optimize
from graphc.types import broadcast_shapes

UNARY = [
    graphc.negative,
    graphc.abs,
    graphc.sin,
    graphc.tanh,
    graphc.exp,
    lambda v: graphc.sqrt(graphc.abs(v)),
    lambda v: graphc.cast(graphc.cast(v, "float32"), "float64"),
    lambda v: graphc.negative(graphc.negative(v)),
]
BINARY = [
    graphc.add,
    graphc.subtract,
    graphc.multiply,
    graphc.maximum,
    graphc.minimum,
    lambda a, b: a / (graphc.abs(b) + 1.0),
]
INTEGER = [
    lambda i: i * 0 + i,
    lambda i: (i + 1) + 2,
    lambda i: i - i + 1,
    lambda i: i**3,
    lambda i: graphc.maximum(i, i) * -1,
]
CONSTANTS = [0.0, 1.0, -1.0, 2.0, 0.5]
EXPONENTS = [0.0, 1.0, 2.0, -1.0, 3.0]


def _compatible(a: graphc.Value, b: graphc.Value) -> bool:
    try:
        broadcast_shapes(a.shape, b.shape)
    except ShapeError:
        return False
    return True


def _step(data: st.DataObject, pool: list[graphc.Value]) -> graphc.Value:
    pick = lambda: data.draw(st.sampled_from(pool))  # noqa: E731
    kind = data.draw(
        st.sampled_from(
            ["unary", "binary", "constant", "pow", "select", "shape", "reduce", "zeros", "integer"]
        )
    )
    v = pick()
    if kind == "unary":
        return data.draw(st.sampled_from(UNARY))(v)
    if kind == "binary":
        w = pick()
        return data.draw(st.sampled_from(BINARY))(v, w if _compatible(v, w) else v)
    if kind == "constant":
        c = data.draw(st.sampled_from(CONSTANTS))
        op = data.draw(st.sampled_from(BINARY[:5]))
        return op(v, c) if data.draw(st.booleans()) else op(c, v)
    if kind == "pow":
        return graphc.power(v, data.draw(st.sampled_from(EXPONENTS)))
    if kind == "select":
        w = pick()
        if not _compatible(v, w):
            return v
        return graphc.where(v > w, v, data.draw(st.sampled_from([w, v, v * 2.0])))
    if kind == "shape":
        if v.ndim == 2:
            return graphc.transpose(graphc.sin(graphc.transpose(v)))
        if v.ndim == 1:
            return graphc.broadcast_to(v, (None, v.shape[0]))
        return graphc.reshape(graphc.reshape(v, (1,)), ())
    if kind == "reduce":
        if v.ndim == 0:
            return v
        reducer = data.draw(st.sampled_from([graphc.sum, graphc.max, graphc.min]))
        return reducer(v, axis=v.ndim - 1, keepdims=data.draw(st.booleans()))
    if kind == "integer":  # int32 arithmetic, exact, so its rewrites need no fast_math
        i = graphc.cast(graphc.floor(graphc.tanh(v) * 100.0), "int32")
        return graphc.cast(data.draw(st.sampled_from(INTEGER))(i), "float64")
    zeros = graphc.broadcast_to(graphc.constant(0.0), v.shape)
    return data.draw(st.sampled_from([zeros + v, v * (zeros + 1.0), graphc.exp(zeros) * v]))


def random_graph(data: st.DataObject) -> graphc.Graph:
    x = graphc.placeholder((None, 3), "float64", name="x")
    y = graphc.placeholder((3,), "float64", name="y")
    z = graphc.placeholder((), "float64", name="z")
    pool: list[graphc.Value] = [x, y, z]
    for _ in range(data.draw(st.integers(2, 10))):
        pool.append(_step(data, pool))
    outputs = [pool[-1]] + data.draw(st.lists(st.sampled_from(pool[3:]), max_size=2))
    if not any(v.type.is_batched for v in outputs):
        outputs.append(x)
    return graphc.Graph([x, y, z], outputs)


def arguments(seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    return rng.uniform(-2, 2, (4, 3)), rng.uniform(-2, 2, 3), np.float64(rng.uniform(-2, 2))


def assert_same(reference: list, result: list) -> None:
    assert len(reference) == len(result)
    for want, got in zip(reference, result):
        assert want.shape == got.shape and want.dtype == got.dtype
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12, equal_nan=True)


@settings(max_examples=100, deadline=None)
@given(data=st.data(), seed=st.integers(0, 2**16))
def test_every_pass_and_level_keeps_the_results(data, seed):
    graph = random_graph(data)
    args = arguments(seed)
    reference = graph(*args)
    for level in (0, 1, 2):
        assert_same(reference, optimize(graph, level, verify=True)(*args))
    for name in ("dce", "cse", "fold", "simplify", "inference", "fuse"):
        assert_same(reference, optimize(graph, passes=[name], verify=True)(*args))
    _, report = optimize(graph, 2, stats=True)
    plan = report.memory_plan
    assert plan.live_peak_bytes(4) <= plan.planned_peak_bytes(4) <= plan.naive_bytes(4)
