"""Reductions: sums, maxima, minima and arg-extrema along axes, plus mean, var and std.

The primitives remove the reduced axes; the public functions add numpy's conveniences on top
(`axis=None`, negative axes, `keepdims` as a reshape, integer sums in int64, float means).
Reducing the batch axis is allowed and gives a static result. The primitives define empty
reductions by their identity: 0 for sums, -inf (or the dtype's minimum) for max, +inf (or the
maximum) for min and index 0 for argmax/argmin. The public max, min, argmax and argmin refuse a
statically empty axis, as numpy does, so for them this only happens over the batch axis at batch
size 0, where the graph must still run.

This module defines `sum`, `max` and `min`, numpy's names, which shadow the builtins here; the
builtins are reached as `builtins.sum` and so on.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from graphc import dtypes
from graphc.autodiff import deflinear, defrules, nondifferentiable
from graphc.core import Primitive, Property, Value, as_value
from graphc.errors import DTypeError, ShapeError
from graphc.primitives.cast import cast
from graphc.primitives.elementwise import divide, multiply, sqrt
from graphc.primitives.shape import (
    broadcast_to,
    dim_size,
    flatten_axis_none,
    normalize_axes,
    normalize_axis,
)
from graphc.primitives.shape import reshape as _reshape
from graphc.symbolic import defsympy_array, sympy_sum
from graphc.types import TensorType

__all__ = ["sum", "mean", "max", "min", "argmax", "argmin", "var", "std"]

P = Property
Axis = int | Sequence[int] | None


def _check_reduced_axes(op: str, x: TensorType, axes: Any) -> None:
    valid = isinstance(axes, tuple) and builtins.all(
        isinstance(a, int) and not isinstance(a, bool) and 0 <= a < x.ndim for a in axes
    )
    if not valid or list(axes) != sorted(set(axes)):
        raise ShapeError(f"{op}: axes must be a sorted tuple of distinct axes of {x}, got {axes!r}")


def _identity(reducer: Callable, dtype: np.dtype) -> Any:
    """The value an empty max (`np.maximum`) or min (`np.minimum`) reduction returns."""
    largest = reducer is np.minimum
    if dtype == dtypes.bool_:
        return largest
    if dtype in dtypes.INTEGERS:
        info = np.iinfo(dtype)
        return info.max if largest else info.min
    return np.inf if largest else -np.inf


def reduce_primitive(name: str, ufunc: np.ufunc, accepts: frozenset, properties: P) -> Primitive:
    """A reduction over attrs `axes` (a sorted tuple): the axes are removed from the shape."""
    prim = Primitive(name, properties)

    @prim.def_shape_rule
    def shape_rule(x: TensorType, *, axes: tuple[int, ...]) -> TensorType:
        if x.dtype not in accepts:
            raise DTypeError(f"{name}: unsupported operand dtype, got {x}")
        _check_reduced_axes(name, x, axes)
        return x.with_shape(tuple(d for a, d in enumerate(x.shape) if a not in axes))

    @prim.def_impl
    def impl(x: np.ndarray, *, axes: tuple[int, ...]) -> np.ndarray:
        initial = 0 if ufunc is np.add else _identity(ufunc, x.dtype)
        return ufunc.reduce(x, axis=axes, dtype=x.dtype, initial=initial)

    return prim


# reduce_sum(x, axes): the sum over `axes` (numeric, accumulated in x's dtype).
reduce_sum_p = reduce_primitive("reduce_sum", np.add, dtypes.NUMERIC, P.LINEAR)
# reduce_max / reduce_min(x, axes): the largest / smallest element; nan propagates.
reduce_max_p = reduce_primitive("reduce_max", np.maximum, frozenset(dtypes.SUPPORTED), P.NONE)
reduce_min_p = reduce_primitive("reduce_min", np.minimum, frozenset(dtypes.SUPPORTED), P.NONE)


def arg_primitive(name: str, np_fn: Callable) -> Primitive:
    """argmax/argmin over attr `axis`: int64 indices of the first extremum, the axis removed."""
    prim = Primitive(name)

    @prim.def_shape_rule
    def shape_rule(x: TensorType, *, axis: int) -> TensorType:
        if not isinstance(axis, int) or isinstance(axis, bool) or not 0 <= axis < x.ndim:
            raise ShapeError(f"{name}: axis must be an int in [0, {x.ndim}), got {axis!r} for {x}")
        return TensorType(x.shape[:axis] + x.shape[axis + 1 :], dtypes.int64)

    @prim.def_impl
    def impl(x: np.ndarray, *, axis: int) -> np.ndarray:
        if x.shape[axis] == 0:
            return np.zeros(x.shape[:axis] + x.shape[axis + 1 :], np.int64)
        return np_fn(x, axis=axis).astype(np.int64)

    return prim


# argmax / argmin(x, axis): the index of the first largest / smallest element (nan wins, as in
# numpy).
argmax_p = arg_primitive("argmax", np.argmax)
argmin_p = arg_primitive("argmin", np.argmin)
nondifferentiable(argmax_p, "integer indices")
nondifferentiable(argmin_p, "integer indices")


# --- derivatives and sympy forms of the reductions ---------------------------------------------


def _kept_shape(x: Value, axes: tuple[int, ...]) -> tuple:
    return tuple(1 if a in axes else d for a, d in enumerate(x.shape))


def _sum_transpose(ct: Value, primals: tuple[Value], out: Value, *, axes: tuple) -> tuple:
    # Every summed element receives the cotangent of its sum: broadcast it back.
    (x,) = primals
    return (broadcast_to(_reshape(ct, _kept_shape(x, axes)), x.shape),)


deflinear(reduce_sum_p, _sum_transpose)
defsympy_array(reduce_sum_p, sympy_sum)


def _extremum_rules(prim: Primitive) -> None:
    """max/min: the derivative flows to the elements that attain the extremum, split evenly
    between ties (so a constant window gives each element 1/count)."""

    def hits_and_count(x: Value, out: Value, axes: tuple) -> tuple[Value, Value]:
        hits = cast(x == _reshape(out, _kept_shape(x, axes)), x.dtype)
        return hits, prim_sum(hits, axes)

    def jvp(primals: tuple[Value], tangents: tuple, out: Value, *, axes: tuple) -> Value:
        (x,), (t,) = primals, tangents
        hits, count = hits_and_count(x, out, axes)
        return prim_sum(t * hits, axes) / count

    def vjp(ct: Value, primals: tuple[Value], out: Value, *, axes: tuple) -> tuple:
        (x,) = primals
        hits, count = hits_and_count(x, out, axes)
        return (_reshape(ct / count, _kept_shape(x, axes)) * hits,)

    defrules(prim, jvp=jvp, vjp=vjp)


def prim_sum(x: Value, axes: tuple) -> Value:
    return reduce_sum_p.bind(x, axes=axes)


def _sympy_extremum(name: str) -> Callable[..., np.ndarray]:
    """sympy's Max/Min over `axes` of an object array."""

    def rule(sp: Any, x: np.ndarray, *, axes: tuple) -> np.ndarray:
        kept = [a for a in range(x.ndim) if a not in axes]
        moved = np.transpose(x, kept + list(axes))
        rows = moved.reshape(moved.shape[: len(kept)] + (-1,))
        out = np.empty(rows.shape[:-1], dtype=object)
        for index in np.ndindex(out.shape):
            out[index] = getattr(sp, name)(*rows[index])
        return out

    return rule


