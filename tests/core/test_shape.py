"""The shape family against numpy: reshape, transpose, broadcast_to, concatenate, stack, pad,
take, scatter_add, squeeze, expand_dims, flip and dim_size, with and without a batch dimension."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import graphc
from graphc.core import Property, is_constant
from graphc.primitives import shape as S

DTYPES = ["float32", "float64", "int32", "int64", "bool"]
BATCHES = [0, 1, 5]


def sample(rng: np.random.Generator, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    if dtype == "bool":
        return rng.random(shape) < 0.5
    if dtype.startswith("int"):
        return rng.integers(-9, 10, shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def concrete(shape: tuple, batch: int) -> tuple[int, ...]:
    return tuple(batch if d is None else d for d in shape)


def check(fn, shape, dtype, rng, batches=BATCHES) -> graphc.Value:
    """Compare `fn(graphc, x)` on a placeholder with `fn(np, a)` on arrays (every batch size)."""
    x = graphc.placeholder(shape, dtype)
    out = fn(graphc, x)
    graph = graphc.Graph([x], out)
    for batch in batches if None in shape else [None]:
        a = sample(rng, concrete(shape, batch), dtype)
        got, want = graph(a), np.asarray(fn(np, a))
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(got, want)
    return out


def error_message(excinfo: pytest.ExceptionInfo) -> str:
    return str(excinfo.value)


# --- reshape -----------------------------------------------------------------------------------

STATIC_RESHAPES = [
    ((2, 3), (3, 2)),
    ((2, 3), (6,)),
    ((2, 3), (-1,)),
    ((4,), (2, -1)),
    ((), (1, 1)),
    ((1, 1), ()),
    ((0, 3), (3, 0)),
    ((2, 3, 4), (4, -1, 2)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("shape", "new_shape"), STATIC_RESHAPES)
def test_reshape_static(shape, new_shape, dtype, rng):
    check(lambda m, x: m.reshape(x, new_shape), shape, dtype, rng)


BATCHED_RESHAPES = [
    ((None, 4, 4), (None, 16), (None, 16)),
    ((None, 4, 4), (None, -1), (None, 16)),
    ((None, 4, 4), (-1, 16), (None, 16)),
    ((None, 2, 3), (None, 3, 2), (None, 3, 2)),
    ((3, None), (3, 1, None), (3, 1, None)),
    ((6, None, 2), (2, 3, None, 1, 2), (2, 3, None, 1, 2)),
    ((6, None, 2), (2, -1, None, 2), (2, 3, None, 2)),
]


@pytest.mark.parametrize("dtype", ["float32", "int64", "bool"])
@pytest.mark.parametrize(("shape", "new_shape", "result"), BATCHED_RESHAPES)
def test_reshape_batched(shape, new_shape, result, dtype, rng):
    x = graphc.placeholder(shape, dtype)
    y = graphc.reshape(x, new_shape)
    assert y.shape == result
    graph = graphc.Graph([x], y)
    for batch in BATCHES:
        a = sample(rng, concrete(shape, batch), dtype)
        np.testing.assert_array_equal(graph(a), a.reshape(concrete(result, batch)))


def test_reshape_noop_and_method_forms():
    x = graphc.placeholder((None, 2, 3))
    assert graphc.reshape(x, (None, 2, 3)) is x
    assert graphc.reshape(x, [None, 2, -1]) is x
    assert x.reshape(None, 6).shape == (None, 6)
    assert x.reshape((None, 3, 2)).shape == (None, 3, 2)
    assert graphc.reshape(graphc.placeholder((6,)), 6).shape == (6,)
    assert graphc.reshape(np.arange(6), (2, 3)).shape == (2, 3)


@pytest.mark.parametrize(
    ("shape", "new_shape", "fragments"),
    [
        ((None, 2, 3), (-1, 3), ["f32[None,2,3]", "[None,3]", "cannot be merged with or split"]),
        ((None, 2, 3), (2, None, 3), ["f32[None,2,3]", "[2,None,3]", "1/6", "2/3"]),
        ((None, 6), (6,), ["f32[None,6]", "[6]", "cannot be merged into static"]),
        ((6,), (None, 6), ["f32[6]", "[None,6]", "no batch dimension"]),
        ((2, 3), (4,), ["f32[2,3]", "[4]", "6 elements"]),
        ((2, 3), (-1, -1), ["at most one -1", "f32[2,3]"]),
        ((2, 3), (4, -1), ["cannot infer the -1", "f32[2,3]"]),
        ((2, 3), (2.0, 3), ["non-negative ints", "f32[2,3]"]),
        ((None, 3), (None, None, 3), ["f32[None,3]", "at most one batch dimension"]),
        ((None, None), (None, None, 1), ["f32[None,None]", "at most one batch dimension"]),
    ],
)
def test_reshape_errors(shape, new_shape, fragments):
    x = graphc.placeholder(shape)
    with pytest.raises(graphc.ShapeError, match="^reshape: ") as excinfo:
        graphc.reshape(x, new_shape)
    for fragment in fragments:
        assert fragment in error_message(excinfo)


def test_reshape_rule_checks_attrs():
    x = graphc.placeholder((2, 3))
    with pytest.raises(graphc.ShapeError, match=r"reshape: new_shape must be a tuple.*\[3, 2\]"):
        S.reshape_p.bind(x, new_shape=[3, 2])
    with pytest.raises(graphc.ShapeError, match="reshape: new_shape must be a tuple"):
        S.reshape_p.bind(x, new_shape=(-1, 6))


# --- transpose ---------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    ("shape", "axes"),
    [((2, 3), None), ((2, 3), (1, 0)), ((2, 3, 4), (2, 0, 1)), ((2, 3, 4), (-1, 0, -2)), ((), ())],
)
def test_transpose(shape, axes, dtype, rng):
    check(lambda m, x: m.transpose(x, axes), shape, dtype, rng)


def test_transpose_batched_and_operators(rng):
    check(lambda m, x: m.transpose(x, (2, 0, 1)), (None, 2, 3), "float32", rng)
    check(lambda m, x: x.T, (None, 3), "int32", rng)
    x = graphc.placeholder((2, 3, 4))
    assert x.transpose(1, 0, 2).shape == (3, 2, 4)
    assert x.transpose().shape == (4, 3, 2)
    assert graphc.transpose(x, (0, 1, 2)) is x


def test_transpose_errors():
    x = graphc.placeholder((2, 3))
    with pytest.raises(graphc.ShapeError, match=r"transpose: permutation \(0, 0\).*f32\[2,3\]"):
        graphc.transpose(x, (0, 0))
    with pytest.raises(graphc.ShapeError, match=r"transpose: permutation \(0,\).*f32\[2,3\]"):
        graphc.transpose(x, (0,))
    with pytest.raises(graphc.ShapeError, match=r"transpose: axis 2 is out of bounds.*f32\[2,3\]"):
        graphc.transpose(x, (2, 0))


# --- broadcast_to ------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    ("shape", "target"),
    [((3,), (2, 3)), ((1, 3), (4, 2, 3)), ((), (2, 2)), ((2, 1), (2, 5)), ((0,), (3, 0))],
)
def test_broadcast_to(shape, target, dtype, rng):
    check(lambda m, x: m.broadcast_to(x, target), shape, dtype, rng)


@pytest.mark.parametrize(
    ("shape", "target"),
    [((None, 1), (None, 3)), ((3,), (None, 3)), ((None, 3), (2, None, 3)), ((1,), (None,))],
)
def test_broadcast_to_batched(shape, target, rng):
    x = graphc.placeholder(shape)
    anchor = graphc.placeholder((None,))  # gives the graph its batch size when `shape` is static
    graph = graphc.Graph([x, anchor], graphc.broadcast_to(x, target))
    for batch in BATCHES:
        a = sample(rng, concrete(shape, batch), "float32")
        got = graph(a, np.zeros(batch, np.float32))
        np.testing.assert_array_equal(got, np.broadcast_to(a, concrete(target, batch)))


@pytest.mark.parametrize(
    ("shape", "target", "fragment"),
    [
        ((3,), (4,), "cannot broadcast f32[3] to [4]"),
        ((None, 3), (2, 3), "cannot broadcast f32[None,3] to [2,3]"),
        ((2, 3), (3,), "fewer axes"),
        ((None,), (1,), "cannot broadcast f32[None] to [1]"),
    ],
)
def test_broadcast_to_errors(shape, target, fragment):
    with pytest.raises(graphc.ShapeError, match="^broadcast_to: ") as excinfo:
        graphc.broadcast_to(graphc.placeholder(shape), target)
    assert fragment in error_message(excinfo)


# --- concatenate and stack ---------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("axis", [0, 1, -1, None])
def test_concatenate(dtype, axis, rng):
    a, b = sample(rng, (2, 3), dtype), sample(rng, (2, 3), dtype)
    x, y = graphc.placeholder((2, 3), dtype), graphc.placeholder((2, 3), dtype)
    got = graphc.Graph([x, y], graphc.concatenate([x, y, x], axis=axis))(a, b)
    want = np.concatenate([a, b, a], axis=axis)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


def test_concatenate_promotes_and_accepts_arrays(rng):
    x = graphc.placeholder((2,), "int32")
    out = graphc.concatenate([x, np.array([0.5], np.float32), graphc.placeholder((1,), "bool")])
    assert out.type == graphc.TensorType((4,), "float64")  # numpy: int32 + float32 -> float64
    assert graphc.concatenate([x]) is x


def test_concatenate_and_stack_batched(rng):
    check(lambda m, x: m.concatenate([x, x * 2], axis=-1), (None, 3), "float32", rng)
    check(lambda m, x: m.stack([x, -x], axis=1), (None, 3), "float64", rng)
    check(lambda m, x: m.stack([x, x], axis=0), (None, 2), "int32", rng)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("shape", "axis"), [((3,), 0), ((3,), 1), ((2, 3), -1), ((), 0)])
def test_stack(shape, axis, dtype, rng):
    check(lambda m, x: m.stack([x, x, x], axis=axis), shape, dtype, rng)
    check(lambda m, x: m.stack([x], axis=axis), shape, dtype, rng)


def test_concatenate_and_stack_errors():
    a, b = graphc.placeholder((None, 3)), graphc.placeholder((None, 4))
    with pytest.raises(graphc.ShapeError, match=r"concatenate: cannot concatenate along axis 0"):
        graphc.concatenate([a, a], axis=0)
    with pytest.raises(graphc.ShapeError, match=r"every axis but 0, got f32\[2,3\], f32\[2,4\]"):
        graphc.concatenate([graphc.placeholder((2, 3)), graphc.placeholder((2, 4))])
    with pytest.raises(graphc.ShapeError, match="concatenate: expected at least one value"):
        graphc.concatenate([])
    with pytest.raises(graphc.ShapeError, match="zero-dimensional"):
        graphc.concatenate([graphc.placeholder(()), graphc.placeholder(())])
    with pytest.raises(graphc.ShapeError, match="expected a sequence of values"):
        graphc.concatenate(a)
    with pytest.raises(graphc.ShapeError, match="merge the batch dimension of f32"):
        graphc.concatenate([a, a], axis=None)
    with pytest.raises(graphc.ShapeError, match=r"stack: .*same shape.*f32\[None,3\], f32\[No"):
        graphc.stack([a, b])
    with pytest.raises(graphc.DTypeError, match=r"concatenate: .*share a dtype.*i32\[2\]"):
        S.concatenate_p.bind(graphc.placeholder((2,)), graphc.placeholder((2,), "int32"), axis=0)
    with pytest.raises(graphc.ShapeError, match=r"concatenate: axis must be an int in \[0, 1\)"):
        S.concatenate_p.bind(graphc.placeholder((2,)), axis=1)


# --- pad ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    ("pad_width", "value"),
    [(1, 0), ((1, 2), 7), (((1, 0), (0, 2)), 1), (((2, 1),), -3), ((0, 0), 5)],
)
def test_pad(pad_width, value, dtype, rng):
    check(lambda m, x: m.pad(x, pad_width, constant_values=value), (2, 3), dtype, rng)


def test_pad_converts_the_value_like_numpy(rng):
    check(lambda m, x: m.pad(x, 1, constant_values=2.7), (3,), "int32", rng)
    check(lambda m, x: m.pad(x, 1, constant_values=-np.inf), (3,), "float32", rng)
    check(lambda m, x: m.pad(x, ((0, 0), (1, 2))), (None, 3), "float64", rng)
    x = graphc.placeholder((2, 3))
    assert graphc.pad(x, 0) is x


def reference_pad(a: np.ndarray, config, value) -> np.ndarray:
    """Interior padding spelled out element by element: x[i] lands at lo + i * (interior + 1)."""
    shape = tuple(lo + hi + d + max(d - 1, 0) * i for d, (lo, hi, i) in zip(a.shape, config))
    out = np.full(shape, value, a.dtype)
    for index in np.ndindex(*a.shape):
        out[tuple(lo + k * (i + 1) for k, (lo, _, i) in zip(index, config))] = a[index]
    return out


@pytest.mark.parametrize("dtype", ["float32", "int64", "bool"])
@pytest.mark.parametrize(
    ("shape", "config"),
    [
        ((3,), ((1, 2, 1),)),
        ((2, 3), ((0, 0, 2), (1, 0, 1))),
        ((1, 0), ((1, 1, 3), (2, 0, 4))),
        ((2, 2, 2), ((0, 1, 0), (1, 0, 1), (0, 0, 0))),
    ],
)
def test_pad_primitive_interior(shape, config, dtype, rng):
    value = 1.0 if dtype == "bool" else -4.0
    x = graphc.placeholder(shape, dtype)
    a = sample(rng, shape, dtype)
    got = graphc.Graph([x], S.pad_p.bind(x, config=config, value=value))(a)
    np.testing.assert_array_equal(got, reference_pad(a, config, value))


def test_pad_primitive_batched_and_minus_inf(rng):
    x = graphc.placeholder((None, 2))
    y = S.pad_p.bind(x, config=((0, 0, 0), (1, 1, 1)), value=-math.inf)
    assert y.shape == (None, 5)
    graph = graphc.Graph([x], y)
    for batch in BATCHES:
        a = sample(rng, (batch, 2), "float32")
        np.testing.assert_array_equal(graph(a), reference_pad(a, ((0, 0, 0), (1, 1, 1)), -np.inf))


def test_pad_errors():
    x = graphc.placeholder((None, 3))
    with pytest.raises(graphc.ShapeError, match=r"pad: axis 0 of f32\[None,3\] is the batch"):
        graphc.pad(x, 1)
    with pytest.raises(graphc.ShapeError, match="pad: pad_width must be >= 0"):
        graphc.pad(graphc.placeholder((3,)), (-1, 0))
    with pytest.raises(graphc.ShapeError, match=r"does not give \(before, after\) for the 1 axes"):
        graphc.pad(graphc.placeholder((3,)), (1, 2, 3))
    with pytest.raises(graphc.ShapeError, match="pad: pad_width must be ints"):
        graphc.pad(graphc.placeholder((3,)), 1.5)
    with pytest.raises(graphc.DTypeError, match=r"pad: constant value inf does not fit i32\[3\]"):
        graphc.pad(graphc.placeholder((3,), "int32"), 1, constant_values=np.inf)
    with pytest.raises(graphc.ShapeError, match="pad: constant_values must be a number"):
        graphc.pad(graphc.placeholder((3,)), 1, constant_values=[1, 2])
    y = graphc.placeholder((3,), "int32")
    with pytest.raises(graphc.DTypeError, match=r"pad: value 0.5 is not exactly .* i32\[3\]"):
        S.pad_p.bind(y, config=((1, 1, 0),), value=0.5)
    with pytest.raises(
        graphc.ShapeError, match=r"pad: config for axis 0 of i32\[3\].*\(1, -1, 0\)"
    ):
        S.pad_p.bind(y, config=((1, -1, 0),), value=0.0)
    with pytest.raises(graphc.ShapeError, match=r"pad: expected one \(lo, hi, interior\) per axis"):
        S.pad_p.bind(y, config=(), value=0.0)


# --- take and scatter_add ----------------------------------------------------------------------


def reference_take(a: np.ndarray, indices, axis: int) -> np.ndarray:
    """The documented semantics: negative indices wrap once, the rest clamp."""
    indices = np.asarray(indices, dtype=np.int64)
    n = a.shape[axis]
    return np.take(a, np.where(indices < 0, indices + n, indices), axis=axis, mode="clip")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    ("indices", "axis"), [([2, 0, 2], 0), ([[1, -1], [0, 3]], 1), (1, -1), ([], 2), ([4, -7], 0)]
)
def test_take(indices, axis, dtype, rng):
    a = sample(rng, (3, 4, 2), dtype)
    x = graphc.placeholder((3, 4, 2), dtype)
    got = graphc.Graph([x], graphc.take(x, indices, axis=axis))(a)
    want = reference_take(a, indices, axis % 3)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)


def test_take_matches_numpy_in_range(rng):
    check(lambda m, x: m.take(x, [[5, 0], [-1, -6]]), (2, 3), "float32", rng)
    check(lambda m, x: m.take(x, np.array([2, 1], np.int32), axis=1), (None, 3), "int64", rng)
    check(lambda m, x: m.take(x, 0, axis=0), (2, 3), "bool", rng)


def test_take_value_indices_batched(rng):
    table = graphc.placeholder((5, 3), "float64")
    labels = graphc.placeholder((None,), "int32")
    out = graphc.take(table, labels, axis=0)
    assert out.shape == (None, 3)
    graph = graphc.Graph([table, labels], out)
    t = sample(rng, (5, 3), "float64")
    for batch in BATCHES:
        idx = rng.integers(-5, 5, batch).astype(np.int32)
        np.testing.assert_array_equal(graph(t, idx), t[idx])


def test_take_errors():
    x = graphc.placeholder((None, 3))
    with pytest.raises(
        graphc.ShapeError, match=r"take: cannot index along axis 0 of f32\[None,3\]"
    ):
        graphc.take(x, [0], axis=0)
    with pytest.raises(graphc.ShapeError, match="take: axis=None flattens"):
        graphc.take(x, [0])
    with pytest.raises(graphc.DTypeError, match="take: indices must be integers, got .* float64"):
        graphc.take(graphc.placeholder((3,)), [0.5])
    with pytest.raises(graphc.DTypeError, match=r"take: indices must be int32 or int64, got f32"):
        graphc.take(graphc.placeholder((3,)), graphc.placeholder((2,)))
    with pytest.raises(graphc.ShapeError, match=r"take: the indexed axis of f32\[0,2\] has size 0"):
        graphc.take(graphc.placeholder((0, 2)), [0], axis=0)
    with pytest.raises(graphc.ShapeError, match=r"take: axis 2 is out of bounds for f32\[None,3\]"):
        graphc.take(x, [0], axis=2)
    empty = graphc.take(graphc.placeholder((0, 2)), np.zeros((2, 0), int), axis=0)
    assert empty.shape == (2, 0, 2)


def reference_scatter_add(updates, indices, axis, size):
    indices = np.asarray(indices, dtype=np.int64)
    shape = updates.shape[:axis] + (size,) + updates.shape[axis + indices.ndim :]
    out = np.zeros(shape, updates.dtype)
    wrapped = np.clip(np.where(indices < 0, indices + size, indices), 0, size - 1)
    np.add.at(out, (slice(None),) * axis + (wrapped,), updates)
    return out


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int64"])
@pytest.mark.parametrize(
    ("shape", "indices", "axis", "size"),
    [
        ((3,), [0, 2, 0], 0, 4),
        ((2, 3), [1, -1, 9], 1, 3),
        ((2, 2, 3), [[0, 0], [1, 0]], 0, 2),
        ((2, 3), 1, -1, 3),
        ((2, 0), [], 1, 0),
    ],
)
def test_scatter_add(shape, indices, axis, size, dtype, rng):
    a = sample(rng, shape, dtype)
    u = graphc.placeholder(shape, dtype)
    got = graphc.Graph([u], graphc.scatter_add(u, indices, axis=axis, size=size))(a)
    out_ndim = len(shape) - np.ndim(indices) + 1
    want = reference_scatter_add(a, indices, axis % out_ndim, size)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_scatter_add_is_the_transpose_of_take(rng):
    # <take(x, i), u> == <x, scatter_add(u, i)> for every x and u: the defining property.
    indices = np.array([[3, 0], [3, -2]])
    x = graphc.placeholder((None, 4), "float64")
    u = graphc.placeholder((None, 2, 2), "float64")
    lhs = graphc.sum(graphc.take(x, indices, axis=1) * u)
    rhs = graphc.sum(x * graphc.scatter_add(u, indices, axis=1, size=4))
    graph = graphc.Graph([x, u], [lhs, rhs])
    for batch in BATCHES:
        left, right = graph(rng.standard_normal((batch, 4)), rng.standard_normal((batch, 2, 2)))
        np.testing.assert_allclose(left, right)


def test_scatter_add_errors():
    u = graphc.placeholder((2, 3))
    with pytest.raises(graphc.DTypeError, match=r"scatter_add: updates must be numeric.*bool"):
        graphc.scatter_add(graphc.placeholder((2,), "bool"), [0, 1], 0, 2)
    with pytest.raises(
        graphc.ShapeError, match=r"f32\[2,3\] must have the indices' shape i64\[2\]"
    ):
        graphc.scatter_add(u, [0, 1], axis=1, size=3)
    with pytest.raises(graphc.ShapeError, match=r"scatter_add: size must be an int >= 0, got -1"):
        graphc.scatter_add(u, [0, 1], axis=0, size=-1)
    with pytest.raises(graphc.ShapeError, match=r"need at least the 3 axes of the indices"):
        graphc.scatter_add(u, np.zeros((1, 1, 1), int), axis=0, size=2)
    with pytest.raises(graphc.ShapeError, match="scatter_add: axis 2 is out of bounds"):
        graphc.scatter_add(u, [0, 1], axis=2, size=3)
    with pytest.raises(graphc.ShapeError, match="has size 0, so indices"):
        graphc.scatter_add(u, [0, 1], axis=0, size=0)


# --- dim_size, squeeze, expand_dims, flip ------------------------------------------------------


def test_dim_size():
    x = graphc.placeholder((None, 3, 4))
    static = graphc.dim_size(x, -1)
    assert is_constant(static) and static.type == graphc.TensorType((), "int64")
    batch = graphc.dim_size(x, 0)
    assert batch.primitive is S.dim_size_p and batch.type == graphc.TensorType((), "int64")
    graph = graphc.Graph([x], [batch, static])
    for n in BATCHES:
        got = graph(np.zeros((n, 3, 4)))
        assert [int(g) for g in got] == [n, 4] and got[0].dtype == np.int64
    with pytest.raises(graphc.ShapeError, match=r"dim_size: axis 3 is out of bounds for f32"):
        graphc.dim_size(x, 3)
    with pytest.raises(graphc.ShapeError, match=r"dim_size: axis must be an int in \[0, 3\)"):
        S.dim_size_p.bind(x, axis=-1)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    ("shape", "axis"), [((1, 3, 1), None), ((1, 3, 1), 0), ((1, 3, 1), (-1, 0)), ((3,), None)]
)
def test_squeeze(shape, axis, dtype, rng):
    check(lambda m, x: m.squeeze(x, axis), shape, dtype, rng)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("shape", "axis"), [((3,), 0), ((3,), -1), ((2, 3), (0, 3)), ((), 0)])
def test_expand_dims(shape, axis, dtype, rng):
    check(lambda m, x: m.expand_dims(x, axis), shape, dtype, rng)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    ("shape", "axis"), [((2, 3), None), ((2, 3), 0), ((2, 3, 4), (-1, 0)), ((), None)]
)
def test_flip(shape, axis, dtype, rng):
    check(lambda m, x: m.flip(x, axis), shape, dtype, rng)


def test_batched_squeeze_expand_flip(rng):
    check(lambda m, x: m.squeeze(x, 1), (None, 1, 3), "float32", rng)
    # Without an axis only static size-1 axes go: the batch axis stays even if it is 1 at run time.
    assert graphc.squeeze(graphc.placeholder((None, 1, 3, 1))).shape == (None, 3)
    check(lambda m, x: m.expand_dims(x, (0, 2)), (None, 3), "int32", rng)
    check(lambda m, x: m.flip(x), (None, 3), "float64", rng)


def test_squeeze_expand_flip_errors():
    x = graphc.placeholder((None, 1, 3))
    with pytest.raises(
        graphc.ShapeError, match=r"squeeze: cannot squeeze axis 2 of f32\[None,1,3\]"
    ):
        graphc.squeeze(x, 2)
    with pytest.raises(graphc.ShapeError, match="axis 0 of f32.*it is the batch dimension, not 1"):
        graphc.squeeze(x, 0)
    with pytest.raises(graphc.ShapeError, match="expand_dims: repeated axis"):
        graphc.expand_dims(x, (1, 1))
    with pytest.raises(graphc.ShapeError, match="flip: axis 3 is out of bounds"):
        graphc.flip(x, 3)
    with pytest.raises(graphc.ShapeError, match=r"rev: axes must be a sorted tuple.*\(1, 0\)"):
        S.rev_p.bind(x, axes=(1, 0))


def test_slice_rule_errors():
    x = graphc.placeholder((None, 4))
    with pytest.raises(graphc.ShapeError, match=r"slice: axis 0 of f32\[None,4\] is the batch"):
        S.slice_p.bind(x, start=(1, 0), stop=(None, 4), step=(1, 1))
    with pytest.raises(graphc.ShapeError, match=r"slice: axis 1 of f32\[None,4\] needs ints"):
        S.slice_p.bind(x, start=(0, 3), stop=(None, 5), step=(1, 1))
    with pytest.raises(graphc.ShapeError, match="slice: expected one start, stop and step per"):
        S.slice_p.bind(x, start=(0,), stop=(None,), step=(1,))
    y = S.slice_p.bind(x, start=(0, 1), stop=(None, 4), step=(1, 2))
    assert y.shape == (None, 2)


def test_properties():
    linear = [
        S.reshape_p,
        S.transpose_p,
        S.broadcast_to_p,
        S.slice_p,
        S.rev_p,
        S.concatenate_p,
        S.pad_p,
    ]
    others = [S.take_p, S.scatter_add_p, S.dim_size_p]
    for prim in linear + others:
        assert not prim.has(Property.ELEMENTWISE)
        assert prim.has(Property.LINEAR) == (prim in linear)
    assert S.reshape_p.needs_out_shape and S.broadcast_to_p.needs_out_shape
    assert sorted(S.__all__) == sorted(set(S.__all__))
    assert all(getattr(graphc, name) is getattr(S, name) for name in S.__all__)


# --- properties --------------------------------------------------------------------------------

shapes = st.lists(st.integers(0, 4), min_size=0, max_size=4).map(tuple)


@settings(max_examples=60, deadline=None)
@given(shape=shapes, data=st.data())
def test_transpose_round_trip_and_reshape_flat(shape, data):
    permutation = tuple(data.draw(st.permutations(range(len(shape)))))
    inverse = tuple(np.argsort(permutation))
    x = graphc.placeholder(shape, "int64")
    moved = graphc.transpose(x, permutation)
    back = graphc.transpose(moved, inverse)
    flat = graphc.reshape(moved, (-1,) if math.prod(shape) else (0,))
    a = np.arange(math.prod(shape), dtype=np.int64).reshape(shape)
    got_moved, got_back, got_flat = graphc.Graph([x], [moved, back, flat])(a)
    np.testing.assert_array_equal(got_moved, np.transpose(a, permutation))
    np.testing.assert_array_equal(got_back, a)
    np.testing.assert_array_equal(got_flat, np.transpose(a, permutation).ravel())
