"""Shape and data-movement primitives: reshape, transpose, broadcast, slicing, padding, gathers.

These ops move elements without computing with them, so they are exact, and most are linear
maps of their operand (flagged `LINEAR`; `pad` counts as one too, its fill value being a constant
that cotangents never reach; `take` and `scatter_add` are linear in their data operand only, not
in the indices, so they carry no flag). The batch dimension
(`None`) constrains them: an op may carry it along, but never merge it with static axes, split it,
or cut part of it out, because the graph must be valid for every batch size.

The public functions follow numpy (names, arguments, negative axes) and normalize everything
before binding, so primitive attributes are canonical: non-negative axes, sorted where order
does not matter, and no-op calls return their operand unchanged.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from math import prod
from numbers import Real
from typing import Any

import numpy as np

from graphc import dtypes
from graphc.autodiff import (
    Zero,
    deflinear,
    defrules,
    instantiate,
    nondifferentiable,
    unbroadcast,
)
from graphc.core import Primitive, Property, Value, as_value, constant, unwrap_symbolic
from graphc.errors import DTypeError, ShapeError
from graphc.primitives.cast import promote_operands
from graphc.symbolic import defsympy_array
from graphc.types import Dim, Shape, TensorType, as_shape, broadcast_shapes, format_shape

__all__ = [
    "reshape",
    "transpose",
    "broadcast_to",
    "concatenate",
    "stack",
    "pad",
    "take",
    "scatter_add",
    "squeeze",
    "expand_dims",
    "flip",
    "dim_size",
    "getitem",
]

P = Property
INDEX_DTYPES = frozenset({dtypes.int32, dtypes.int64})


def _bracket(shape: Sequence[Dim]) -> str:
    return f"[{format_shape(tuple(shape))}]"


def _is_int(x: Any) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def normalize_axis(axis: Any, ndim: int, op: str, what: str) -> int:
    """One numpy axis (an int, negative counting from the end) as a non-negative int.

    `what` describes the operand in the error message (usually its type).
    """
    if not _is_int(axis):
        raise ShapeError(f"{op}: expected an int axis for {what}, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise ShapeError(f"{op}: axis {axis} is out of bounds for {what} ({ndim}-d)")
    return int(axis) % ndim


def normalize_axes(axis: Any, ndim: int, op: str, what: str) -> tuple[int, ...]:
    """numpy's `axis=` argument (None for all axes, an int or a sequence) as a sorted tuple."""
    if axis is None:
        return tuple(range(ndim))
    items = (axis,) if _is_int(axis) else axis
    try:
        axes = [normalize_axis(a, ndim, op, what) for a in items]
    except TypeError as exc:
        raise ShapeError(
            f"{op}: expected an int or a tuple of ints as axes of {what}, got {axis!r}"
        ) from exc
    if len(set(axes)) != len(axes):
        raise ShapeError(f"{op}: repeated axis in {axis!r} for {what}")
    return tuple(sorted(axes))


def _check_axis_attr(op: str, axis: Any, x: TensorType, ndim: int | None = None) -> None:
    ndim = x.ndim if ndim is None else ndim
    if not _is_int(axis) or not 0 <= axis < ndim:
        raise ShapeError(f"{op}: axis must be an int in [0, {ndim}), got {axis!r} for {x}")


# --- reshape -----------------------------------------------------------------------------------
# reshape(x, new_shape): the same elements in row-major order under a new shape. With a batch
# dimension, the static dims before it must hold as many elements in both shapes, and likewise
# after it, so that every batch entry keeps its own elements whatever the batch size.
reshape_p = Primitive("reshape", P.LINEAR, needs_out_shape=True)


def _around_batch(shape: Shape) -> tuple[int, int]:
    """Static element counts before and after the (single) batch dimension."""
    at = shape.index(None)
    return prod(shape[:at]), prod(shape[at + 1 :])


@reshape_p.def_shape_rule
def _reshape_shape_rule(x: TensorType, *, new_shape: Shape) -> TensorType:
    if not isinstance(new_shape, tuple) or _safe_shape(new_shape) != new_shape:
        raise ShapeError(
            f"reshape: new_shape must be a tuple of non-negative ints and None, got "
            f"{new_shape!r} for {x}"
        )
    cannot = f"reshape: cannot reshape {x} to {_bracket(new_shape)}"
    n_new, n_old = new_shape.count(None), x.shape.count(None)
    if n_new > 1 or n_old > 1:
        raise ShapeError(f"{cannot}: a reshape supports at most one batch dimension (None)")
    if n_old and not n_new:
        raise ShapeError(
            f"{cannot}: the batch dimension (None) cannot be merged into static dimensions, "
            f"since its size is only known at run time; keep a None in the new shape"
        )
    if n_new and not n_old:
        raise ShapeError(f"{cannot}: the operand has no batch dimension for the None to take")
    if n_old:
        old, new = _around_batch(x.shape), _around_batch(new_shape)
        if old != new:
            raise ShapeError(
                f"{cannot}: the batch dimension cannot be merged with or split into static "
                f"dimensions; the static dims before/after it hold {old[0]}/{old[1]} elements "
                f"in the operand but {new[0]}/{new[1]} in the new shape"
            )
    elif prod(x.shape) != prod(new_shape):
        raise ShapeError(
            f"{cannot}: {prod(x.shape)} elements do not fit {prod(new_shape)} elements"
        )
    return x.with_shape(new_shape)


