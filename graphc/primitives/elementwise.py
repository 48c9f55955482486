"""Elementwise arithmetic and math: unary functions and broadcasting binary operations.

Binary primitives take two operands of one dtype and broadcast them like numpy; the public
functions promote mixed dtypes first (`promote_operands`). Float functions applied to integers
return float64, as numpy's do.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from graphc import dtypes
from graphc.autodiff import (
    defbilinear,
    deflinear,
    defpartials,
    nondifferentiable,
    unbroadcast,
)
from graphc.core import Primitive, Property, Value
from graphc.errors import DTypeError
from graphc.primitives.cast import cast, promote_operands
from graphc.symbolic import defsympy
from graphc.types import TensorType, broadcast_shapes

__all__ = [
    "exp",
    "log",
    "log1p",
    "expm1",
    "sqrt",
    "sin",
    "cos",
    "tan",
    "tanh",
    "sigmoid",
    "erf",
    "floor",
    "ceil",
    "round",
    "negative",
    "abs",
    "sign",
    "logical_not",
    "add",
    "subtract",
    "multiply",
    "divide",
    "power",
    "maximum",
    "minimum",
    "floor_divide",
    "remainder",
    "logical_and",
    "logical_or",
    "relu",
]

P = Property
ACCEPTS_NAME = {
    dtypes.FLOATS: "a float",
    dtypes.NUMERIC: "a numeric (non-bool)",
    frozenset({dtypes.bool_}): "a bool",
    frozenset(dtypes.SUPPORTED): "any",
}


def _check_dtypes(op: str, accepts: frozenset, *types: TensorType) -> None:
    for t in types:
        if t.dtype not in accepts:
            listed = " and ".join(str(x) for x in types)
            raise DTypeError(f"{op}: expected {ACCEPTS_NAME[accepts]} dtype, got {listed}")


def unary_primitive(
    name: str, impl: Callable, accepts: frozenset, properties: Property = P.NONE
) -> Primitive:
    """A unary elementwise primitive: the output has the operand's type."""
    prim = Primitive(name, P.ELEMENTWISE | properties)

    @prim.def_shape_rule
    def shape_rule(x: TensorType) -> TensorType:
        _check_dtypes(name, accepts, x)
        return x

    prim.def_impl(impl)
    return prim


def binary_primitive(
    name: str,
    impl: Callable,
    accepts: frozenset,
    properties: Property = P.NONE,
    out_dtype: np.dtype | None = None,
) -> Primitive:
    """A binary elementwise primitive with numpy broadcasting; operands share one dtype."""
    prim = Primitive(name, P.ELEMENTWISE | properties)

    @prim.def_shape_rule
    def shape_rule(x: TensorType, y: TensorType) -> TensorType:
        _check_dtypes(name, accepts, x, y)
        if x.dtype != y.dtype:
            raise DTypeError(f"{name}: operands must share a dtype, got {x} and {y}")
        if x.shape == y.shape and (out_dtype is None or out_dtype == x.dtype):
            return x  # types are immutable: the common case shares the operand's
        shape = broadcast_shapes(x.shape, y.shape, op=lambda: f"{name} of {x} and {y}")
        return TensorType(shape, out_dtype or x.dtype)

    prim.def_impl(impl)
    return prim


def _float_operand(x: Any) -> Value:
    """Promote to a float Value the way numpy's float functions do (ints become float64)."""
    (value,) = promote_operands(x, op="float function")
    return cast(value, dtypes.float_dtype_for(value.dtype))


def _stable_logistic(x: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype)


_erf64 = np.vectorize(math.erf, otypes=[np.float64])

# --- unary float functions ---------------------------------------------------------------------
# Each primitive is followed by its derivative (partials of the output) and its sympy form.

FLOAT = dtypes.FLOATS
NUMERIC = dtypes.NUMERIC
BOOL = frozenset({dtypes.bool_})
ANY = frozenset(dtypes.SUPPORTED)

exp_p = unary_primitive("exp", np.exp, FLOAT)  # exp(x) = e**x
defpartials(exp_p, lambda x, out: out)
defsympy(exp_p, "exp")

log_p = unary_primitive("log", np.log, FLOAT)  # natural logarithm; log(0) = -inf
defpartials(log_p, lambda x, out: 1 / x)
defsympy(log_p, "log")

log1p_p = unary_primitive("log1p", np.log1p, FLOAT)  # log(1 + x), accurate near 0
defpartials(log1p_p, lambda x, out: 1 / (1 + x))
defsympy(log1p_p, lambda sp, x: sp.log(1 + x))

