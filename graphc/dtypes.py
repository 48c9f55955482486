"""The dtypes graphc supports, their short names, and numpy's promotion rules.

graphc supports five dtypes: float32 (the model default), float64 (the symbolic and autodiff
default), int32, int64 and bool. Promotion between them follows numpy (NEP 50 in numpy 2): two
tensors promote with `np.result_type`; a Python scalar is "weak" and takes the tensor's dtype when
it is of the same kind, so `x * 2` keeps `x` float32.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from graphc.errors import DTypeError

float32 = np.dtype("float32")
float64 = np.dtype("float64")
int32 = np.dtype("int32")
int64 = np.dtype("int64")
bool_ = np.dtype("bool")

SUPPORTED = (float32, float64, int32, int64, bool_)
FLOATS = frozenset({float32, float64})
INTEGERS = frozenset({int32, int64})
NUMERIC = FLOATS | INTEGERS

SHORT_NAMES = {float32: "f32", float64: "f64", int32: "i32", int64: "i64", bool_: "bool"}
_FROM_SHORT = {short: dtype for dtype, short in SHORT_NAMES.items()}

DTypeLike = str | np.dtype | type


def as_dtype(dtype: DTypeLike) -> np.dtype:
    """Return the numpy dtype for `dtype`, which may be a name, a short name or a type.

    >>> as_dtype("f32"), as_dtype(float), as_dtype("bool")
    (dtype('float32'), dtype('float64'), dtype('bool'))
    """
    if isinstance(dtype, np.dtype) and dtype in SUPPORTED and dtype.isnative:
        return dtype
    if isinstance(dtype, str) and dtype in _FROM_SHORT:
        return _FROM_SHORT[dtype]
    try:
        result = np.dtype(dtype)
    except TypeError as exc:
        raise DTypeError(f"unknown dtype {dtype!r}; expected one of {supported_names()}") from exc
    if result not in SUPPORTED:
        name = result.name if result.isnative else f"{result.str} (non-native byte order)"
        raise DTypeError(f"unsupported dtype {name}; expected one of {supported_names()}")
    return result


def supported_names() -> str:
    return ", ".join(d.name for d in SUPPORTED)


def short_name(dtype: np.dtype) -> str:
    """'f32' for float32 and so on: the form used in printed types."""
    return SHORT_NAMES[dtype]


def is_float(dtype: np.dtype) -> bool:
    return dtype in FLOATS


def is_integer(dtype: np.dtype) -> bool:
    return dtype in INTEGERS


def float_dtype_for(dtype: np.dtype) -> np.dtype:
    """The dtype a float function returns for `dtype`: floats keep theirs, the rest give float64.

    This is numpy's rule (`np.exp(np.int32(1))` is float64).
    """
    return dtype if dtype in FLOATS else float64


def promote(*dtypes: np.dtype) -> np.dtype:
    """numpy's promotion of tensor dtypes, restricted to the supported set."""
    return as_dtype(np.result_type(*dtypes))


def scalar_dtype(value: Any) -> np.dtype:
    """The dtype a Python scalar gets when it stands alone (numpy's defaults)."""
    if isinstance(value, np.generic):
        return as_dtype(value.dtype)
    if isinstance(value, bool):
        return bool_
    if isinstance(value, int):
        return int64
    if isinstance(value, float):
        return float64
    raise DTypeError(f"expected a bool, int or float scalar, got {type(value).__name__}")


def promote_with_scalar(dtype: np.dtype, scalar: bool | int | float) -> np.dtype:
    """Promotion of a tensor dtype with a weak Python scalar (NEP 50).

    >>> promote_with_scalar(float32, 2), promote_with_scalar(int32, 2.5)
    (dtype('float32'), dtype('float64'))
    """
    try:
        return as_dtype(np.result_type(dtype, scalar))
    except OverflowError as exc:
        raise DTypeError(f"the scalar {scalar!r} does not fit in {dtype.name}") from exc