def _safe_shape(shape: Any) -> Shape | None:
    try:
        return as_shape(shape)
    except ShapeError:
        return None


@reshape_p.def_impl
def _reshape_impl(x: np.ndarray, *, new_shape: Shape, out_shape: tuple[int, ...]) -> np.ndarray:
    return x.reshape(out_shape)


# Linear: the tangent is reshaped likewise, the cotangent reshaped back.
deflinear(
    reshape_p, lambda ct, primals, out, **_: (reshape_p.bind(ct, new_shape=primals[0].shape),)
)
defsympy_array(reshape_p)


def reshape(x: Any, shape: Sequence[Dim] | int) -> Value:
    """Give `x` a new shape with the same elements in row-major order (numpy's reshape).

    One dimension may be -1, inferred from the others. `None` is the batch dimension: a batched
    value keeps it, reshaping only the static dims around it, e.g. `(None, 28, 28)` ->
    `(None, 784)`. A -1 in a batched value's new shape without a None stands for the batch
    dimension (`x.reshape(-1, 784)`).

    >>> import graphc
    >>> graphc.reshape(graphc.placeholder((None, 28, 28)), (None, -1)).shape
    (None, 784)
    """
    x = as_value(x)
    target = _resolve_shape(x.type, shape)
    return x if target == x.shape else reshape_p.bind(x, new_shape=target)


def _resolve_shape(x: TensorType, shape: Sequence[Dim] | int) -> Shape:
    """Replace the -1 of a user-given shape (if any) by the inferred dimension."""
    try:
        dims = [shape] if _is_int(shape) else list(shape)
    except TypeError:
        dims = [shape]
    bad = [d for d in dims if d is not None and (not _is_int(d) or d < -1)]
    if bad or dims.count(-1) > 1:
        raise ShapeError(
            f"reshape: expected a shape of non-negative ints, None (the batch dimension) and at "
            f"most one -1, got {shape!r} for {x}"
        )
    if -1 not in dims:
        return tuple(None if d is None else int(d) for d in dims)
    at = dims.index(-1)
    known = prod(int(d) for d in dims if d is not None and d != -1)
    if x.is_batched and None not in dims:
        dims[at] = None  # the batch dimension cannot vanish, so the -1 must stand for it
    elif known == 0 or x.static_size % known:
        raise ShapeError(
            f"reshape: cannot infer the -1 in {shape!r}: {x} has {x.static_size} static "
            f"element(s), not a multiple of the other dims' {known}"
        )
    else:
        dims[at] = x.static_size // known
    return tuple(None if d is None else int(d) for d in dims)


# --- transpose ---------------------------------------------------------------------------------
# transpose(x, permutation): output axis i is operand axis permutation[i].
transpose_p = Primitive("transpose", P.LINEAR)


@transpose_p.def_shape_rule
def _transpose_shape_rule(x: TensorType, *, permutation: tuple[int, ...]) -> TensorType:
    if not isinstance(permutation, tuple) or sorted(permutation) != list(range(x.ndim)):
        raise ShapeError(
            f"transpose: permutation {permutation!r} is not a permutation of the {x.ndim} axes "
            f"of {x}"
        )
    return x.with_shape(tuple(x.shape[a] for a in permutation))


@transpose_p.def_impl
def _transpose_impl(x: np.ndarray, *, permutation: tuple[int, ...]) -> np.ndarray:
    return np.transpose(x, permutation)


deflinear(
    transpose_p,
    lambda ct, primals, out, *, permutation: (
        transpose_p.bind(ct, permutation=tuple(int(i) for i in np.argsort(permutation))),
    ),
)
defsympy_array(transpose_p)


def transpose(x: Any, axes: Sequence[int] | None = None) -> Value:
    """Permute the axes of `x` (numpy's transpose); without `axes`, reverse them.

    >>> import graphc
    >>> graphc.transpose(graphc.placeholder((None, 3, 4)), (0, 2, 1)).shape
    (None, 4, 3)
    """
    x = as_value(x)
    what = str(x.type)
    if axes is None:
        permutation = tuple(reversed(range(x.ndim)))
    else:
        permutation = tuple(normalize_axis(a, x.ndim, "transpose", what) for a in axes)
    if permutation == tuple(range(x.ndim)):
        return x
    return transpose_p.bind(x, permutation=permutation)


# --- broadcast_to ------------------------------------------------------------------------------
# broadcast_to(x, shape): numpy broadcasting, including new leading axes; a None in `shape` is
# the batch dimension (an operand dim of 1 or None broadcasts to it).
broadcast_to_p = Primitive("broadcast_to", P.LINEAR, needs_out_shape=True)


@broadcast_to_p.def_shape_rule
def _broadcast_to_shape_rule(x: TensorType, *, shape: Shape) -> TensorType:
    if not isinstance(shape, tuple) or _safe_shape(shape) != shape:
        raise ShapeError(
            f"broadcast_to: shape must be a tuple of non-negative ints and None, got {shape!r} "
            f"for {x}"
        )
    cannot = f"broadcast_to: cannot broadcast {x} to {_bracket(shape)}"
    if x.ndim > len(shape):
        raise ShapeError(f"{cannot}: the target has fewer axes than the operand")
    try:
        result = broadcast_shapes(x.shape, shape, op="broadcast_to")
    except ShapeError as exc:
        raise ShapeError(f"{cannot} ({exc})") from exc
    if result != shape:
        raise ShapeError(f"{cannot}: the result would be {_bracket(result)}")
    return x.with_shape(shape)


