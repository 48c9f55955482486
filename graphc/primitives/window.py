"""Sliding-window reductions: the `reduce_window` primitive and Keras-style pooling.

`reduce_window` reduces every window of a strided, padded grid with max or sum, one window size
per axis (as XLA's ReduceWindow), so max and average pooling of any rank, and their gradients,
are one primitive. Average pooling is a windowed sum divided by the number of real (unpadded)
elements in each window, which is what Keras computes with "same" padding.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from math import prod
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from graphc import dtypes
from graphc.autodiff import Zero, defrules
from graphc.core import Primitive, Value, constant
from graphc.errors import DTypeError, ShapeError
from graphc.primitives import shape
from graphc.primitives.cast import cast, promote_operands
from graphc.primitives.compare import where
from graphc.primitives.conv import (
    check_attr_tuple,
    explicit_pairs,
    normalize_tuple,
    resolve_padding,
    window_output_size,
)
from graphc.symbolic import defsympy_array
from graphc.types import TensorType

__all__ = ["max_pool2d", "avg_pool2d", "max_pool1d", "avg_pool1d"]

Pair = tuple[int, int]
REDUCERS = ("max", "sum")

# reduce_window(x): out[i] = reducer(padded_x[i*s : i*s + w]) along every axis at once. Padded
# elements are the reducer's identity: -inf for max (the dtype's minimum for ints), 0 for sum.
# A batch (None) axis has window 1, stride 1 and no padding: windows never mix batch entries.
reduce_window_p = Primitive("reduce_window")


@reduce_window_p.def_shape_rule
def _reduce_window_shape_rule(
    x: TensorType,
    *,
    reducer: str,
    window: tuple[int, ...],
    strides: tuple[int, ...],
    padding: tuple[Pair, ...],
) -> TensorType:
    op = "reduce_window"
    if x.dtype not in dtypes.NUMERIC:
        raise DTypeError(f"{op}: expected a numeric operand, got {x}")
    if reducer not in REDUCERS:
        raise ShapeError(f"{op}: reducer must be one of {REDUCERS}, got {reducer!r}")
    check_attr_tuple(window, x.ndim, op, f"window (for {x})")
    check_attr_tuple(strides, x.ndim, op, f"strides (for {x})")
    if explicit_pairs(padding, x.ndim) is None:
        raise ShapeError(
            f"{op}: padding needs one (lo, hi) pair of ints >= 0 per axis of {x}, got {padding!r}"
        )
    out: list[int | None] = []
    for axis, (size, w, s, pad) in enumerate(zip(x.shape, window, strides, padding)):
        if size is None:
            if (w, s, tuple(pad)) != (1, 1, (0, 0)):
                raise ShapeError(
                    f"{op}: the batch axis {axis} of {x} must have window 1, stride 1 and no "
                    f"padding, got window {w}, stride {s}, padding {pad}"
                )
            out.append(None)
        else:
            out.append(window_output_size(op, f"axis {axis} of {x}", size, w, s, pad))
    return TensorType(out, x.dtype)


@reduce_window_p.def_impl
def _reduce_window_impl(
    x: np.ndarray,
    *,
    reducer: str,
    window: tuple[int, ...],
    strides: tuple[int, ...],
    padding: tuple[Pair, ...],
) -> np.ndarray:
    padded = np.pad(x, padding, constant_values=_identity(reducer, x.dtype))
    if 0 in padded.shape:  # an empty batch: no windows (sliding_window_view refuses it)
        steps = zip(padded.shape, window, strides)
        return np.zeros([max((n - w) // s + 1, 0) for n, w, s in steps], x.dtype)
    views = sliding_window_view(padded, window)[tuple(slice(None, None, s) for s in strides)]
    window_axes = tuple(range(x.ndim, 2 * x.ndim))
    if reducer == "max":
        return np.max(views, axis=window_axes)
    return np.sum(views, axis=window_axes, dtype=x.dtype)


def _identity(reducer: str, dtype: np.dtype) -> float | int:
    """The value padding takes: it never changes a window's result."""
    if reducer == "sum":
        return 0
    return -np.inf if dtypes.is_float(dtype) else int(np.iinfo(dtype).min)


