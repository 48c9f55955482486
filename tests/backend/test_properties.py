"""Property test: random graphs of elementwise, shape and reduction ops, compiled == interpreted.

Hypothesis draws a few inputs, then a sequence of operations, each applied to values drawn
from the pool built so far (a binary op whose operands do not broadcast is skipped). The graph
is compiled with a drawn optimization level, with or without the graph passes, and called at
batch sizes 0, 1, 7 and 1000.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import graphc
from graphc.backend import compile_graph
from graphc.errors import ShapeError

pytestmark = pytest.mark.backend

INPUT_SHAPES = [(None, 3, 4), (None, 1, 4), (3, 4), (4,), (), (None, 3, 1)]

UNARY = [
    graphc.exp,
    graphc.tanh,
    graphc.sin,
    graphc.abs,
    graphc.negative,
    graphc.sigmoid,
    graphc.floor,
    graphc.sqrt,
    graphc.log1p,
]
BINARY = [
    graphc.add,
    graphc.subtract,
    graphc.multiply,
    graphc.maximum,
    graphc.minimum,
    graphc.divide,
    graphc.remainder,
]


def reduce_op(kind: str):
    fn = {"sum": graphc.sum, "max": graphc.max, "min": graphc.min}[kind]

    def apply(x, axis_draw: int):
        static = [a for a, d in enumerate(x.shape) if d is not None]
        if not static:
            return None
        return fn(x, axis=static[axis_draw % len(static)], keepdims=True)

    return apply


def shape_op(kind: str):
    def apply(x, draw: int):
        if x.ndim == 0:
            return None
        axis = draw % x.ndim
        if kind == "rev":
            return graphc.flip(x, axis)
        if kind == "slice" and x.shape[axis] is not None:
            index = [slice(None)] * x.ndim
            index[axis] = slice(None, None, 2)
            return x[tuple(index)]
        if kind == "where":
            return graphc.where(x > 0.5, x, x * 0.25)
        if kind == "concat" and x.shape[axis] is not None:
            return graphc.concatenate([x, graphc.exp(x)], axis=axis)
        return None

    return apply


OTHER = [reduce_op(k) for k in ("sum", "max", "min")] + [
    shape_op(k) for k in ("rev", "slice", "where", "concat")
]


@st.composite
def random_graphs(draw) -> graphc.Graph:
    dtype = draw(st.sampled_from(["float64", "float32"]))
    shapes = draw(st.lists(st.sampled_from(INPUT_SHAPES), min_size=1, max_size=3))
    if not any(None in s for s in shapes):
        shapes[0] = (None, 3, 4)
    inputs = [graphc.placeholder(s, dtype, name=f"in{i}") for i, s in enumerate(shapes)]
    pool = list(inputs)
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["unary", "binary", "other"]))
        x = draw(st.sampled_from(pool))
        if kind == "unary":
            pool.append(draw(st.sampled_from(UNARY))(x))
        elif kind == "binary":
            y = draw(st.sampled_from(pool))
            try:
                pool.append(draw(st.sampled_from(BINARY))(x, y))
            except ShapeError:
                continue
        else:
            result = draw(st.sampled_from(OTHER))(x, draw(st.integers(0, 3)))
            if result is not None:
                pool.append(result)
    outputs = pool[len(inputs) :][-2:] or [graphc.exp(pool[0])]
    return graphc.Graph(inputs, outputs)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    graph=random_graphs(),
    opt_level=st.sampled_from([0, 2, 3]),
    run_passes=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_random_graphs(graph: graphc.Graph, opt_level: int, run_passes: bool, seed: int) -> None:
    f = compile_graph(graph, opt_level=opt_level, run_passes=run_passes)
    rng = np.random.default_rng(seed)
    for batch in (0, 1, 7, 1000):
        args = [
            (rng.standard_normal(t.concrete_shape(batch)) * 2).astype(t.dtype)
            for t in graph.input_types
        ]
        got, want = f(*args), graph(*args)
        got, want = (got, want) if isinstance(got, list) else ([got], [want])
        for g, w in zip(got, want):
            # float32 vector math may differ from numpy's by a few ulp (docs/backend.md), and a
            # chain like exp(exp(x)) or a difference of near-equal values amplifies that; a
            # wrong index or operation is off by far more than these bounds.
            tight = w.dtype == np.float64
            np.testing.assert_allclose(
                g, w, rtol=1e-12 if tight else 2e-3, atol=1e-12 if tight else 1e-3
            )
