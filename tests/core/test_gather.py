"""take_along_axis / scatter_add_along_axis: per-example gathers and their transposes."""

from __future__ import annotations

import numpy as np
import pytest

import graphc
from graphc.testing import check_jvp, check_vjp

RNG = np.random.default_rng(3)


def clamp(indices, n):
    return np.clip(np.where(indices < 0, indices + n, indices), 0, n - 1)


@pytest.mark.parametrize("axis", [0, 1, 2])
@pytest.mark.parametrize("dtype", ["float32", "int64"])
def test_take_along_axis_matches_numpy_with_clamping(axis, dtype):
    x = RNG.integers(-9, 9, (3, 4, 5)).astype(dtype)
    shape = list(x.shape)
    shape[axis] = 6
    indices = RNG.integers(-8, 8, shape)
    graph = graphc.Graph([], graphc.take_along_axis(graphc.constant(x), indices, axis=axis))
    expected = np.take_along_axis(x, clamp(indices, x.shape[axis]), axis=axis)
    np.testing.assert_array_equal(graph(), expected)


def test_take_along_axis_broadcasts_indices_and_flattens_for_axis_none():
    x = np.arange(12.0).reshape(3, 4)
    picked = graphc.take_along_axis(graphc.constant(x), np.array([[3, 0]]), axis=1)
    np.testing.assert_array_equal(graphc.Graph([], picked)(), [[3, 0], [7, 4], [11, 8]])
    flat = graphc.take_along_axis(graphc.constant(x), np.array([11, 2]), axis=None)
    np.testing.assert_array_equal(graphc.Graph([], flat)(), [11, 2])


def test_batched_per_example_gather_and_scatter_are_transposes():
    x = graphc.placeholder((None, 5), "float64", name="x")
    i = graphc.placeholder((None, 3), "int32", name="i")
    graph = graphc.Graph([x, i], graphc.take_along_axis(x, i, axis=1) ** 2)
    args = [RNG.normal(size=(4, 5)), RNG.integers(0, 5, (4, 3)).astype("int32")]
    check_jvp(graph, args)
    check_vjp(graph, args)
    u = graphc.placeholder((None, 3), "float64", name="u")
    scatter = graphc.Graph([u, i], graphc.sin(graphc.scatter_add_along_axis(u, i, axis=1, size=5)))
    check_vjp(scatter, [RNG.normal(size=(4, 3)), args[1]])


def test_duplicate_indices_accumulate():
    updates = np.array([[1.0, 2.0, 3.0]])
    out = graphc.scatter_add_along_axis(updates, np.array([[1, 1, -1]]), axis=1, size=3)
    np.testing.assert_array_equal(graphc.Graph([], out)(), [[0.0, 3.0, 3.0]])


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: graphc.take_along_axis(np.ones((2, 3)), np.ones((2, 3)), axis=1), "integers"),
        (lambda: graphc.take_along_axis(np.ones((2, 3)), np.ones((3,), int), axis=1), "rank"),
        (
            lambda: graphc.take_along_axis(
                graphc.placeholder((None, 3)), graphc.placeholder((None, 1), "int32"), axis=0
            ),
            "batch dimension",
        ),
    ],
)
def test_errors_name_the_problem(build, message):
    with pytest.raises(graphc.GraphcError, match=message):
        build()


@pytest.mark.backend
def test_compiled_matches_the_interpreter():
    x = graphc.placeholder((None, 5, 3), name="x")
    i = graphc.placeholder((None, 4, 3), "int32", name="i")
    graph = graphc.Graph(
        [x, i],
        [
            graphc.take_along_axis(x, i, axis=1),
            graphc.scatter_add_along_axis(x[:, :4], i, axis=1, size=6),
        ],
    )
    compiled = graphc.compile(graph, cache=False)
    for batch in (0, 1, 7):
        args = [
            RNG.random((batch, 5, 3), dtype=np.float32),
            RNG.integers(-7, 9, (batch, 4, 3)).astype("int32"),
        ]
        for got, want in zip(compiled(*args), graph(*args)):
            np.testing.assert_allclose(got, want, rtol=1e-6)