# --- derivatives ---------------------------------------------------------------------------------
# Both reducers are written tap by tap: tap a of the padded input holds, for every output, the
# element at offset a inside its window. A windowed sum is the sum of its taps (linear); a max
# passes the derivative to the first tap, in row-major window order, that attains it (as XLA's
# select-and-scatter does), so every output sends its whole cotangent to exactly one element.


def _taps(window: tuple[int, ...]) -> list[tuple[int, ...]]:
    return list(itertools.product(*(range(w) for w in window)))


def _pad_all(x: Value, padding: tuple[Pair, ...], fill: float) -> Value:
    config = tuple((lo, hi, 0) for lo, hi in padding)
    return shape.pad_p.bind(x, config=config, value=fill)


def _first_max_masks(x: Value, out: Value, attrs: dict[str, Any]) -> list[Value]:
    """For each tap, where it is the first element of its window equal to the window's max."""
    padded = _pad_all(x, attrs["padding"], _identity("max", x.dtype))
    taken, masks = None, []
    for tap in _taps(attrs["window"]):
        hit = shape.strided_slice(padded, tap, attrs["strides"], out.shape) == out
        masks.append(hit if taken is None else hit & ~taken)
        taken = hit if taken is None else taken | hit
    return masks


def _crop(padded: Value, x: Value, padding: tuple[Pair, ...]) -> Value:
    return shape.strided_slice(padded, [lo for lo, _ in padding], [1] * x.ndim, x.shape)


def _reduce_window_jvp(primals: tuple[Value], tangents: tuple, out: Value, **attrs: Any) -> Value:
    (x,), (t,) = primals, tangents
    if attrs["reducer"] == "sum":
        return reduce_window_p.bind(t, **attrs)
    padded_t = _pad_all(t, attrs["padding"], 0.0)
    total = None
    for tap, mask in zip(_taps(attrs["window"]), _first_max_masks(x, out, attrs)):
        chosen = where(mask, shape.strided_slice(padded_t, tap, attrs["strides"], out.shape), 0.0)
        total = chosen if total is None else total + chosen
    return total


def _reduce_window_vjp(ct: Value, primals: tuple[Value], out: Value, **attrs: Any) -> tuple:
    (x,) = primals
    unpadded = all(tuple(pad) == (0, 0) for pad in attrs["padding"])
    if attrs["reducer"] == "max" and unpadded:
        window, strides = attrs["window"], attrs["strides"]
        return (select_and_scatter_add_p.bind(x, out, ct, window=window, strides=strides),)
    padded_shape = _pad_all(x, attrs["padding"], 0.0).shape
    if attrs["reducer"] == "sum":
        pieces = [ct] * len(_taps(attrs["window"]))
    else:
        pieces = [where(m, ct, 0.0) for m in _first_max_masks(x, out, attrs)]
    total = None
    for tap, piece in zip(_taps(attrs["window"]), pieces):
        placed = shape.unslice(piece, padded_shape, tap, attrs["strides"])
        total = placed if total is None else total + placed
    return (_crop(total, x, attrs["padding"]),)


def _reduce_window_sympy(sp: Any, x: np.ndarray, **attrs: Any) -> np.ndarray:
    if attrs["reducer"] != "sum":
        from graphc.symbolic import SympyConversionError

        raise SympyConversionError("reduce_window max has no sympy form")
    return _reduce_window_impl(x, **attrs)


defrules(reduce_window_p, jvp=_reduce_window_jvp, vjp=_reduce_window_vjp)
defsympy_array(reduce_window_p, _reduce_window_sympy)


# --- the gradient of a windowed max ---------------------------------------------------------------
# select_and_scatter_add(x, out, ct) (XLA's name): each window's cotangent added to the first
# element, in row-major window order, equal to the window's max `out`. That is the reverse mode of
# an unpadded max reduce_window, as the tap-by-tap formula above computes it, in one pass: built
# from the other primitives it took a full-size select, slice and add per window position (the
# first max pooling of a CNN, 26x26x32 -> 13x13x32: 62 us per sample against 5 for the pooling).

select_and_scatter_add_p = Primitive("select_and_scatter_add")


