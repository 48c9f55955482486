"""Per-example gathers: `take_along_axis` and its transpose `scatter_add_along_axis`.

`take` uses one index array for every position of the other axes; `take_along_axis` reads a
different index at every position, as numpy's `take_along_axis` does. It is the gather a batch
needs when each example picks its own elements, for instance a per-image random resampling in
data augmentation: the batch axis cannot be folded into a flat index (its size is only known at
run time), so the gather must follow it.

Indices follow `take`'s rule: a negative index counts from the end once, and an index still
outside [0, n - 1] is clamped into it, so compiled code never reads out of bounds.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from graphc import dtypes
from graphc.autodiff import Zero, defrules
from graphc.core import Primitive, Value, as_value
from graphc.errors import DTypeError, ShapeError
from graphc.primitives import shape
from graphc.symbolic import defsympy_array
from graphc.types import TensorType, broadcast_shapes

__all__ = ["take_along_axis", "scatter_add_along_axis"]

INDEX_DTYPES = (dtypes.int32, dtypes.int64)


def _clamped(indices: np.ndarray, n: int) -> np.ndarray:
    wrapped = np.where(indices < 0, indices + n, indices)
    return np.clip(wrapped, 0, max(n - 1, 0))


def _check_along(op: str, dense: TensorType, indices: TensorType, axis: int, n: Any) -> None:
    if indices.dtype not in INDEX_DTYPES:
        raise DTypeError(f"{op}: indices must be int32 or int64, got {indices}")
    if not isinstance(axis, int) or not 0 <= axis < dense.ndim or indices.ndim != dense.ndim:
        raise ShapeError(
            f"{op}: needs indices of the same rank as {dense} and an axis in "
            f"[0, {dense.ndim}), got {indices} and axis={axis!r}"
        )
    for a, (d, i) in enumerate(zip(dense.shape, indices.shape)):
        if a != axis and d != i:
            raise ShapeError(
                f"{op}: {dense} and indices {indices} must agree on every axis but {axis} "
                f"(axis {a}: {d} vs {i})"
            )
    if n is None:
        raise ShapeError(f"{op}: cannot gather along axis {axis} of {dense}, the batch dimension")
    if n == 0 and 0 not in indices.shape:
        raise ShapeError(
            f"{op}: axis {axis} of {dense} is empty, so {indices} cannot point anywhere"
        )


def _positions(indices: np.ndarray, axis: int, n: int) -> tuple[np.ndarray, ...]:
    """Index arrays selecting, for every element of `indices`, its target in the dense array."""
    grid = list(np.indices(indices.shape, sparse=True))
    grid[axis] = _clamped(indices, n)
    return tuple(grid)


# take_along_axis(x, indices; axis): out[..., j, ...] = x[..., indices[..., j, ...], ...].
take_along_axis_p = Primitive("take_along_axis")


@take_along_axis_p.def_shape_rule
def _take_along_axis_shape_rule(x: TensorType, indices: TensorType, *, axis: int) -> TensorType:
    _check_along("take_along_axis", x, indices, axis, x.shape[axis] if x.ndim > axis >= 0 else 0)
    return TensorType(indices.shape, x.dtype)


@take_along_axis_p.def_impl
def _take_along_axis_impl(x: np.ndarray, indices: np.ndarray, *, axis: int) -> np.ndarray:
    if indices.size == 0:
        return np.zeros(indices.shape, x.dtype)
    return x[_positions(indices, axis, x.shape[axis])]


# scatter_add_along_axis(updates, indices; axis, size): zeros with `size` along `axis`, then
# out[..., indices[..., j, ...], ...] += updates[..., j, ...]; duplicates accumulate.
scatter_add_along_axis_p = Primitive("scatter_add_along_axis")


@scatter_add_along_axis_p.def_shape_rule
def _scatter_along_shape_rule(
    updates: TensorType, indices: TensorType, *, axis: int, size: int
) -> TensorType:
    if updates.dtype not in dtypes.NUMERIC:
        raise DTypeError(f"scatter_add_along_axis: updates must be numeric, got {updates}")
    if updates.shape != indices.shape:
        raise ShapeError(
            f"scatter_add_along_axis: updates {updates} and indices {indices} must have one shape"
        )
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ShapeError(f"scatter_add_along_axis: size must be an int >= 0, got {size!r}")
    out = updates.with_shape(updates.shape[:axis] + (size,) + updates.shape[axis + 1 :])
    _check_along("scatter_add_along_axis", out, indices, axis, size)
    return out


@scatter_add_along_axis_p.def_impl
def _scatter_along_impl(
    updates: np.ndarray, indices: np.ndarray, *, axis: int, size: int
) -> np.ndarray:
    out = np.zeros(updates.shape[:axis] + (size,) + updates.shape[axis + 1 :], updates.dtype)
    if indices.size:
        np.add.at(out, _positions(indices, axis, size), updates)
    return out


# Both are linear in their first operand and each is the other's transpose.
def _take_along_jvp(primals: tuple, tangents: tuple, out: Value, *, axis: int) -> Any:
    t = tangents[0]
    return (
        Zero(out.type) if isinstance(t, Zero) else take_along_axis_p.bind(t, primals[1], axis=axis)
    )


def _take_along_vjp(ct: Value, primals: tuple, out: Value, *, axis: int) -> tuple:
    x, indices = primals
    size = x.shape[axis]
    return (scatter_add_along_axis_p.bind(ct, indices, axis=axis, size=size), None)


def _scatter_along_jvp(primals: tuple, tangents: tuple, out: Value, *, axis: int, size: int) -> Any:
    t = tangents[0]
    if isinstance(t, Zero):
        return Zero(out.type)
    return scatter_add_along_axis_p.bind(t, primals[1], axis=axis, size=size)


def _scatter_along_vjp(ct: Value, primals: tuple, out: Value, *, axis: int, size: int) -> tuple:
    return (take_along_axis_p.bind(ct, primals[1], axis=axis), None)


defrules(take_along_axis_p, jvp=_take_along_jvp, vjp=_take_along_vjp)
defrules(scatter_add_along_axis_p, jvp=_scatter_along_jvp, vjp=_scatter_along_vjp)
defsympy_array(take_along_axis_p)
defsympy_array(scatter_add_along_axis_p)


def _index_value(indices: Any) -> Value:
    value = as_value(indices)
    if not dtypes.is_integer(value.dtype):
        raise DTypeError(f"take_along_axis: indices must be integers, got {value.type}")
    return value


def take_along_axis(x: Any, indices: Any, axis: int | None) -> Value:
    """numpy's `take_along_axis`: pick, at every position, the element `indices` names there.

    `indices` has the rank of `x` and broadcasts against it on every axis but `axis` (where it
    may have any length); `axis=None` works on the flattened `x`. Negative indices count from
    the end; indices still out of range are clamped.

    >>> import graphc, numpy as np
    >>> x = graphc.placeholder((2, 3), "float64")
    >>> pick = graphc.constant(np.array([[2], [0]]))
    >>> graphc.Graph([x], take_along_axis(x, pick, axis=1))([[1.0, 2, 3], [4, 5, 6]]).tolist()
    [[3.0], [4.0]]
    """
    value, index = as_value(x), _index_value(indices)
    if axis is None:
        value = shape.flatten_axis_none(value, "take_along_axis")
        axis = 0
    axis = shape.normalize_axis(axis, value.ndim, "take_along_axis", str(value.type))
    if index.ndim != value.ndim:
        raise ShapeError(
            f"take_along_axis: indices {index.type} must have the rank of {value.type}"
        )
    others = [d for a, d in enumerate(value.shape) if a != axis]
    index_others = [d for a, d in enumerate(index.shape) if a != axis]
    common = broadcast_shapes(tuple(others), tuple(index_others), op="take_along_axis")
    value_shape = list(common)
    value_shape.insert(axis, value.shape[axis])
    index_shape = list(common)
    index_shape.insert(axis, index.shape[axis])
    if tuple(value_shape) != value.shape:
        value = shape.broadcast_to(value, value_shape)
    if tuple(index_shape) != index.shape:
        index = shape.broadcast_to(index, index_shape)
    return take_along_axis_p.bind(value, index, axis=axis)


def scatter_add_along_axis(updates: Any, indices: Any, axis: int, size: int) -> Value:
    """The transpose of `take_along_axis`: zeros with `size` along `axis`, then each update
    added at the position its index names (duplicates add up).

    >>> import graphc, numpy as np
    >>> u = graphc.constant(np.array([[1.0, 2.0], [3.0, 4.0]]))
    >>> i = graphc.constant(np.array([[0, 0], [2, 1]]))
    >>> graphc.Graph([], scatter_add_along_axis(u, i, axis=1, size=3))().tolist()
    [[3.0, 0.0, 0.0], [0.0, 4.0, 3.0]]
    """
    value, index = as_value(updates), _index_value(indices)
    axis = shape.normalize_axis(axis, value.ndim, "scatter_add_along_axis", str(value.type))
    return scatter_add_along_axis_p.bind(value, index, axis=axis, size=size)