_extremum_rules(reduce_max_p)
_extremum_rules(reduce_min_p)
defsympy_array(reduce_max_p, _sympy_extremum("Max"))
defsympy_array(reduce_min_p, _sympy_extremum("Min"))


# --- public functions --------------------------------------------------------------------------


def _reduce(prim: Primitive, x: Value, axis: Axis, keepdims: bool, op: str) -> Value:
    axes = normalize_axes(axis, x.ndim, op, str(x.type))
    if prim is not reduce_sum_p and builtins.any(x.shape[a] == 0 for a in axes):
        raise ShapeError(
            f"{op}: zero-size reduction over axes {axes} of {x.type}, which has no identity"
        )
    out = prim.bind(x, axes=axes) if axes else x
    return _keep_dims(out, x, axes) if keepdims else out


def _keep_dims(out: Value, x: Value, axes: tuple[int, ...]) -> Value:
    return _reshape(out, tuple(1 if a in axes else d for a, d in enumerate(x.shape)))


def sum(x: Any, axis: Axis = None, keepdims: bool = False) -> Value:
    """The sum over `axis` (all axes when None), like numpy's sum.

    As in numpy, bool and int32 values are summed in int64.

    >>> import graphc, numpy as np
    >>> x = graphc.placeholder((None, 3), "int32")
    >>> f = graphc.Graph([x], graphc.sum(x, axis=0))
    >>> f(np.arange(6).reshape(2, 3)).tolist(), f.output_types[0]
    ([3, 5, 7], TensorType(i64[3]))
    """
    x = as_value(x)
    if x.dtype in (dtypes.bool_, dtypes.int32):
        x = cast(x, dtypes.int64)
    return _reduce(reduce_sum_p, x, axis, keepdims, "sum")


def max(x: Any, axis: Axis = None, keepdims: bool = False) -> Value:
    """The largest element over `axis` (all axes when None), like numpy's max; nan propagates.

    >>> import graphc, numpy as np
    >>> x = graphc.placeholder((2, 3))
    >>> graphc.Graph([x], graphc.max(x, axis=-1, keepdims=True))(np.eye(2, 3)).tolist()
    [[1.0], [1.0]]
    """
    return _reduce(reduce_max_p, as_value(x), axis, keepdims, "max")


