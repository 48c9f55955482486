"""Checking call arguments against a graph's input types: one policy for every execution path.

The interpreter and the compiled wrapper both call `check_arguments`, so a call that works on
one works on the other, and a bad call fails the same way before any computation starts.

Cast policy: an argument whose dtype differs from the input's is converted when numpy calls the
conversion `same_kind` or safe (float64 -> float32, int64 -> int32, int -> float, bool -> any);
anything else (float -> int, number -> bool) is refused. A narrowing conversion must not change
a value beyond rounding: integers outside the target's range and finite floats that would
overflow to inf are refused (numpy would wrap or overflow them silently). Shapes must match
exactly, except the batch dimension (`None`), which takes one size shared by all inputs of the
call.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from graphc.errors import InputError
from graphc.types import TensorType, format_shape


def describe_input(index: int, name: str | None) -> str:
    return f"input {index}" + (f" ({name!r})" if name else "")


def coerce_argument(arg: Any, expected: TensorType, label: str) -> np.ndarray:
    """Convert one argument to a C-contiguous array of the expected dtype, or raise."""
    if hasattr(arg, "primitive") and hasattr(arg, "type"):
        raise InputError(
            f"{label}: expected an array, got a symbolic Value; graphs are called with numbers"
        )
    try:
        array = np.asarray(arg)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"{label}: expected an array of {expected}, got {type(arg).__name__} ({exc})"
        ) from exc
    if array.dtype == object or array.dtype.kind not in "biuf":
        raise InputError(
            f"{label}: expected numbers of dtype {expected.dtype.name}, got an array "
            f"of dtype {array.dtype}"
        )
    if array.dtype != expected.dtype:
        if not np.can_cast(array.dtype, expected.dtype, casting="same_kind"):
            raise InputError(
                f"{label}: expected dtype {expected.dtype.name}, got {array.dtype.name}, which "
                f"does not convert safely; cast it first (e.g. x.astype('{expected.dtype.name}'))"
            )
        if not np.can_cast(array.dtype, expected.dtype, casting="safe"):
            _check_narrowing(array, expected.dtype, label)
        array = array.astype(expected.dtype)
    return array if array.flags.c_contiguous else array.copy(order="C")


def _check_narrowing(array: np.ndarray, target: np.dtype, label: str) -> None:
    """Refuse values that a narrowing conversion would change: integers out of the target's
    range (numpy would wrap them) and finite floats beyond its largest value (they would
    become inf). Rounding a float64 to the nearest float32 is the accepted narrowing.

    >>> _check_narrowing(np.array([2**40]), np.dtype("int32"), "input 0")
    Traceback (most recent call last):
    ...
    graphc.errors.InputError: input 0: values from 1099511627776 to 1099511627776 do not fit \
int32 (-2147483648 to 2147483647); cast it first if wrapping is what you want
    """
    if array.size == 0:
        return
    if target.kind in "iu" and array.dtype.kind in "iub":
        info = np.iinfo(target)
        low, high = int(array.min()), int(array.max())
        if low < info.min or high > info.max:
            raise InputError(
                f"{label}: values from {low} to {high} do not fit {target.name} "
                f"({info.min} to {info.max}); cast it first if wrapping is what you want"
            )
    elif target.kind == "f" and array.dtype.kind == "f":
        finite = np.abs(array[np.isfinite(array)])
        largest = float(finite.max()) if finite.size else 0.0
        if largest > float(np.finfo(target).max):
            raise InputError(
                f"{label}: a value of magnitude {largest:.6g} overflows {target.name} (largest "
                f"{float(np.finfo(target).max):.6g}); it would become inf"
            )


def check_arguments(
    types: Sequence[TensorType],
    names: Sequence[str | None],
    args: Sequence[Any],
    *,
    what: str = "graph",
) -> tuple[list[np.ndarray], int | None]:
    """Validate `args` against input `types`; return the converted arrays and the batch size.

    >>> t = TensorType((None, 2), "float32")
    >>> arrays, batch = check_arguments([t], ["x"], [[[1, 2], [3, 4], [5, 6]]])
    >>> arrays[0].dtype, batch
    (dtype('float32'), 3)
    """
    if len(args) != len(types):
        listed = ", ".join(f"{n or i}: {t}" for i, (n, t) in enumerate(zip(names, types)))
        raise InputError(f"{what} takes {len(types)} argument(s) ({listed}), got {len(args)}")
    arrays: list[np.ndarray] = []
    batch: int | None = None
    batch_source = ""
    for index, (arg, expected, name) in enumerate(zip(args, types, names)):
        label = describe_input(index, name)
        array = coerce_argument(arg, expected, label)
        if array.ndim != expected.ndim:
            raise InputError(
                f"{label}: expected shape [{format_shape(expected.shape)}] "
                f"({expected.ndim}-d), got {array.shape} ({array.ndim}-d)"
            )
        for axis, (want, got) in enumerate(zip(expected.shape, array.shape)):
            if want is None:
                if batch is None:
                    batch, batch_source = got, f"{label} axis {axis}"
                elif got != batch:
                    raise InputError(
                        f"{label}: batch dimension (axis {axis}) is {got}, but {batch_source} "
                        f"gave batch size {batch}; all batch dimensions of a call must agree"
                    )
            elif want != got:
                raise InputError(
                    f"{label}: expected shape [{format_shape(expected.shape)}], got "
                    f"{array.shape} (axis {axis} should be {want})"
                )
        arrays.append(array)
    return arrays, batch
