"""`x[key]` (shape.getitem) against numpy's basic indexing, including the batch dimension."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import graphc

SHAPE = (4, 5, 6)
KEYS = [
    (),
    0,
    -1,
    np.int64(3),
    slice(None),
    slice(1, 3),
    slice(None, None, 2),
    slice(None, None, -1),
    slice(3, 0, -1),
    slice(-2, None, -3),
    slice(5, -9, -2),
    slice(3, 1),
    slice(10, 20),
    (1, 2, 3),
    (-1, slice(None, None, -2), 0),
    (Ellipsis, 2),
    (1, Ellipsis),
    (Ellipsis,),
    (None, 1),
    (slice(None), None, slice(1, 4), None),
    (Ellipsis, None),
    (None, Ellipsis, None),
    (0, None, Ellipsis, slice(None, None, -1)),
    (slice(None, None, -1), slice(None, None, -1), slice(None, None, -1)),
    (slice(1, 2), 3, slice(4, 0, -2)),
]


@pytest.mark.parametrize("dtype", ["float32", "int64", "bool"])
@pytest.mark.parametrize("key", KEYS, ids=repr)
def test_basic_keys_match_numpy(key, dtype):
    a = (np.arange(np.prod(SHAPE)).reshape(SHAPE) % 7).astype(dtype)
    x = graphc.placeholder(SHAPE, dtype)
    y = x[key]
    got = graphc.Graph([x], y)(a)
    want = a[key]
    assert y.shape == want.shape
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


BATCHED_KEYS = [
    (slice(None), 1),
    (Ellipsis, slice(None, None, -1)),
    slice(None, None, -1),
    (slice(None), None),
    None,
    slice(0, None),
    (Ellipsis, 0, slice(1, None, 2)),
    (slice(None), -1, None, slice(None, None, -3)),
]


@pytest.mark.parametrize("key", BATCHED_KEYS, ids=repr)
def test_batched_keys(key):
    x = graphc.placeholder((None, 3, 4), "float64")
    graph = graphc.Graph([x], x[key])
    for batch in [0, 1, 5]:
        a = np.arange(batch * 12, dtype=np.float64).reshape(batch, 3, 4)
        np.testing.assert_array_equal(graph(a), a[key])


def test_batch_axis_elsewhere():
    x = graphc.placeholder((3, None), "int32")
    y = x[::-1, ::-1][1:]
    assert y.shape == (2, None)
    a = np.arange(15, dtype=np.int32).reshape(3, 5)
    np.testing.assert_array_equal(graphc.Graph([x], y)(a), a[::-1, ::-1][1:])


def test_at_most_one_node_of_each_kind():
    x = graphc.placeholder(SHAPE)
    graph = graphc.Graph([x], x[1, ::-2, None, 1:4])
    names = [graph.primitive(n).name for n in graph.order[1:]]
    assert names == ["slice", "rev", "reshape"]
    assert x[:, :, :] is x and x[...] is x


def test_iteration_and_scalars():
    x = graphc.placeholder((3, 2), "int32")
    rows = list(x)
    a = np.arange(6, dtype=np.int32).reshape(3, 2)
    for got, want in zip(graphc.Graph([x], rows)(a), a):
        np.testing.assert_array_equal(got, want)
    s = graphc.placeholder((), "float64")
    assert s[()] is s and s[None].shape == (1,) and s[...] is s


@pytest.mark.parametrize(
    ("key", "pattern"),
    [
        (0, r"getitem: axis 0 of f32\[None,3\] is the batch dimension.*taken whole.*got 0"),
        (slice(1, None), r"axis 0 of f32\[None,3\] is the batch dimension.*slice\(1, None"),
        (slice(None, 4), r"batch dimension.*slice\(None, 4, None\)"),
        (slice(None, None, 2), r"batch dimension.*slice\(None, None, 2\)"),
        ((slice(None), 3), r"index 3 is out of bounds for axis 1 of f32\[None,3\].*\[-3, 3\)"),
        ((slice(None), -4), r"index -4 is out of bounds .* range is \[-3, 3\)"),
        ((0, 0, 0), r"too many indices for f32\[None,3\]: 2 axes but 3"),
        ((Ellipsis, Ellipsis), r"only have a single Ellipsis"),
        ((slice(None), [0, 1]), r"advanced indexing.*use graphc.take"),
        ((slice(None), np.array([0, 1])), r"advanced indexing.*use graphc.take"),
        ((slice(None), True), r"only ints, slices, None and Ellipsis are valid indices, got True"),
        ((slice(None), 1.0), r"only ints, slices, None and Ellipsis .* got 1.0 for f32\[None,3\]"),
        ((slice(None), slice(0.5, 2)), r"slice bounds must be ints or None"),
    ],
    ids=repr,
)
def test_errors(key, pattern):
    x = graphc.placeholder((None, 3))
    with pytest.raises(graphc.ShapeError, match=pattern):
        x[key]


def test_value_key_points_to_take():
    x = graphc.placeholder((4, 3))
    index = graphc.placeholder((2,), "int32")
    with pytest.raises(graphc.ShapeError, match=r"getitem: indexing f32\[4,3\] .*graphc.take"):
        x[index]
    with pytest.raises(ValueError, match="out of bounds"):
        x[4]


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_random_basic_indices(data):
    shape = data.draw(hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5))
    key = data.draw(hnp.basic_indices(shape, allow_newaxis=True, allow_ellipsis=True))
    a = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)
    x = graphc.placeholder(shape, "int64")
    y = x[key]
    want = a[key]
    assert y.shape == want.shape
    np.testing.assert_array_equal(graphc.Graph([x], y)(a), want)
