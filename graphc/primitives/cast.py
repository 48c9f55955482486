"""Dtype conversion, and the promotion helpers every public operation uses to line up operands.

Primitives take operands of one dtype (like JAX's lax); the public functions promote first, with
numpy's rules, by inserting `cast` nodes. A Python scalar is weakly typed (NEP 50): it takes the
other operand's dtype when it is of the same kind, so `x * 2` keeps a float32 `x` float32.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from graphc import dtypes
from graphc.core import Primitive, Property, Value, constant
from graphc.dtypes import DTypeLike
from graphc.errors import DTypeError
from graphc.types import TensorType

__all__ = ["cast"]

# cast(x, dtype): convert each element to `dtype` (numpy `astype`: floats truncate toward zero
# into ints, nonzero becomes True in bool).
cast_p = Primitive("cast", Property.ELEMENTWISE)


@cast_p.def_shape_rule
def _cast_shape_rule(x: TensorType, *, dtype: np.dtype) -> TensorType:
    return x.with_dtype(dtype)


@cast_p.def_impl
def _cast_impl(x: np.ndarray, *, dtype: np.dtype) -> np.ndarray:
    return x.astype(dtype)


def cast(x: Any, dtype: DTypeLike) -> Value:
    """Convert `x` to `dtype` elementwise (numpy's `astype`); a no-op when it already is.

    >>> import graphc
    >>> graphc.cast(graphc.placeholder((3,), "int32"), "float32")
    <Value cast : f32[3]>
    """
    target = dtypes.as_dtype(dtype)
    if not isinstance(x, Value):
        return constant(np.asarray(x), target)
    if x.dtype == target:
        return x
    return cast_p.bind(x, dtype=target)


def _is_weak_scalar(x: Any) -> bool:
    """Python scalars are weakly typed (NEP 50); numpy scalars and arrays keep their dtype."""
    return isinstance(x, (bool, int, float))


def promote_operands(*operands: Any, op: str) -> list[Value]:
    """Turn operands into Values of one dtype, by numpy's promotion with weak Python scalars.

    >>> import graphc
    >>> a, b = promote_operands(graphc.placeholder((2,), "float32"), 3, op="add")
    >>> a.dtype, b.dtype
    (dtype('float32'), dtype('float32'))
    """
    strong = [x.dtype if isinstance(x, Value) else constant(x).dtype
              for x in operands if not _is_weak_scalar(x)]
    weak = [x for x in operands if _is_weak_scalar(x)]
    if strong:
        target = dtypes.promote(*strong)
        for scalar in weak:
            target = dtypes.promote_with_scalar(target, scalar)
    else:
        target = dtypes.promote(*(dtypes.scalar_dtype(x) for x in weak))
    try:
        return [cast(x, target) for x in operands]
    except (OverflowError, ValueError) as exc:
        raise DTypeError(f"{op}: an operand does not fit in {target.name}: {exc}") from exc
