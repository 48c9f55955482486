"""Dtype conversion, and the promotion helpers every public operation uses to line up operands.

Primitives take operands of one dtype (like JAX's lax); the public functions promote first, with
numpy's rules, by inserting `cast` nodes. A Python scalar is weakly typed (NEP 50): it takes the
other operand's dtype when it is of the same kind, so `x * 2` keeps a float32 `x` float32.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from graphc import dtypes
from graphc.autodiff import Zero, defrules, is_differentiable_type
from graphc.core import Primitive, Property, Value, constant, unwrap_symbolic
from graphc.dtypes import DTypeLike
from graphc.errors import DTypeError
from graphc.symbolic import defsympy
from graphc.types import TensorType

__all__ = ["cast"]

# cast(x, dtype): convert each element to `dtype` (numpy `astype`: floats truncate toward zero
# into ints, nonzero becomes True in bool). A float outside the int's range saturates to its
# minimum or maximum and nan becomes 0, as in compiled code (numpy's own result is not portable).
cast_p = Primitive("cast", Property.ELEMENTWISE)


@cast_p.def_shape_rule
def _cast_shape_rule(x: TensorType, *, dtype: np.dtype) -> TensorType:
    return x.with_dtype(dtype)


@cast_p.def_impl
def _cast_impl(x: np.ndarray, *, dtype: np.dtype) -> np.ndarray:
    if x.dtype.kind == "f" and dtype in dtypes.INTEGERS:
        return _saturating_cast(x, dtype)
    return x.astype(dtype)


def _saturating_cast(x: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Float to int, truncating; out-of-range values saturate and nan gives 0."""
    info = np.iinfo(dtype)
    too_big = x >= -float(info.min)  # 2**31 or 2**63: exact in every float dtype
    too_small = x < float(info.min)
    outside = too_big | too_small | np.isnan(x)
    result = np.asarray(np.where(outside, 0, x).astype(dtype))
    result[too_big] = info.max
    result[too_small] = info.min
    return result


def _cast_jvp(primals: tuple[Value], tangents: tuple, out: Value, *, dtype: np.dtype) -> Any:
    # Only float -> float casts carry a derivative (the identity, rounded to the new dtype).
    (t,) = tangents
    if isinstance(t, Zero) or not is_differentiable_type(out.type):
        return Zero(out.type)
    return cast_p.bind(t, dtype=dtype)


def _cast_vjp(ct: Value, primals: tuple[Value], out: Value, *, dtype: np.dtype) -> tuple:
    (x,) = primals
    if not (is_differentiable_type(x.type) and is_differentiable_type(out.type)):
        return (None,)
    return (cast_p.bind(ct, dtype=x.dtype),)


defrules(cast_p, jvp=_cast_jvp, vjp=_cast_vjp)
# A float -> float cast is the identity symbolically; casts to ints or bools have no rule.
defsympy(cast_p, lambda sp, x, *, dtype: x if dtypes.is_float(dtype) else _no_symbolic_cast(dtype))


def _no_symbolic_cast(dtype: np.dtype) -> Any:
    from graphc.symbolic import SympyConversionError

    raise SympyConversionError(f"cast to {dtype.name} has no sympy form")


def cast(x: Any, dtype: DTypeLike) -> Value:
    """Convert `x` to `dtype` elementwise (numpy's `astype`); a no-op when it already is.

    >>> import graphc
    >>> graphc.cast(graphc.placeholder((3,), "int32"), "float32")
    <Value cast : f32[3]>
    """
    if type(x) is Value and x.type.dtype is dtype:
        return x  # already of that dtype (the common case: checked first, for speed)
    target = dtypes.as_dtype(dtype)
    x = unwrap_symbolic(x)
    if not isinstance(x, Value):
        if isinstance(x, int) and target.kind in "iu":  # out of range: OverflowError, as numpy
            return constant(np.asarray(x, dtype=target), target)
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
    first = operands[0] if operands else None
    if type(first) is Value and all(
        type(x) is Value and x.type.dtype == first.type.dtype for x in operands[1:]
    ):
        return list(operands)  # Values of one dtype already: nothing to promote
    operands = tuple(unwrap_symbolic(x) for x in operands)
    strong = [
        x.dtype if isinstance(x, Value) else constant(x).dtype
        for x in operands
        if not _is_weak_scalar(x)
    ]
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
