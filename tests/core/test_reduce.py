"""The reduce family against numpy: sum, mean, max, min, argmax, argmin, var and std."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import graphc
from graphc.core import Property
from graphc.primitives import reduce as R

DTYPES = ["float32", "float64", "int32", "int64", "bool"]
BATCHES = [0, 1, 5]
AXES = [None, 0, -1, (0, 2), (2, -3), ()]


def sample(rng: np.random.Generator, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    if dtype == "bool":
        return rng.random(shape) < 0.5
    if dtype.startswith("int"):
        return rng.integers(-9, 10, shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def assert_matches(got: np.ndarray, want: np.ndarray) -> None:
    """Same dtype and shape; equal values (floats up to accumulation-order rounding)."""
    want = np.asarray(want)
    assert got.dtype == want.dtype and got.shape == want.shape, (got, want)
    if want.dtype.kind == "f":
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    else:
        np.testing.assert_array_equal(got, want)


def evaluate(fn, shape, dtype, rng, batch=None):
    """`fn(graphc, x)` evaluated on a random array, and `fn(np, array)`."""
    x = graphc.placeholder(shape, dtype)
    a = sample(rng, tuple(batch if d is None else d for d in shape), dtype)
    return graphc.Graph([x], fn(graphc, x))(a), fn(np, a)


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", AXES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["sum", "mean", "max", "min"])
def test_reductions(name, dtype, axis, keepdims, rng):
    got, want = evaluate(
        lambda m, x: getattr(m, name)(x, axis=axis, keepdims=keepdims), (2, 3, 4), dtype, rng
    )
    assert_matches(got, want)


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 1)])
@pytest.mark.parametrize("dtype", ["float32", "int32", "bool"])
@pytest.mark.parametrize("name", ["sum", "mean", "max", "min"])
def test_reductions_batched(name, dtype, axis, keepdims, rng):
    for batch in [1, 5]:
        got, want = evaluate(
            lambda m, x: getattr(m, name)(x, axis=axis, keepdims=keepdims),
            (None, 3),
            dtype,
            rng,
            batch,
        )
        assert_matches(got, want)


def test_reductions_over_an_empty_batch(rng):
    x = graphc.placeholder((None, 3), "float32")
    i = graphc.placeholder((None, 3), "int32")
    outputs = [
        graphc.sum(x, 0),
        graphc.mean(x, 0),
        graphc.max(x, 0),
        graphc.min(i, 0),
        graphc.argmax(x, 0),
        graphc.sum(x, 1),
        graphc.var(x, 0),
    ]
    got = graphc.Graph([x, i], outputs)(np.zeros((0, 3)), np.zeros((0, 3), np.int32))
    assert [g.shape for g in got] == [(3,)] * 5 + [(0,), (3,)]
    np.testing.assert_array_equal(got[0], 0)
    assert np.isnan(got[1]).all() and np.isnan(got[6]).all()  # numpy's mean of nothing
    np.testing.assert_array_equal(got[2], -np.inf)  # identities of the empty reduction
    np.testing.assert_array_equal(got[3], np.iinfo(np.int32).max)
    np.testing.assert_array_equal(got[4], 0)


def test_sum_and_mean_dtypes():
    cases = {"float32": ("float32", "float32"), "int32": ("int64", "float64")}
    cases |= {"bool": ("int64", "float64"), "int64": ("int64", "float64")}
    for dtype, (sum_dtype, mean_dtype) in cases.items():
        x = graphc.placeholder((None, 2), dtype)
        assert graphc.sum(x).dtype == sum_dtype
        assert graphc.mean(x, axis=1).dtype == mean_dtype
        assert graphc.max(x).dtype == dtype


def test_mean_over_the_batch_axis_divides_by_the_batch_size(rng):
    x = graphc.placeholder((None, 2, 3), "float64")
    y = graphc.mean(x, axis=(0, 2))
    nodes = graphc.Graph([x], y)
    assert any(nodes.primitive(n).name == "dim_size" for n in nodes.order)
    for batch in BATCHES[1:]:
        a = rng.standard_normal((batch, 2, 3))
        np.testing.assert_allclose(nodes(a), a.mean(axis=(0, 2)))


def test_mean_over_two_batch_axes(rng):
    x = graphc.placeholder((None,), "float64")
    outer = graphc.reshape(x, (None, 1)) * graphc.reshape(x, (1, None))  # f64[None,None]
    graph = graphc.Graph([x], [graphc.mean(outer), graphc.mean(outer, axis=1)])
    for batch in BATCHES[1:]:
        a = rng.standard_normal(batch)
        total, rows = graph(a)
        np.testing.assert_allclose(total, np.outer(a, a).mean())
        np.testing.assert_allclose(rows, np.outer(a, a).mean(axis=1))


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", [None, 0, -1, (0, 2)])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "bool"])
@pytest.mark.parametrize("name", ["var", "std"])
def test_var_std(name, dtype, axis, keepdims, rng):
    got, want = evaluate(
        lambda m, x: getattr(m, name)(x, axis=axis, keepdims=keepdims), (3, 2, 4), dtype, rng
    )
    assert_matches(got, want)


def test_var_std_batched_and_stable(rng):
    for batch in [1, 5]:
        got, want = evaluate(lambda m, x: m.std(x, axis=0), (None, 3), "float64", rng, batch)
        assert_matches(got, want)
    # Two passes keep a small spread around a large mean exact in float32.
    x = graphc.placeholder((4,), "float32")
    a = np.float32(1e4) + np.array([0, 1, 2, 3], np.float32)
    assert float(graphc.Graph([x], graphc.var(x))(a)) == pytest.approx(1.25)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("axis", [None, 0, 1, -1])
@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_arg_reductions(name, axis, dtype, rng):
    got, want = evaluate(lambda m, x: getattr(m, name)(x, axis=axis), (3, 4), dtype, rng)
    assert_matches(got, want)


def test_arg_reductions_ties_nan_and_batch(rng):
    x = graphc.placeholder((None, 4), "float64")
    graph = graphc.Graph([x], [graphc.argmax(x, 1), graphc.argmin(x, -1), graphc.argmax(x, 0)])
    a = np.array([[1, 3, 3, 0], [2, np.nan, 5, np.nan], [0, 0, 0, 0]])
    for got, want in zip(graph(a), [a.argmax(1), a.argmin(-1), a.argmax(0)]):
        assert_matches(got, want.astype(np.int64))
    assert graphc.argmax(graphc.placeholder((None,))).shape == ()


def test_operator_methods(rng):
    x = graphc.placeholder((None, 3), "float32")
    a = sample(rng, (4, 3), "float32")
    outs = [x.sum(), x.sum(axis=1), x.mean(0), x.max(1, True), x.min(axis=-1)]
    wants = [a.sum(), a.sum(axis=1), a.mean(0), a.max(1, keepdims=True), a.min(axis=-1)]
    for got, want in zip(graphc.Graph([x], outs)(a), wants):
        assert_matches(got, want)


def test_reduce_errors():
    x = graphc.placeholder((2, 3))
    with pytest.raises(graphc.ShapeError, match=r"sum: axis 2 is out of bounds for f32\[2,3\]"):
        graphc.sum(x, axis=2)
    with pytest.raises(graphc.ShapeError, match=r"mean: repeated axis in \(1, -1\) for f32"):
        graphc.mean(x, axis=(1, -1))
    with pytest.raises(graphc.ShapeError, match=r"max: zero-size reduction .* f32\[0,3\]"):
        graphc.max(graphc.placeholder((0, 3)), axis=0)
    with pytest.raises(graphc.ShapeError, match=r"argmin: axis 1 of f32\[2,0\] is empty"):
        graphc.argmin(graphc.placeholder((2, 0)), axis=1)
    with pytest.raises(graphc.ShapeError, match=r"argmax: axis=None flattens .* f32\[None,3\]"):
        graphc.argmax(graphc.placeholder((None, 3)))
    with pytest.raises(graphc.ShapeError, match=r"min: expected an int .* of f32\[2,3\], got 1.0"):
        graphc.min(x, axis=1.0)
    with pytest.raises(graphc.ShapeError, match=r"min: expected an int axis for f32\[2,3\]"):
        graphc.min(x, axis=(1.0,))
    with pytest.raises(
        graphc.ShapeError, match=r"reduce_sum: axes must be a sorted tuple.*\(1, 0\)"
    ):
        R.reduce_sum_p.bind(x, axes=(1, 0))
    with pytest.raises(graphc.DTypeError, match=r"reduce_sum: unsupported operand dtype.*bool"):
        R.reduce_sum_p.bind(graphc.placeholder((2,), "bool"), axes=(0,))
    with pytest.raises(graphc.ShapeError, match=r"argmax: axis must be an int in \[0, 2\)"):
        R.argmax_p.bind(x, axis=2)


def test_primitives_and_exports():
    assert R.reduce_sum_p.has(Property.LINEAR)
    for prim in [R.reduce_sum_p, R.reduce_max_p, R.reduce_min_p, R.argmax_p, R.argmin_p]:
        assert not prim.has(Property.ELEMENTWISE)
    assert not R.reduce_max_p.has(Property.LINEAR)
    assert all(getattr(graphc, name) is getattr(R, name) for name in R.__all__)
    y = R.reduce_max_p.bind(graphc.placeholder((None, 2, 3)), axes=(0, 2))
    assert y.type == graphc.TensorType((2,), "float32")
    assert R.argmin_p.bind(graphc.placeholder((None, 2)), axis=1).type == graphc.TensorType(
        (None,), "int64"
    )


@settings(max_examples=60, deadline=None)
@given(
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=4).map(tuple),
    data=st.data(),
    keepdims=st.booleans(),
)
def test_integer_sum_and_max_match_numpy(shape, data, keepdims):
    ndim = len(shape)
    axes = data.draw(st.lists(st.integers(-ndim, ndim - 1), unique_by=lambda a: a % ndim))
    x = graphc.placeholder(shape, "int32")
    a = np.arange(np.prod(shape), dtype=np.int32).reshape(shape) * 7 % 11
    outs = [graphc.sum(x, tuple(axes), keepdims), graphc.max(x, tuple(axes), keepdims)]
    got_sum, got_max = graphc.Graph([x], outs)(a)
    assert_matches(got_sum, np.sum(a, axis=tuple(axes), keepdims=keepdims))
    assert_matches(got_max, np.max(a, axis=tuple(axes), keepdims=keepdims))
