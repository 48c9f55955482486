"""matmul_p and graphc.matmul / graphc.dot against numpy."""

from __future__ import annotations

import numpy as np
import pytest

import graphc
from graphc.primitives.linalg import matmul_p

RNG = np.random.default_rng(0)
DTYPES = ["float32", "float64", "int32", "int64"]


def random(shape: tuple[int, ...], dtype: str) -> np.ndarray:
    if dtype.startswith("int"):
        return RNG.integers(-5, 6, shape).astype(dtype)
    return RNG.standard_normal(shape).astype(dtype)


def evaluate(fn, *arrays: np.ndarray, shapes=None) -> np.ndarray:
    """fn applied to placeholders of the arrays' shapes (or `shapes`), run by the interpreter."""
    shapes = shapes or [a.shape for a in arrays]
    inputs = [graphc.placeholder(s, a.dtype) for s, a in zip(shapes, arrays)]
    return graphc.Graph(inputs, fn(*inputs))(*arrays)  # the interpreter checks result types


def assert_matches(result: np.ndarray, expected: np.ndarray) -> None:
    assert result.dtype == expected.dtype
    assert result.shape == expected.shape
    if np.issubdtype(expected.dtype, np.integer):
        np.testing.assert_array_equal(result, expected)
    else:
        tol = 1e-5 if expected.dtype == np.float32 else 1e-12
        np.testing.assert_allclose(result, expected, rtol=tol, atol=tol)