@select_and_scatter_add_p.def_shape_rule
def _select_and_scatter_add_shape_rule(
    x: TensorType,
    out: TensorType,
    ct: TensorType,
    *,
    window: tuple[int, ...],
    strides: tuple[int, ...],
) -> TensorType:
    op = "select_and_scatter_add"
    if x.dtype not in dtypes.FLOATS or out.dtype != x.dtype or ct.dtype != x.dtype:
        raise DTypeError(f"{op}: expected three operands of one float dtype, got {x}, {out}, {ct}")
    padding = tuple((0, 0) for _ in range(x.ndim))
    reduced = _reduce_window_shape_rule(
        x, reducer="max", window=window, strides=strides, padding=padding
    )
    if out.shape != reduced.shape or ct.shape != reduced.shape:
        raise ShapeError(
            f"{op}: the max over windows {window} (strides {strides}) of {x} is {reduced}; got "
            f"{out} and {ct}"
        )
    return x


def _window_slices(
    tap: tuple[int, ...], strides: tuple[int, ...], out_shape: tuple[int, ...]
) -> tuple[slice, ...]:
    """The input elements at offset `tap` of every window."""
    return tuple(
        slice(t, t + s * (n - 1) + 1 if n else t, s) for t, s, n in zip(tap, strides, out_shape)
    )


@select_and_scatter_add_p.def_impl
def _select_and_scatter_add_impl(
    x: np.ndarray,
    out: np.ndarray,
    ct: np.ndarray,
    *,
    window: tuple[int, ...],
    strides: tuple[int, ...],
) -> np.ndarray:
    dx = np.zeros_like(x)
    taken = np.zeros(out.shape, dtype=bool)
    for tap in _taps(window):
        where_ = _window_slices(tap, strides, out.shape)
        hit = (x[where_] == out) & ~taken
        dx[where_] += np.where(hit, ct, np.zeros((), x.dtype))
        taken |= hit
    return dx


def _select_and_scatter_add_jvp(
    primals: tuple[Value, Value, Value], tangents: tuple, out: Value, **attrs: Any
) -> Value | Zero:
    """Linear in the cotangent; the choice of elements is constant almost everywhere."""
    x, window_max, _ = primals
    t_ct = tangents[2]
    if isinstance(t_ct, Zero):
        return Zero(out.type)
    return select_and_scatter_add_p.bind(x, window_max, t_ct, **attrs)


def _select_and_scatter_add_vjp(
    ct: Value, primals: tuple[Value, Value, Value], out: Value, **attrs: Any
) -> tuple:
    """Each window reads the cotangent at its first max: the max reduce_window's jvp."""
    x, window_max, _ = primals
    padding = tuple((0, 0) for _ in range(x.ndim))
    gathered = _reduce_window_jvp((x,), (ct,), window_max, reducer="max", padding=padding, **attrs)
    return None, None, gathered


def _select_and_scatter_add_sympy(sp: Any, *arrays: np.ndarray, **attrs: Any) -> np.ndarray:
    from graphc.symbolic import SympyConversionError

    raise SympyConversionError("select_and_scatter_add (a max's gradient) has no sympy form")


defrules(select_and_scatter_add_p, jvp=_select_and_scatter_add_jvp, vjp=_select_and_scatter_add_vjp)
defsympy_array(select_and_scatter_add_p, _select_and_scatter_add_sympy)


# --- public functions --------------------------------------------------------------------------


def _pool_attrs(
    op: str, x: Value, pool_size: Any, strides: Any, padding: Any, rank: int
) -> dict[str, Any]:
    """reduce_window attrs for channels-last pooling with `rank` spatial axes (Keras rules)."""
    layout = "NWC" if rank == 1 else "NHWC"
    if x.ndim != rank + 2:
        raise ShapeError(f"{op}: expected a {rank + 2}-d {layout} input, got {x.type}")
    if None in x.shape[1:]:
        raise ShapeError(f"{op}: only the input's first (batch) axis may be None, got {x.type}")
    window = normalize_tuple(pool_size, rank, op, "pool_size")
    steps = window if strides is None else normalize_tuple(strides, rank, op, "strides")
    pads = resolve_padding(padding, x.shape[1:-1], window, steps, (1,) * rank, op)
    if any(max(pad) >= w for pad, w in zip(pads, window)):
        # Then some window would hold padding only: no maximum, nothing to average.
        raise ShapeError(
            f"{op}: padding must be smaller than the pool size on each side, got padding "
            f"{pads} for pool_size {window}"
        )
    for axis, args in enumerate(zip(x.shape[1:-1], window, steps, pads)):
        window_output_size(op, f"spatial axis {axis} of {x.type}", *args)
    return dict(window=(1, *window, 1), strides=(1, *steps, 1), padding=((0, 0), *pads, (0, 0)))