expm1_p = unary_primitive("expm1", np.expm1, FLOAT)  # exp(x) - 1, accurate near 0
defpartials(expm1_p, lambda x, out: out + 1)
defsympy(expm1_p, lambda sp, x: sp.exp(x) - 1)

sqrt_p = unary_primitive("sqrt", np.sqrt, FLOAT)  # sqrt(x); nan below 0
defpartials(sqrt_p, lambda x, out: 0.5 / out)
defsympy(sqrt_p, "sqrt")

sin_p = unary_primitive("sin", np.sin, FLOAT)
defpartials(sin_p, lambda x, out: cos(x))
defsympy(sin_p, "sin")

cos_p = unary_primitive("cos", np.cos, FLOAT)
defpartials(cos_p, lambda x, out: -sin(x))
defsympy(cos_p, "cos")

tan_p = unary_primitive("tan", np.tan, FLOAT)
defpartials(tan_p, lambda x, out: 1 + out * out)
defsympy(tan_p, "tan")

tanh_p = unary_primitive("tanh", np.tanh, FLOAT)
defpartials(tanh_p, lambda x, out: 1 - out * out)
defsympy(tanh_p, "tanh")

logistic_p = unary_primitive("logistic", _stable_logistic, FLOAT)  # 1 / (1 + exp(-x)), stable
defpartials(logistic_p, lambda x, out: out * (1 - out))
defsympy(logistic_p, lambda sp, x: 1 / (1 + sp.exp(-x)))

erf_p = unary_primitive("erf", lambda x: _erf64(x).astype(x.dtype), FLOAT)
defpartials(erf_p, lambda x, out: (2 / math.sqrt(math.pi)) * exp(-x * x))
defsympy(erf_p, "erf")

floor_p = unary_primitive("floor", np.floor, FLOAT)
nondifferentiable(floor_p, "piecewise constant: the derivative is 0 almost everywhere")
defsympy(floor_p, "floor")

ceil_p = unary_primitive("ceil", np.ceil, FLOAT)
nondifferentiable(ceil_p, "piecewise constant: the derivative is 0 almost everywhere")
defsympy(ceil_p, "ceiling")

round_p = unary_primitive("round", np.rint, FLOAT)  # to nearest, ties to even (numpy's round)
nondifferentiable(round_p, "piecewise constant: the derivative is 0 almost everywhere")

# --- unary numeric and logical -----------------------------------------------------------------

neg_p = unary_primitive("neg", np.negative, NUMERIC, P.LINEAR)  # -x
deflinear(neg_p, lambda ct, primals, out: (-ct,))
defsympy(neg_p, lambda sp, x: -x)

abs_p = unary_primitive("abs", np.abs, NUMERIC)  # |x|; derivative sign(x), 0 at 0
defpartials(abs_p, lambda x, out: sign(x))
defsympy(abs_p, "Abs")

sign_p = unary_primitive("sign", np.sign, NUMERIC)  # -1, 0 or 1 (nan stays nan)
nondifferentiable(sign_p, "piecewise constant: the derivative is 0 almost everywhere")
defsympy(sign_p, "sign")

not_p = unary_primitive("not", np.logical_not, BOOL)  # logical not
nondifferentiable(not_p, "bool result")
defsympy(not_p, "Not")

# --- binary arithmetic -------------------------------------------------------------------------


def _unbroadcast_pair(ct: Value, x: Value, y: Value, sign_y: int = 1) -> tuple[Value, Value]:
    return unbroadcast(ct, x.type), unbroadcast(ct if sign_y > 0 else -ct, y.type)


add_p = binary_primitive("add", np.add, NUMERIC, P.COMMUTATIVE | P.ASSOCIATIVE | P.LINEAR)
deflinear(add_p, lambda ct, primals, out: _unbroadcast_pair(ct, *primals))
defsympy(add_p, lambda sp, x, y: x + y)

sub_p = binary_primitive("sub", np.subtract, NUMERIC, P.LINEAR)
deflinear(sub_p, lambda ct, primals, out: _unbroadcast_pair(ct, *primals, sign_y=-1))
defsympy(sub_p, lambda sp, x, y: x - y)

mul_p = binary_primitive("mul", np.multiply, NUMERIC, P.COMMUTATIVE | P.ASSOCIATIVE)
defbilinear(
    mul_p,
    lambda ct, x, y: unbroadcast(ct * y, x.type),
    lambda ct, x, y: unbroadcast(ct * x, y.type),
)
defsympy(mul_p, lambda sp, x, y: x * y)