MATMUL_SHAPES = [
    ((3, 4), (4, 5)),
    ((1, 1), (1, 1)),
    ((2, 3, 4), (4, 5)),
    ((3, 4), (2, 4, 5)),
    ((2, 1, 3, 4), (5, 4, 2)),
    ((4,), (4, 5)),
    ((3, 4), (4,)),
    ((4,), (4,)),
    ((4,), (2, 4, 3)),
    ((2, 3, 4), (4,)),
    ((3, 0), (0, 2)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape_a, shape_b", MATMUL_SHAPES)
def test_matmul_matches_numpy(shape_a, shape_b, dtype):
    a, b = random(shape_a, dtype), random(shape_b, dtype)
    assert_matches(evaluate(graphc.matmul, a, b), np.matmul(a, b))


@pytest.mark.parametrize("shape_a, shape_b", MATMUL_SHAPES)
def test_matmul_operator_and_types(shape_a, shape_b):
    a, b = graphc.placeholder(shape_a), graphc.placeholder(shape_b)
    assert (a @ b).shape == np.matmul(np.zeros(shape_a), np.zeros(shape_b)).shape
    assert (a @ np.ones(shape_b, np.float32)).shape == (a @ b).shape


@pytest.mark.parametrize(
    "dtype_a, dtype_b", [("int32", "float32"), ("int64", "float32"), ("float32", "float64")]
)
def test_matmul_promotes_like_numpy(dtype_a, dtype_b):
    a, b = random((2, 3), dtype_a), random((3, 2), dtype_b)
    assert_matches(evaluate(graphc.matmul, a, b), np.matmul(a, b))


def test_matmul_with_a_nested_list_operand_follows_numpy():
    # A list becomes a float64 constant, as np.asarray makes it, so the result is float64.
    x = graphc.placeholder((2, 2), "float32")
    w = [[1.0, 2.0], [3.0, 4.0]]
    a = random((2, 2), "float32")
    assert_matches(graphc.Graph([x], graphc.matmul(x, w))(a), np.matmul(a, w))


@pytest.mark.parametrize("batch", [0, 1, 3])
def test_matmul_batch_dimension(batch):
    x = random((batch, 6), "float32")
    w = random((6, 3), "float32")
    assert_matches(evaluate(graphc.matmul, x, w, shapes=[(None, 6), (6, 3)]), x @ w)
    # The batch dimension as a leading (broadcast) dimension of a stack of matrices.
    s = random((batch, 2, 6), "float64")
    assert_matches(
        evaluate(graphc.matmul, s, w.astype("float64"), shapes=[(None, 2, 6), (6, 3)]),
        s @ w.astype("float64"),
    )


@pytest.mark.parametrize("batch", [0, 1, 3])
def test_matmul_contracts_the_batch_dimension(batch):
    # x^T @ y with x, y of shape (N, k): the gradient of a dense layer's kernel.
    x, y = random((batch, 4), "float64"), random((batch, 2), "float64")
    xt = graphc.placeholder((4, None), "float64")
    yp = graphc.placeholder((None, 2), "float64")
    out = graphc.matmul(xt, yp)
    assert out.shape == (4, 2)
    assert_matches(graphc.Graph([xt, yp], out)(x.T.copy(), y), x.T @ y)
    # A 1-D batched operand: a dot product over the batch.
    v, u = graphc.placeholder((None,), "float64"), graphc.placeholder((None,), "float64")
    vu = graphc.matmul(v, u)
    assert vu.shape == ()
    assert_matches(graphc.Graph([v, u], vu)(x[:, 0], x[:, 1]), x[:, 0] @ x[:, 1])


def test_matmul_error_names_op_and_operands():
    x = graphc.placeholder((None, 784))
    w = graphc.placeholder((128, 10))
    with pytest.raises(graphc.ShapeError) as info:
        graphc.matmul(x, w)
    assert (
        str(info.value)
        == "matmul: contracting dimensions differ, got f32[None,784] and f32[128,10]"
    )


@pytest.mark.parametrize(
    "shape_a, shape_b, message",
    [
        ((3, 4), (5,), "contracting dimensions differ, got f32[3,4] and f32[5]"),
        ((4,), (3, 2), "contracting dimensions differ, got f32[4] and f32[3,2]"),
        ((3, None), (4, 2), "contracting dimensions differ, got f32[3,None] and f32[4,2]"),
        ((), (3, 2), "rank >= 1, got f32[] and f32[3,2]"),
        ((2, 3, 4), (3, 4, 5), "cannot broadcast"),
    ],
)
def test_matmul_shape_errors(shape_a, shape_b, message):
    with pytest.raises(graphc.ShapeError, match="matmul") as info:
        graphc.matmul(graphc.placeholder(shape_a), graphc.placeholder(shape_b))
    assert message in str(info.value)


def test_matmul_refuses_bool():
    a = graphc.placeholder((2, 2), "bool")
    with pytest.raises(
        graphc.DTypeError, match=r"matmul: expected numeric operands, got bool\[2,2\]"
    ):
        graphc.matmul(a, a)


def test_matmul_primitive_rule():
    f32 = graphc.placeholder((2, 3))
    with pytest.raises(graphc.ShapeError, match=r"rank >= 2, got f32\[3\] and f32\[2,3\]"):
        matmul_p.bind(graphc.placeholder((3,)), f32)
    with pytest.raises(graphc.DTypeError, match="share a dtype"):
        matmul_p.bind(f32, graphc.placeholder((3, 2), "float64"))
    out = matmul_p.bind(graphc.placeholder((None, 1, 2, 3)), graphc.placeholder((5, 3, 4)))
    assert out.type == graphc.TensorType((None, 5, 2, 4), "float32")


@pytest.mark.parametrize(
    "shape_a, shape_b", [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 2)), ((2, 3), (3, 4))]
)
@pytest.mark.parametrize("dtype", ["float64", "int32"])
def test_dot_matches_numpy(shape_a, shape_b, dtype):
    a, b = random(shape_a, dtype), random(shape_b, dtype)
    assert_matches(evaluate(graphc.dot, a, b), np.dot(a, b))


def test_dot_refuses_other_ranks():
    with pytest.raises(
        graphc.ShapeError, match=r"dot: expected operands of rank 1 or 2, got f32\[2,3,4\]"
    ):
        graphc.dot(graphc.placeholder((2, 3, 4)), graphc.placeholder((4,)))