def _numeric_operand(x: Any, op: str) -> Value:
    (value,) = promote_operands(x, op=op)
    if value.dtype not in dtypes.NUMERIC:
        raise DTypeError(f"{op}: expected a numeric operand, got {value.type}")
    return value


def _max_pool(op: str, x: Any, pool_size: Any, strides: Any, padding: Any, rank: int) -> Value:
    value = _numeric_operand(x, op)
    attrs = _pool_attrs(op, value, pool_size, strides, padding, rank)
    return reduce_window_p.bind(value, reducer="max", **attrs)


def _avg_pool(op: str, x: Any, pool_size: Any, strides: Any, padding: Any, rank: int) -> Value:
    value = _numeric_operand(x, op)
    value = cast(value, dtypes.float_dtype_for(value.dtype))
    attrs = _pool_attrs(op, value, pool_size, strides, padding, rank)
    total = reduce_window_p.bind(value, reducer="sum", **attrs)
    if all(pad == (0, 0) for pad in attrs["padding"]):
        return total / float(prod(attrs["window"]))
    # Windows overlapping the padding hold fewer real elements. The count depends only on the
    # position, so it is the same windowed sum over ones of one entry's spatial shape: a small
    # constant subgraph that broadcasts over the batch (constant folding turns it into numbers).
    ones = constant(np.ones((1, *value.shape[1:-1], 1), value.dtype))
    counts = reduce_window_p.bind(ones, reducer="sum", **attrs)
    return total / counts


def max_pool2d(
    x: Any,
    pool_size: int | Sequence[int] = 2,
    strides: int | Sequence[int] | None = None,
    padding: str | Sequence[Sequence[int]] = "valid",
) -> Value:
    """Max pooling of NHWC `x`: out[n, i, j, c] = max of x over each pool window.

    As Keras' MaxPooling2D: `strides` default to `pool_size`; `padding` is "valid", "same"
    (out = ceil(in / stride), padded elements never win) or explicit ((top, bottom),
    (left, right)).

    >>> import graphc
    >>> max_pool2d(graphc.placeholder((None, 28, 28, 8)))
    <Value reduce_window : f32[None,14,14,8]>
    """
    return _max_pool("max_pool2d", x, pool_size, strides, padding, 2)


def avg_pool2d(
    x: Any,
    pool_size: int | Sequence[int] = 2,
    strides: int | Sequence[int] | None = None,
    padding: str | Sequence[Sequence[int]] = "valid",
) -> Value:
    """Average pooling of NHWC `x`: out[n, i, j, c] = mean of x over each pool window.

    As Keras' AveragePooling2D, windows that overlap the padding ("same") average only their
    real elements. Integer inputs give float64, like numpy's mean.

    >>> import graphc
    >>> avg_pool2d(graphc.placeholder((None, 5, 5, 8)), 2, padding="same")
    <Value div : f32[None,3,3,8]>
    """
    return _avg_pool("avg_pool2d", x, pool_size, strides, padding, 2)


def max_pool1d(
    x: Any,
    pool_size: int | Sequence[int] = 2,
    strides: int | Sequence[int] | None = None,
    padding: str | Sequence[Sequence[int]] = "valid",
) -> Value:
    """Max pooling of NWC `x` along W, as Keras' MaxPooling1D (see `max_pool2d`).

    >>> import graphc
    >>> max_pool1d(graphc.placeholder((None, 9, 4)), 3, strides=2, padding="same")
    <Value reduce_window : f32[None,5,4]>
    """
    return _max_pool("max_pool1d", x, pool_size, strides, padding, 1)


def avg_pool1d(
    x: Any,
    pool_size: int | Sequence[int] = 2,
    strides: int | Sequence[int] | None = None,
    padding: str | Sequence[Sequence[int]] = "valid",
) -> Value:
    """Average pooling of NWC `x` along W, as Keras' AveragePooling1D (see `avg_pool2d`).

    >>> import graphc
    >>> avg_pool1d(graphc.placeholder((None, 9, 4)), 3)
    <Value div : f32[None,3,4]>
    """
    return _avg_pool("avg_pool1d", x, pool_size, strides, padding, 1)