div_p = binary_primitive("div", np.divide, FLOAT)  # true division, floats only
defpartials(div_p, lambda x, y, out: 1 / y, lambda x, y, out: -out / y)
defsympy(div_p, lambda sp, x, y: x / y)


def _power(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """numpy's power, wrapping for ints; an integer power with a negative exponent (numpy
    raises) is the truncated real result: 1 for base 1, +-1 for base -1, else 0, as compiled."""
    if x.dtype.kind not in "iu":
        return np.power(x, y)
    negative = y < 0
    result = np.power(x, np.where(negative, 0, y).astype(y.dtype, copy=False))
    if not negative.any():
        return result
    minus_one = np.where(y % 2 == 0, 1, -1)
    reciprocal = np.where(x == 1, 1, np.where(x == -1, minus_one, 0))
    return np.where(negative, reciprocal, result).astype(result.dtype, copy=False)


pow_p = binary_primitive("pow", _power, NUMERIC)  # x ** y
# d/dx = y * x**(y-1), taken as 0 where y == 0 (so 0**0 has derivative 0, not nan);
# d/dy = log(x) * x**y, with log(0) replaced by 0 where x == 0 (the limit along y > 0).
defpartials(
    pow_p,
    lambda x, y, out: _where(y == 0, 0, y * power(x, y - 1)),
    lambda x, y, out: log(_where(x == 0, 1, x)) * out,
)
defsympy(pow_p, lambda sp, x, y: x**y)

maximum_p = binary_primitive(
    "maximum", np.maximum, NUMERIC, P.COMMUTATIVE | P.ASSOCIATIVE | P.IDEMPOTENT
)  # nan propagates
# At ties each operand gets half of the gradient (a valid subgradient, symmetric in x and y).
defpartials(
    maximum_p, lambda x, y, out: _tie_split(x, y, x > y), lambda x, y, out: _tie_split(x, y, y > x)
)
defsympy(maximum_p, "Max")

minimum_p = binary_primitive(
    "minimum", np.minimum, NUMERIC, P.COMMUTATIVE | P.ASSOCIATIVE | P.IDEMPOTENT
)
defpartials(
    minimum_p, lambda x, y, out: _tie_split(x, y, x < y), lambda x, y, out: _tie_split(x, y, y < x)
)
defsympy(minimum_p, "Min")

floordiv_p = binary_primitive("floordiv", np.floor_divide, NUMERIC)  # floor(x / y), numpy's //
nondifferentiable(floordiv_p, "piecewise constant: the derivative is 0 almost everywhere")
defsympy(floordiv_p, lambda sp, x, y: sp.floor(x / y))

rem_p = binary_primitive("rem", np.remainder, NUMERIC)  # x - floor(x / y) * y, numpy's %
defpartials(rem_p, lambda x, y, out: 1, lambda x, y, out: -floor_divide(x, y))
defsympy(
    rem_p, lambda sp, x, y: x - y * sp.floor(x / y)
)  # numpy's definition; sympy's Mod has no derivative

and_p = binary_primitive("and", np.logical_and, BOOL, P.COMMUTATIVE | P.ASSOCIATIVE | P.IDEMPOTENT)
nondifferentiable(and_p, "bool result")
defsympy(and_p, "And")

or_p = binary_primitive("or", np.logical_or, BOOL, P.COMMUTATIVE | P.ASSOCIATIVE | P.IDEMPOTENT)
nondifferentiable(or_p, "bool result")
defsympy(or_p, "Or")


def _tie_split(x: Value, y: Value, wins: Value) -> Value:
    """1 where this operand wins, 0.5 at ties, 0 where it loses (the max/min subgradient)."""
    return _where(wins, 1.0, _where(x == y, 0.5, 0.0)).astype(x.dtype)


# --- public functions --------------------------------------------------------------------------


def _unary_float(prim: Primitive, doc: str) -> Callable[[Any], Value]:
    def fn(x: Any) -> Value:
        return prim.bind(_float_operand(x))

    fn.__name__ = fn.__qualname__ = prim.name
    fn.__doc__ = doc
    return fn


exp = _unary_float(exp_p, "exp(x) = e**x, elementwise.")
log = _unary_float(log_p, "log(x), the natural logarithm, elementwise; log(0) = -inf.")
log1p = _unary_float(log1p_p, "log1p(x) = log(1 + x), accurate for small x.")
expm1 = _unary_float(expm1_p, "expm1(x) = exp(x) - 1, accurate for small x.")
sqrt = _unary_float(sqrt_p, "sqrt(x), elementwise; nan for negative x.")
sin = _unary_float(sin_p, "sin(x), elementwise (radians).")
cos = _unary_float(cos_p, "cos(x), elementwise (radians).")
tan = _unary_float(tan_p, "tan(x), elementwise (radians).")
tanh = _unary_float(tanh_p, "tanh(x), elementwise.")
sigmoid = _unary_float(logistic_p, "sigmoid(x) = 1 / (1 + exp(-x)), computed without overflow.")
erf = _unary_float(erf_p, "erf(x) = 2/sqrt(pi) * integral_0^x exp(-t**2) dt, elementwise.")
floor = _unary_float(floor_p, "floor(x): the largest integer <= x, elementwise.")
ceil = _unary_float(ceil_p, "ceil(x): the smallest integer >= x, elementwise.")
round = _unary_float(round_p, "round(x) to the nearest integer, ties to even (numpy's round).")


def _unary_numeric(prim: Primitive, doc: str) -> Callable[[Any], Value]:
    def fn(x: Any) -> Value:
        (value,) = promote_operands(x, op=prim.name)
        if value.dtype == dtypes.bool_:
            raise DTypeError(f"{prim.name}: expected a numeric dtype, got {value.type}")
        return prim.bind(value)

    fn.__name__ = fn.__qualname__ = prim.name
    fn.__doc__ = doc
    return fn


negative = _unary_numeric(neg_p, "negative(x) = -x, elementwise.")
abs = _unary_numeric(abs_p, "abs(x) = |x|, elementwise.")
sign = _unary_numeric(sign_p, "sign(x): -1, 0 or 1 elementwise (nan stays nan).")


def logical_not(x: Any) -> Value:
    """not x, elementwise, for bool values."""
    (value,) = promote_operands(x, op="logical_not")
    _check_dtypes("logical_not", BOOL, value.type)
    return not_p.bind(value)


def _binary(
    prim: Primitive, doc: str, *, float_only: bool = False, accepts: frozenset = NUMERIC
) -> Callable[[Any, Any], Value]:
    def fn(x: Any, y: Any) -> Value:
        a, b = promote_operands(x, y, op=prim.name)
        if float_only:
            target = dtypes.float_dtype_for(a.dtype)
            a, b = cast(a, target), cast(b, target)
        _check_dtypes(prim.name, accepts, a.type, b.type)
        return prim.bind(a, b)

    fn.__name__ = fn.__qualname__ = prim.name
    fn.__doc__ = doc
    return fn


add = _binary(add_p, "add(x, y) = x + y, elementwise with numpy broadcasting.")
subtract = _binary(sub_p, "subtract(x, y) = x - y, elementwise with numpy broadcasting.")
multiply = _binary(mul_p, "multiply(x, y) = x * y, elementwise with numpy broadcasting.")
divide = _binary(
    div_p, "divide(x, y) = x / y (true division; integers give float64).", float_only=True
)
power = _binary(pow_p, "power(x, y) = x ** y, elementwise with numpy broadcasting.")
maximum = _binary(maximum_p, "maximum(x, y), elementwise; nan propagates.")
minimum = _binary(minimum_p, "minimum(x, y), elementwise; nan propagates.")
floor_divide = _binary(floordiv_p, "floor_divide(x, y) = floor(x / y), numpy's //.")
remainder = _binary(rem_p, "remainder(x, y) = x - floor(x / y) * y, numpy's % (sign of y).")
logical_and = _binary(and_p, "x and y, elementwise, for bool values.", accepts=BOOL)
logical_or = _binary(or_p, "x or y, elementwise, for bool values.", accepts=BOOL)


def _where(condition: Any, x: Any, y: Any) -> Value:
    """graphc.where, imported at call time (compare.py builds on this module)."""
    from graphc.primitives.compare import where

    return where(condition, x, y)


def relu(x: Any) -> Value:
    """relu(x) = max(x, 0), elementwise.

    Built as `_where(x <= 0, 0, x)` so that nan passes through and the derivative at 0 is 0,
    the convention of Keras, TensorFlow and PyTorch (`maximum` splits ties evenly instead).
    """
    (value,) = promote_operands(x, op="relu")
    return _where(value <= 0, 0, value)