def min(x: Any, axis: Axis = None, keepdims: bool = False) -> Value:
    """The smallest element over `axis` (all axes when None), like numpy's min; nan propagates.

    >>> import graphc
    >>> graphc.min(graphc.placeholder((None, 3)), axis=0)
    <Value reduce_min : f32[3]>
    """
    return _reduce(reduce_min_p, as_value(x), axis, keepdims, "min")


def _count(x: Value, axes: tuple[int, ...], dtype: np.dtype) -> Value | int:
    """The number of elements reduced over `axes`: a static int, or a value over batch axes."""
    static = int(np.prod([x.shape[a] for a in axes if x.shape[a] is not None]))
    sizes = [cast(dim_size(x, a), dtype) for a in axes if x.shape[a] is None]
    if not sizes:
        return static
    count = sizes[0]
    for size in sizes[1:]:
        count = multiply(count, size)
    return count if static == 1 else multiply(count, static)


def mean(x: Any, axis: Axis = None, keepdims: bool = False) -> Value:
    """The arithmetic mean over `axis` (all axes when None), like numpy's mean.

    Integers and bools give float64. Over the batch axis, the sum is divided by the runtime
    batch size (so an empty batch gives nan, as numpy's mean of nothing does).

    >>> import graphc, numpy as np
    >>> x = graphc.placeholder((None, 2), "int32")
    >>> graphc.Graph([x], graphc.mean(x, axis=0))(np.array([[1, 2], [4, 6]])).tolist()
    [2.5, 4.0]
    """
    x = as_value(x)
    x = cast(x, dtypes.float_dtype_for(x.dtype))
    axes = normalize_axes(axis, x.ndim, "mean", str(x.type))
    total = _reduce(reduce_sum_p, x, axes, keepdims, "mean")
    count = _count(x, axes, x.dtype)
    return total if isinstance(count, int) and count == 1 else divide(total, count)


def var(x: Any, axis: Axis = None, keepdims: bool = False) -> Value:
    """The variance over `axis`: the mean squared deviation from the mean (numpy's ddof=0).

    Computed in two passes (mean first, then the mean of squared deviations), which stays
    accurate when the mean is large compared with the spread. Integers give float64.

    >>> import graphc, numpy as np
    >>> x = graphc.placeholder((4,), "float64")
    >>> float(graphc.Graph([x], graphc.var(x))(np.array([1.0, 2.0, 3.0, 4.0])))
    1.25
    """
    x = as_value(x)
    x = cast(x, dtypes.float_dtype_for(x.dtype))
    deviation = x - mean(x, axis, keepdims=True)
    return mean(deviation * deviation, axis, keepdims)


def std(x: Any, axis: Axis = None, keepdims: bool = False) -> Value:
    """The standard deviation over `axis`: sqrt(var(x, axis)) (numpy's ddof=0).

    >>> import graphc, numpy as np
    >>> x = graphc.placeholder((4,), "float64")
    >>> float(graphc.Graph([x], graphc.std(x))(np.array([2.0, 4.0, 4.0, 6.0])))
    1.4142135623730951
    """
    return sqrt(var(x, axis, keepdims))


def _arg(prim: Primitive, x: Any, axis: int | None, op: str) -> Value:
    x = as_value(x)
    if axis is None:
        x = flatten_axis_none(x, op)
        axis = 0
    axis = normalize_axis(axis, x.ndim, op, str(x.type))
    if x.shape[axis] == 0:
        raise ShapeError(f"{op}: axis {axis} of {x.type} is empty, so it has no {op}")
    return prim.bind(x, axis=axis)


def argmax(x: Any, axis: int | None = None) -> Value:
    """The index of the largest element along `axis` (numpy's argmax); the first one on ties.

    With `axis=None` the value is flattened first, as in numpy. The result is int64.

    >>> import graphc, numpy as np
    >>> x = graphc.placeholder((None, 3))
    >>> graphc.Graph([x], graphc.argmax(x, axis=1))(np.array([[1, 5, 5], [7, 0, 2]])).tolist()
    [1, 0]
    """
    return _arg(argmax_p, x, axis, "argmax")


def argmin(x: Any, axis: int | None = None) -> Value:
    """The index of the smallest element along `axis` (numpy's argmin); the first one on ties.

    >>> import graphc, numpy as np
    >>> x = graphc.placeholder((4,), "int64")
    >>> int(graphc.Graph([x], graphc.argmin(x))(np.array([3, 1, 1, 2])))
    1
    """
    return _arg(argmin_p, x, axis, "argmin")
