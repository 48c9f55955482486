"""Elementwise arithmetic and math: unary functions and broadcasting binary operations.

Binary primitives take two operands of one dtype and broadcast them like numpy; the public
functions promote mixed dtypes first (`promote_operands`). Float functions applied to integers
return float64, as numpy's do.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from graphc import dtypes
from graphc.core import Primitive, Property, Value
from graphc.errors import DTypeError
from graphc.primitives.cast import cast, promote_operands
from graphc.types import TensorType, broadcast_shapes

__all__ = ["exp", "log", "log1p", "expm1", "sqrt", "sin", "cos", "tan", "tanh", "sigmoid", "erf", "floor", "ceil", "round", "negative", "abs", "sign", "logical_not", "add", "subtract", "multiply", "divide", "power", "maximum", "minimum", "floor_divide", "remainder", "logical_and", "logical_or", "relu"]

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


def unary_primitive(name: str, impl: Callable, accepts: frozenset,
                    properties: Property = P.NONE) -> Primitive:
    """A unary elementwise primitive: the output has the operand's type."""
    prim = Primitive(name, P.ELEMENTWISE | properties)

    @prim.def_shape_rule
    def shape_rule(x: TensorType) -> TensorType:
        _check_dtypes(name, accepts, x)
        return x

    prim.def_impl(impl)
    return prim


def binary_primitive(name: str, impl: Callable, accepts: frozenset,
                     properties: Property = P.NONE, out_dtype: np.dtype | None = None
                     ) -> Primitive:
    """A binary elementwise primitive with numpy broadcasting; operands share one dtype."""
    prim = Primitive(name, P.ELEMENTWISE | properties)

    @prim.def_shape_rule
    def shape_rule(x: TensorType, y: TensorType) -> TensorType:
        _check_dtypes(name, accepts, x, y)
        if x.dtype != y.dtype:
            raise DTypeError(f"{name}: operands must share a dtype, got {x} and {y}")
        shape = broadcast_shapes(x.shape, y.shape, op=f"{name} of {x} and {y}")
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

FLOAT = dtypes.FLOATS
NUMERIC = dtypes.NUMERIC
BOOL = frozenset({dtypes.bool_})
ANY = frozenset(dtypes.SUPPORTED)

exp_p = unary_primitive("exp", np.exp, FLOAT)  # exp(x) = e**x
log_p = unary_primitive("log", np.log, FLOAT)  # natural logarithm; log(0) = -inf
log1p_p = unary_primitive("log1p", np.log1p, FLOAT)  # log(1 + x), accurate near 0
expm1_p = unary_primitive("expm1", np.expm1, FLOAT)  # exp(x) - 1, accurate near 0
sqrt_p = unary_primitive("sqrt", np.sqrt, FLOAT)  # sqrt(x); nan below 0
sin_p = unary_primitive("sin", np.sin, FLOAT)
cos_p = unary_primitive("cos", np.cos, FLOAT)
tan_p = unary_primitive("tan", np.tan, FLOAT)
tanh_p = unary_primitive("tanh", np.tanh, FLOAT)
logistic_p = unary_primitive("logistic", _stable_logistic, FLOAT)  # 1 / (1 + exp(-x)), stable
erf_p = unary_primitive("erf", lambda x: _erf64(x).astype(x.dtype), FLOAT)
floor_p = unary_primitive("floor", np.floor, FLOAT)
ceil_p = unary_primitive("ceil", np.ceil, FLOAT)
round_p = unary_primitive("round", np.rint, FLOAT)  # to nearest, ties to even (numpy's round)

# --- unary numeric and logical -----------------------------------------------------------------

neg_p = unary_primitive("neg", np.negative, NUMERIC, P.LINEAR)  # -x
abs_p = unary_primitive("abs", np.abs, NUMERIC)  # |x|
sign_p = unary_primitive("sign", np.sign, NUMERIC)  # -1, 0 or 1 (nan stays nan)
not_p = unary_primitive("not", np.logical_not, BOOL)  # logical not

# --- binary arithmetic -------------------------------------------------------------------------

add_p = binary_primitive("add", np.add, NUMERIC, P.COMMUTATIVE | P.ASSOCIATIVE | P.LINEAR)
sub_p = binary_primitive("sub", np.subtract, NUMERIC, P.LINEAR)
mul_p = binary_primitive("mul", np.multiply, NUMERIC, P.COMMUTATIVE | P.ASSOCIATIVE)
div_p = binary_primitive("div", np.divide, FLOAT)  # true division, floats only
pow_p = binary_primitive("pow", np.power, NUMERIC)  # x ** y
maximum_p = binary_primitive("maximum", np.maximum, NUMERIC,
                             P.COMMUTATIVE | P.ASSOCIATIVE | P.IDEMPOTENT)  # nan propagates
minimum_p = binary_primitive("minimum", np.minimum, NUMERIC,
                             P.COMMUTATIVE | P.ASSOCIATIVE | P.IDEMPOTENT)
floordiv_p = binary_primitive("floordiv", np.floor_divide, NUMERIC)  # floor(x / y), numpy's //
rem_p = binary_primitive("rem", np.remainder, NUMERIC)  # x - floor(x / y) * y, numpy's %
and_p = binary_primitive("and", np.logical_and, BOOL, P.COMMUTATIVE | P.ASSOCIATIVE | P.IDEMPOTENT)
or_p = binary_primitive("or", np.logical_or, BOOL, P.COMMUTATIVE | P.ASSOCIATIVE | P.IDEMPOTENT)


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


def _binary(prim: Primitive, doc: str, *, float_only: bool = False,
            accepts: frozenset = NUMERIC) -> Callable[[Any, Any], Value]:
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
divide = _binary(div_p, "divide(x, y) = x / y (true division; integers give float64).",
                 float_only=True)
power = _binary(pow_p, "power(x, y) = x ** y, elementwise with numpy broadcasting.")
maximum = _binary(maximum_p, "maximum(x, y), elementwise; nan propagates.")
minimum = _binary(minimum_p, "minimum(x, y), elementwise; nan propagates.")
floor_divide = _binary(floordiv_p, "floor_divide(x, y) = floor(x / y), numpy's //.")
remainder = _binary(rem_p, "remainder(x, y) = x - floor(x / y) * y, numpy's % (sign of y).")
logical_and = _binary(and_p, "x and y, elementwise, for bool values.", accepts=BOOL)
logical_or = _binary(or_p, "x or y, elementwise, for bool values.", accepts=BOOL)


def relu(x: Any) -> Value:
    """relu(x) = max(x, 0), elementwise."""
    (value,) = promote_operands(x, op="relu")
    return maximum(value, 0)