@broadcast_to_p.def_impl
def _broadcast_to_impl(x: np.ndarray, *, shape: Shape, out_shape: tuple[int, ...]) -> np.ndarray:
    return np.broadcast_to(x, out_shape)


# The transpose of broadcasting sums the cotangent over the broadcast axes.
deflinear(broadcast_to_p, lambda ct, primals, out, **_: (unbroadcast(ct, primals[0].type),))
defsympy_array(broadcast_to_p)


def broadcast_to(x: Any, shape: Sequence[Dim]) -> Value:
    """Broadcast `x` to `shape` like numpy's broadcast_to; `None` in `shape` is the batch dim.

    >>> import graphc
    >>> graphc.broadcast_to(graphc.placeholder((1, 3)), (None, 2, 3)).shape
    (None, 2, 3)
    """
    x = as_value(x)
    target = as_shape(shape)
    return x if target == x.shape else broadcast_to_p.bind(x, shape=target)


# --- slice and rev -----------------------------------------------------------------------------
# slice(x, start, stop, step): x[start:stop:step] on every axis, with 0 <= start <= stop <= size
# and step >= 1. A batched axis can only be taken whole: (0, None, 1).
slice_p = Primitive("slice", P.LINEAR)


@slice_p.def_shape_rule
def _slice_shape_rule(
    x: TensorType, *, start: tuple[int, ...], stop: tuple[int | None, ...], step: tuple[int, ...]
) -> TensorType:
    given = f"start={start!r}, stop={stop!r}, step={step!r}"
    if not all(isinstance(a, tuple) and len(a) == x.ndim for a in (start, stop, step)):
        raise ShapeError(f"slice: expected one start, stop and step per axis of {x}, got {given}")
    shape: list[Dim] = []
    for axis, (dim, lo, hi, st) in enumerate(zip(x.shape, start, stop, step)):
        if dim is None:
            if (lo, hi, st) != (0, None, 1):
                raise ShapeError(
                    f"slice: axis {axis} of {x} is the batch dimension, which can only be taken "
                    f"whole (start 0, stop None, step 1), got {given}"
                )
            shape.append(None)
            continue
        valid = all(_is_int(v) for v in (lo, hi, st)) and 0 <= lo <= hi <= dim and st >= 1
        if not valid:
            raise ShapeError(
                f"slice: axis {axis} of {x} needs ints 0 <= start <= stop <= {dim} and step >= 1,"
                f" got {given}"
            )
        shape.append((hi - lo + st - 1) // st)
    return x.with_shape(shape)


@slice_p.def_impl
def _slice_impl(
    x: np.ndarray, *, start: tuple[int, ...], stop: tuple[int | None, ...], step: tuple[int, ...]
) -> np.ndarray:
    return x[tuple(slice(lo, hi, st) for lo, hi, st in zip(start, stop, step))]


def strided_slice(x: Value, start: Sequence[int], step: Sequence[int], out_shape: Shape) -> Value:
    """x[start + i * step] along every axis for the output indices i < out_shape (batch axes
    whole): one tap of a window or convolution."""
    bounds = [
        (0, None, 1) if size is None else (lo, lo + (n - 1) * st + 1 if n else lo, st)
        for size, lo, st, n in zip(x.shape, start, step, out_shape)
    ]
    begin, stop, stride = (tuple(b[i] for b in bounds) for i in range(3))
    return slice_p.bind(x, start=begin, stop=stop, step=stride)


def unslice(ct: Value, shape: Shape, start: Sequence[int], step: Sequence[int]) -> Value:
    """Zeros of `shape` with `ct` placed at start + i * step: the transpose of a strided slice
    (pad `start` before, step - 1 between, the rest after)."""
    config = []
    for size, lo, n, st in zip(shape, start, ct.shape, step):
        if size is None:
            config.append((0, 0, 0))
        elif n == 0:
            config.append((size, 0, 0))
        else:
            config.append((lo, size - lo - (n - 1) * st - 1, st - 1))
    return pad_p.bind(ct, config=tuple(config), value=0.0)


def _slice_transpose(
    ct: Value, primals: tuple[Value], out: Value, *, start: tuple, stop: tuple, step: tuple
) -> tuple[Value]:
    return (unslice(ct, primals[0].shape, start, step),)


deflinear(slice_p, _slice_transpose)
defsympy_array(slice_p)


# rev(x, axes): x reversed along each of `axes` (sorted, distinct); the batch axis may be one.
rev_p = Primitive("rev", P.LINEAR)


@rev_p.def_shape_rule
def _rev_shape_rule(x: TensorType, *, axes: tuple[int, ...]) -> TensorType:
    valid = isinstance(axes, tuple) and all(_is_int(a) and 0 <= a < x.ndim for a in axes)
    if not valid or list(axes) != sorted(set(axes)):
        raise ShapeError(f"rev: axes must be a sorted tuple of distinct axes of {x}, got {axes!r}")
    return x


@rev_p.def_impl
def _rev_impl(x: np.ndarray, *, axes: tuple[int, ...]) -> np.ndarray:
    return np.flip(x, axes)


deflinear(rev_p, lambda ct, primals, out, *, axes: (rev_p.bind(ct, axes=axes),))
defsympy_array(rev_p)


def flip(x: Any, axis: int | Sequence[int] | None = None) -> Value:
    """Reverse the order of elements along `axis` (all axes when None), like numpy's flip.

    >>> import graphc, numpy as np
    >>> x = graphc.placeholder((2, 3), "int32")
    >>> graphc.Graph([x], graphc.flip(x, -1))(np.arange(6).reshape(2, 3)).tolist()
    [[2, 1, 0], [5, 4, 3]]
    """
    x = as_value(x)
    axes = normalize_axes(axis, x.ndim, "flip", str(x.type))
    return rev_p.bind(x, axes=axes) if axes else x


# --- concatenate -------------------------------------------------------------------------------
# concatenate(*xs, axis): join operands of one dtype and rank along a static axis; all other
# dims must be equal (None with None).
concatenate_p = Primitive("concatenate", P.LINEAR)


@concatenate_p.def_shape_rule
def _concatenate_shape_rule(*xs: TensorType, axis: int) -> TensorType:
    listed = ", ".join(str(t) for t in xs)
    if not xs:
        raise ShapeError("concatenate: expected at least one operand")
    first = xs[0]
    if any(t.dtype != first.dtype for t in xs):
        raise DTypeError(f"concatenate: operands must share a dtype, got {listed}")
    if first.ndim == 0 or any(t.ndim != first.ndim for t in xs):
        raise ShapeError(f"concatenate: operands need one rank >= 1, got {listed}")
    _check_axis_attr("concatenate", axis, first)
    if any(t.shape[axis] is None for t in xs):
        raise ShapeError(
            f"concatenate: cannot concatenate along axis {axis}, the batch dimension, of {listed}"
        )
    for t in xs:
        if t.shape[:axis] + t.shape[axis + 1 :] != first.shape[:axis] + first.shape[axis + 1 :]:
            raise ShapeError(
                f"concatenate: operands must match on every axis but {axis}, got {listed}"
            )
    total = sum(t.shape[axis] for t in xs)
    return first.with_shape(first.shape[:axis] + (total,) + first.shape[axis + 1 :])


@concatenate_p.def_impl
def _concatenate_impl(*xs: np.ndarray, axis: int) -> np.ndarray:
    return np.concatenate(xs, axis=axis)


def _concatenate_transpose(
    ct: Value, primals: tuple[Value, ...], out: Value, *, axis: int
) -> tuple[Value, ...]:
    # Each operand's cotangent is its own stretch of the output along `axis`.
    pieces, offset = [], 0
    whole = [(0, d, 1) for d in ct.shape]
    for x in primals:
        bounds = list(whole)
        bounds[axis] = (offset, offset + x.shape[axis], 1)
        start, stop, step = (tuple(b[i] for b in bounds) for i in range(3))
        pieces.append(slice_p.bind(ct, start=start, stop=stop, step=step))
        offset += x.shape[axis]
    return tuple(pieces)


deflinear(concatenate_p, _concatenate_transpose)
defsympy_array(concatenate_p)


def _value_list(values: Any, op: str) -> list[Value]:
    if isinstance(unwrap_symbolic(values), Value) or isinstance(values, np.ndarray):
        raise ShapeError(f"{op}: expected a sequence of values, got a single array or value")
    values = list(values)
    if not values:
        raise ShapeError(f"{op}: expected at least one value")
    return promote_operands(*values, op=op)


def concatenate(values: Sequence[Any], axis: int | None = 0) -> Value:
    """Join values along an existing axis (numpy's concatenate); dtypes are promoted.

    `axis=None` flattens the values first, as in numpy. The batch axis cannot be joined.

    >>> import graphc
    >>> a, b = graphc.placeholder((None, 2)), graphc.placeholder((None, 3), "float64")
    >>> graphc.concatenate([a, b], axis=-1)
    <Value concatenate : f64[None,5]>
    """
    xs = _value_list(values, "concatenate")
    if axis is None:
        xs = [flatten_axis_none(x, "concatenate") for x in xs]
        axis = 0
    if xs[0].ndim == 0:
        raise ShapeError(
            f"concatenate: zero-dimensional values cannot be concatenated: {xs[0].type}"
        )
    axis = normalize_axis(axis, xs[0].ndim, "concatenate", str(xs[0].type))
    return xs[0] if len(xs) == 1 else concatenate_p.bind(*xs, axis=axis)


def stack(values: Sequence[Any], axis: int = 0) -> Value:
    """Join values of one shape along a new axis (numpy's stack); dtypes are promoted.

    >>> import graphc
    >>> graphc.stack([graphc.placeholder((None, 3))] * 4, axis=1).shape
    (None, 4, 3)
    """
    xs = _value_list(values, "stack")
    if any(x.shape != xs[0].shape for x in xs):
        listed = ", ".join(str(x.type) for x in xs)
        raise ShapeError(f"stack: all values must have the same shape, got {listed}")
    axis = normalize_axis(axis, xs[0].ndim + 1, "stack", f"the result of stacking {xs[0].type}")
    expanded = [expand_dims(x, axis) for x in xs]
    return expanded[0] if len(xs) == 1 else concatenate_p.bind(*expanded, axis=axis)


# --- pad ---------------------------------------------------------------------------------------
# pad(x, config, value): per axis, `lo` elements before, `hi` after and `interior` between each
# pair of neighbours, all filled with `value` (a float, may be -inf for floats; exact for ints).
# The batched axis has config (0, 0, 0).
pad_p = Primitive("pad", P.LINEAR)


def _padded_size(dim: int, lo: int, hi: int, interior: int) -> int:
    return lo + hi + dim + max(dim - 1, 0) * interior


@pad_p.def_shape_rule
def _pad_shape_rule(
    x: TensorType, *, config: tuple[tuple[int, int, int], ...], value: float
) -> TensorType:
    if not isinstance(config, tuple) or len(config) != x.ndim:
        raise ShapeError(f"pad: expected one (lo, hi, interior) per axis of {x}, got {config!r}")
    shape: list[Dim] = []
    for axis, (dim, entry) in enumerate(zip(x.shape, config)):
        ok = isinstance(entry, tuple) and len(entry) == 3 and all(_is_int(v) for v in entry)
        if not ok or min(entry) < 0:
            raise ShapeError(
                f"pad: config for axis {axis} of {x} must be 3 ints (lo, hi, interior) >= 0, "
                f"got {entry!r}"
            )
        if dim is None and entry != (0, 0, 0):
            raise ShapeError(
                f"pad: axis {axis} of {x} is the batch dimension, which cannot be padded, "
                f"got config {entry!r}"
            )
        shape.append(None if dim is None else _padded_size(dim, *entry))
    _check_pad_value(x, value)
    return x.with_shape(shape)


def _check_pad_value(x: TensorType, value: Any) -> None:
    if not isinstance(value, Real) or isinstance(value, (bool, np.bool_)):
        raise ShapeError(f"pad: value must be a float, got {value!r} for {x}")
    if x.dtype in dtypes.FLOATS:
        return
    if x.dtype == dtypes.bool_:
        limits = (0, 1)
    else:
        info = np.iinfo(x.dtype)
        limits = (int(info.min), int(info.max))
    if not (np.isfinite(value) and float(value).is_integer() and limits[0] <= value <= limits[1]):
        raise DTypeError(f"pad: value {value!r} is not exactly representable in {x}")


@pad_p.def_impl
def _pad_impl(
    x: np.ndarray, *, config: tuple[tuple[int, int, int], ...], value: float
) -> np.ndarray:
    shape = tuple(_padded_size(d, *c) for d, c in zip(x.shape, config))
    out = np.full(shape, value, dtype=x.dtype)
    # Axis by axis, x lands at lo, lo + (interior + 1), ...: a strided window of the output.
    window = tuple(
        slice(lo, lo + _padded_size(d, 0, 0, interior), interior + 1)
        for d, (lo, _, interior) in zip(x.shape, config)
    )
    out[window] = x
    return out


def _pad_jvp(
    primals: tuple[Value], tangents: tuple, out: Value, *, config: tuple, value: float
) -> Value:
    # pad is affine: the fill value is a constant, so the tangent is padded with zeros.
    return pad_p.bind(instantiate(tangents[0]), config=config, value=0.0)


def _pad_transpose(
    ct: Value, primals: tuple[Value], out: Value, *, config: tuple, value: float
) -> tuple[Value]:
    # The operand's elements sit at lo, lo + (interior + 1), ...: a strided slice picks them.
    (x,) = primals
    start = [lo for lo, _, _ in config]
    step = [interior + 1 for _, _, interior in config]
    return (strided_slice(ct, start, step, x.shape),)


defrules(pad_p, jvp=_pad_jvp, vjp=_pad_transpose)
defsympy_array(pad_p)


def pad(x: Any, pad_width: Any, constant_values: Any = 0) -> Value:
    """Pad `x` with a constant (numpy's pad in mode "constant").

    `pad_width` takes numpy's forms: an int (all sides), one `(before, after)` pair for every
    axis, or one pair per axis. The batch axis cannot be padded.

    >>> import graphc, numpy as np
    >>> x = graphc.placeholder((2,), "int32")
    >>> graphc.Graph([x], graphc.pad(x, (1, 2), constant_values=9))(np.array([1, 2])).tolist()
    [9, 1, 2, 9, 9]
    """
    x = as_value(x)
    widths = np.asarray(pad_width)
    if widths.dtype.kind not in "iu" or widths.ndim > 2:
        raise ShapeError(f"pad: pad_width must be ints in numpy's forms, got {pad_width!r}")
    try:
        pairs = np.broadcast_to(widths, (x.ndim, 2))
    except ValueError as exc:
        raise ShapeError(
            f"pad: pad_width {pad_width!r} does not give (before, after) for the {x.ndim} axes "
            f"of {x.type}"
        ) from exc
    if (pairs < 0).any():
        raise ShapeError(f"pad: pad_width must be >= 0, got {pad_width!r} for {x.type}")
    config = tuple((int(lo), int(hi), 0) for lo, hi in pairs)
    if all(c == (0, 0, 0) for c in config):
        return x
    return pad_p.bind(x, config=config, value=_pad_value(constant_values, x.type))


def _pad_value(constant_values: Any, x: TensorType) -> float:
    """The pad value converted to x's dtype as numpy does (unsafe cast), as a float attribute."""
    array = np.asarray(constant_values)
    if array.ndim != 0 or array.dtype.kind not in "biuf":
        raise ShapeError(f"pad: constant_values must be a number, got {constant_values!r}")
    if x.dtype not in dtypes.FLOATS and not np.isfinite(array):
        raise DTypeError(f"pad: constant value {constant_values!r} does not fit {x}")
    with np.errstate(all="ignore"):
        converted = array.astype(x.dtype)
    value = float(converted)
    if x.dtype in dtypes.INTEGERS and int(value) != int(converted):
        raise DTypeError(f"pad: constant value {constant_values!r} is not exact as a float")
    return value


# --- take and scatter_add ----------------------------------------------------------------------
# Index semantics shared by both (and by compiled code): a negative index counts from the end
# once (i + n), and an index still outside [0, n) is clamped to it, so no access is out of
# bounds. An axis of size 0 admits only statically empty indices.


def _clamp_indices(indices: np.ndarray, n: int) -> np.ndarray:
    wrapped = np.where(indices < 0, indices + n, indices)
    return np.clip(wrapped, 0, n - 1)


def _check_indices(op: str, indices: TensorType, n: Dim, operand: TensorType) -> None:
    if indices.dtype not in INDEX_DTYPES:
        raise DTypeError(f"{op}: indices must be int32 or int64, got {indices} for {operand}")
    if n == 0 and 0 not in indices.shape:
        raise ShapeError(
            f"{op}: the indexed axis of {operand} has size 0, so indices {indices} cannot "
            f"point anywhere"
        )


# take(x, indices, axis): out[pre, i..., post] = x[pre, indices[i...], post].
take_p = Primitive("take")


@take_p.def_shape_rule
def _take_shape_rule(x: TensorType, indices: TensorType, *, axis: int) -> TensorType:
    _check_axis_attr("take", axis, x)
    if x.shape[axis] is None:
        raise ShapeError(f"take: cannot index along axis {axis} of {x}, the batch dimension")
    _check_indices("take", indices, x.shape[axis], x)
    return x.with_shape(x.shape[:axis] + indices.shape + x.shape[axis + 1 :])


@take_p.def_impl
def _take_impl(x: np.ndarray, indices: np.ndarray, *, axis: int) -> np.ndarray:
    if indices.size == 0:
        return np.zeros(x.shape[:axis] + indices.shape + x.shape[axis + 1 :], x.dtype)
    return np.take(x, _clamp_indices(indices, x.shape[axis]), axis=axis)


def _take_jvp(primals: tuple[Value, Value], tangents: tuple, out: Value, *, axis: int) -> Any:
    t = tangents[0]
    return Zero(out.type) if isinstance(t, Zero) else take_p.bind(t, primals[1], axis=axis)


def _take_vjp(ct: Value, primals: tuple[Value, Value], out: Value, *, axis: int) -> tuple:
    # Gathering transposes to scattering: repeated indices add up their cotangents.
    x, indices = primals
    return (scatter_add_p.bind(ct, indices, axis=axis, size=x.shape[axis]), None)


defrules(take_p, jvp=_take_jvp, vjp=_take_vjp)
defsympy_array(take_p)


# scatter_add(updates, indices, axis, size): zeros with `size` along `axis`, then
# out[pre, indices[i...], post] += updates[pre, i..., post]; duplicates accumulate.
scatter_add_p = Primitive("scatter_add")


@scatter_add_p.def_shape_rule
def _scatter_add_shape_rule(
    updates: TensorType, indices: TensorType, *, axis: int, size: int
) -> TensorType:
    if updates.dtype not in dtypes.NUMERIC:
        raise DTypeError(f"scatter_add: updates must be numeric, got {updates}")
    if not _is_int(size) or size < 0:
        raise ShapeError(f"scatter_add: size must be an int >= 0, got {size!r} for {updates}")
    k = indices.ndim
    _check_axis_attr("scatter_add", axis, updates, updates.ndim - k + 1)
    if updates.shape[axis : axis + k] != indices.shape:
        raise ShapeError(
            f"scatter_add: updates {updates} must have the indices' shape {indices} at axes "
            f"{axis}..{axis + k - 1}"
        )
    _check_indices("scatter_add", indices, size, updates)
    return updates.with_shape(updates.shape[:axis] + (size,) + updates.shape[axis + k :])


@scatter_add_p.def_impl
def _scatter_add_impl(
    updates: np.ndarray, indices: np.ndarray, *, axis: int, size: int
) -> np.ndarray:
    k = indices.ndim
    out = np.zeros(updates.shape[:axis] + (size,) + updates.shape[axis + k :], updates.dtype)
    if indices.size:
        np.add.at(out, (slice(None),) * axis + (_clamp_indices(indices, size),), updates)
    return out


def _scatter_add_jvp(
    primals: tuple[Value, Value], tangents: tuple, out: Value, *, axis: int, size: int
) -> Any:
    t = tangents[0]
    if isinstance(t, Zero):
        return Zero(out.type)
    return scatter_add_p.bind(t, primals[1], axis=axis, size=size)


def _scatter_add_vjp(
    ct: Value, primals: tuple[Value, Value], out: Value, *, axis: int, size: int
) -> tuple:
    return (take_p.bind(ct, primals[1], axis=axis), None)


defrules(scatter_add_p, jvp=_scatter_add_jvp, vjp=_scatter_add_vjp)
defsympy_array(scatter_add_p)


def _index_operand(indices: Any, op: str) -> Value:
    """Indices as an int32/int64 Value: Values are checked, arrays and lists become constants."""
    indices = unwrap_symbolic(indices)
    if isinstance(indices, Value):
        if indices.dtype not in INDEX_DTYPES:
            raise DTypeError(f"{op}: indices must be int32 or int64, got {indices.type}")
        return indices
    array = np.asarray(indices)
    if array.size == 0 and array.dtype.kind == "f":  # numpy reads [] as float64
        array = array.astype(np.int64)
    if array.dtype.kind not in "iu":
        raise DTypeError(f"{op}: indices must be integers, got an array of dtype {array.dtype}")
    return constant(array if array.dtype in INDEX_DTYPES else array.astype(np.int64))


def take(x: Any, indices: Any, axis: int | None = None) -> Value:
    """Gather elements of `x` at `indices` along `axis` (numpy's take).

    With `axis=None`, `x` is flattened first, as in numpy. `indices` is an int Value or an int
    array/list of any shape, which replaces the axis in the output shape. Indices are not checked
    at run time: a negative index counts from the end once, and one still out of range is
    clamped to the nearest valid index (numpy's mode="clip" after one wrap), so interpreted and
    compiled code agree and never read out of bounds.

    >>> import graphc, numpy as np
    >>> table = graphc.placeholder((4, 2), "int32")
    >>> f = graphc.Graph([table], graphc.take(table, [[3, -1], [0, 9]], axis=0))
    >>> f(np.arange(8).reshape(4, 2)).shape
    (2, 2, 2)
    """
    x = as_value(x)
    index = _index_operand(indices, "take")
    if axis is None:
        x = flatten_axis_none(x, "take")
        axis = 0
    axis = normalize_axis(axis, x.ndim, "take", str(x.type))
    return take_p.bind(x, index, axis=axis)


def scatter_add(updates: Any, indices: Any, axis: int, size: int) -> Value:
    """Sum `updates` into zeros of `size` along `axis` at `indices` (the transpose of take).

    `updates` has the shape `take` would produce: the indices' shape at `axis`. Duplicate
    indices accumulate (like `np.add.at`); indices follow `take`'s rules (one wrap of negatives,
    then clamping). `axis` counts in the output's axes.

    >>> import graphc, numpy as np
    >>> u = graphc.placeholder((3,), "float64")
    >>> f = graphc.Graph([u], graphc.scatter_add(u, [0, 2, 0], axis=0, size=4))
    >>> f(np.array([1.0, 2.0, 3.0])).tolist()
    [4.0, 0.0, 2.0, 0.0]
    """
    updates = as_value(updates)
    index = _index_operand(indices, "scatter_add")
    out_ndim = updates.ndim - index.ndim + 1
    if out_ndim < 1:
        raise ShapeError(
            f"scatter_add: updates {updates.type} need at least the {index.ndim} axes of the "
            f"indices {index.type}"
        )
    what = f"the result of scattering {updates.type}"
    axis = normalize_axis(axis, out_ndim, "scatter_add", what)
    size = int(size) if _is_int(size) else size  # the shape rule reports anything else
    return scatter_add_p.bind(updates, index, axis=axis, size=size)


# --- dim_size ----------------------------------------------------------------------------------
# dim_size(x, axis): x.shape[axis] at run time, as an int64 scalar (how `mean` over the batch
# axis learns the batch size).
dim_size_p = Primitive("dim_size")


@dim_size_p.def_shape_rule
def _dim_size_shape_rule(x: TensorType, *, axis: int) -> TensorType:
    _check_axis_attr("dim_size", axis, x)
    return TensorType((), dtypes.int64)


@dim_size_p.def_impl
def _dim_size_impl(x: np.ndarray, *, axis: int) -> np.ndarray:
    return np.array(x.shape[axis], dtype=np.int64)


nondifferentiable(dim_size_p, "an integer size, independent of the values")


def dim_size(x: Any, axis: int) -> Value:
    """The size of `x` along `axis` as an int64 scalar value; a constant when it is static.

    >>> import graphc, numpy as np
    >>> x = graphc.placeholder((None, 3))
    >>> int(graphc.Graph([x], graphc.dim_size(x, 0))(np.zeros((5, 3))))
    5
    """
    x = as_value(x)
    axis = normalize_axis(axis, x.ndim, "dim_size", str(x.type))
    dim = x.shape[axis]
    return dim_size_p.bind(x, axis=axis) if dim is None else constant(np.int64(dim))


# --- composites: squeeze, expand_dims, flattening ----------------------------------------------


def squeeze(x: Any, axis: int | Sequence[int] | None = None) -> Value:
    """Remove axes of size 1 (numpy's squeeze); without `axis`, every static size-1 axis.

    >>> import graphc
    >>> graphc.squeeze(graphc.placeholder((None, 1, 3, 1)), axis=-1).shape
    (None, 1, 3)
    """
    x = as_value(x)
    if axis is None:
        axes = tuple(a for a, d in enumerate(x.shape) if d == 1)
    else:
        axes = normalize_axes(axis, x.ndim, "squeeze", str(x.type))
    for a in axes:
        if x.shape[a] != 1:
            size = "the batch dimension" if x.shape[a] is None else f"of size {x.shape[a]}"
            raise ShapeError(f"squeeze: cannot squeeze axis {a} of {x.type}: it is {size}, not 1")
    return reshape(x, tuple(d for a, d in enumerate(x.shape) if a not in axes))


def expand_dims(x: Any, axis: int | Sequence[int]) -> Value:
    """Insert axes of size 1 at `axis` (positions in the result), like numpy's expand_dims.

    >>> import graphc
    >>> graphc.expand_dims(graphc.placeholder((None, 3)), (0, -1)).shape
    (1, None, 3, 1)
    """
    x = as_value(x)
    count = 1 if _is_int(axis) else len(axis)
    axes = normalize_axes(axis, x.ndim + count, "expand_dims", f"the result of expanding {x.type}")
    dims = iter(x.shape)
    return reshape(x, tuple(1 if a in axes else next(dims) for a in range(x.ndim + count)))


def flatten_axis_none(x: Value, op: str) -> Value:
    """`x` as one axis, for numpy functions whose `axis=None` means "flattened".

    A batched value of rank > 1 cannot be flattened (that would merge the batch dimension).
    """
    if x.ndim == 1:
        return x
    if x.type.is_batched:
        raise ShapeError(
            f"{op}: axis=None flattens the operand, which would merge the batch dimension of "
            f"{x.type} with its other axes; pass an axis"
        )
    return reshape(x, (x.type.static_size,))


# --- getitem: numpy basic indexing -------------------------------------------------------------


def getitem(x: Any, key: Any) -> Value:
    """`x[key]` with numpy basic indexing: ints, slices (any step), None and Ellipsis.

    Built from at most one `slice`, one `rev` (for negative steps) and one `reshape` (dropping
    int-indexed axes and inserting new ones). The batch axis can only be taken whole (`:`) or
    reversed whole (`::-1`). Integer arrays and Values as keys (advanced indexing) are not
    supported: use `graphc.take`.

    >>> import graphc
    >>> x = graphc.placeholder((None, 4, 5))
    >>> x[:, 1, ::-2].shape, x[..., None, 0].shape
    ((None, 3), (None, 4, 1))
    """
    x = as_value(x)
    entries = _expand_key(key, x.type)
    start, stop, step, reverse, shape = [], [], [], [], []
    axis = 0
    for entry in entries:
        if entry is None:
            shape.append(1)
            continue
        dim = x.shape[axis]
        lo, hi, st, rev, keep = _axis_index(entry, dim, axis, x.type)
        start.append(lo)
        stop.append(hi)
        step.append(st)
        if rev:
            reverse.append(axis)
        if keep:
            shape.append(None if dim is None else (hi - lo + st - 1) // st)
        axis += 1
    out = x
    if (tuple(start), tuple(stop), tuple(step)) != _whole(x.shape):
        out = slice_p.bind(out, start=tuple(start), stop=tuple(stop), step=tuple(step))
    if reverse:
        out = rev_p.bind(out, axes=tuple(reverse))
    return reshape(out, tuple(shape))


def _whole(shape: Shape) -> tuple[tuple[int, ...], tuple[int | None, ...], tuple[int, ...]]:
    return (0,) * len(shape), tuple(shape), (1,) * len(shape)


def _expand_key(key: Any, x: TensorType) -> list[Any]:
    """The key as one entry per result position: every axis gets an int or a slice."""
    items = list(key) if isinstance(key, tuple) else [key]
    for item in items:
        _check_key_item(item, key, x)
    if sum(item is Ellipsis for item in items) > 1:
        raise ShapeError(f"getitem: an index can only have a single Ellipsis, got {key!r}")
    used = sum(item is not None and item is not Ellipsis for item in items)
    if used > x.ndim:
        raise ShapeError(
            f"getitem: too many indices for {x}: {x.ndim} axes but {used} were indexed ({key!r})"
        )
    fill = [slice(None)] * (x.ndim - used)
    if Ellipsis in items:
        at = items.index(Ellipsis)
        return items[:at] + fill + items[at + 1 :]
    return items + fill


def _check_key_item(item: Any, key: Any, x: TensorType) -> None:
    if item is None or item is Ellipsis or isinstance(item, slice) or _is_index(item):
        if isinstance(item, slice):
            for bound in (item.start, item.stop, item.step):
                if bound is not None and not _is_index(bound):
                    raise ShapeError(
                        f"getitem: slice bounds must be ints or None, got {item!r} for {x}"
                    )
        return
    if isinstance(unwrap_symbolic(item), Value) or isinstance(item, (list, np.ndarray)):
        raise ShapeError(
            f"getitem: indexing {x} with an array or Value ({key!r}) is advanced indexing, "
            f"which graphc does not support; use graphc.take(x, indices, axis) to gather"
        )
    raise ShapeError(
        f"getitem: only ints, slices, None and Ellipsis are valid indices, got {item!r} for {x}"
    )


def _is_index(item: Any) -> bool:
    """An int-like index (not a bool, which numpy reads as a mask)."""
    if isinstance(item, (bool, np.bool_)):
        return False
    try:
        operator.index(item)
    except TypeError:
        return False
    return True


def _axis_index(
    entry: Any, dim: Dim, axis: int, x: TensorType
) -> tuple[int, int | None, int, bool, bool]:
    """(start, stop, step, reversed, kept) of one int or slice entry on one axis."""
    if dim is None:
        whole = isinstance(entry, slice) and entry.stop is None
        forward = whole and entry.start in (None, 0) and entry.step in (None, 1)
        backward = whole and entry.start is None and entry.step == -1
        if not (forward or backward):
            raise ShapeError(
                f"getitem: axis {axis} of {x} is the batch dimension, which can only be taken "
                f"whole with ':' (or reversed with '::-1'), got {entry!r}"
            )
        return 0, None, 1, backward, True
    if not isinstance(entry, slice):
        index = operator.index(entry)
        if not -dim <= index < dim:
            raise ShapeError(
                f"getitem: index {index} is out of bounds for axis {axis} of {x}, whose valid "
                f"range is [{-dim}, {dim})"
            )
        index %= dim
        return index, index + 1, 1, False, False
    lo, hi, st = entry.indices(dim)
    count = len(range(lo, hi, st))
    if count == 0:
        return 0, 0, 1, False, True
    if st > 0:
        return lo, lo + (count - 1) * st + 1, st, False, True
    last = lo + (count - 1) * st  # the smallest index taken; slice up from it, then reverse
    return last, lo + 1, -st, True, True
