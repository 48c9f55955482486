"""Comparisons (bool results) and `select`, the elementwise choice behind `graphc.where`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from graphc import dtypes
from graphc.autodiff import Zero, defrules, instantiate, nondifferentiable, unbroadcast
from graphc.core import Primitive, Property, Value
from graphc.errors import DTypeError
from graphc.primitives.cast import cast, promote_operands
from graphc.primitives.elementwise import ANY, binary_primitive
from graphc.symbolic import defsympy
from graphc.types import TensorType, broadcast_shapes

__all__ = ["equal", "not_equal", "less", "less_equal", "greater", "greater_equal", "where"]

P = Property

eq_p = binary_primitive("eq", np.equal, ANY, P.COMMUTATIVE, out_dtype=dtypes.bool_)  # x == y
ne_p = binary_primitive("ne", np.not_equal, ANY, P.COMMUTATIVE, out_dtype=dtypes.bool_)  # x != y
lt_p = binary_primitive("lt", np.less, ANY, out_dtype=dtypes.bool_)  # x < y
le_p = binary_primitive("le", np.less_equal, ANY, out_dtype=dtypes.bool_)  # x <= y
gt_p = binary_primitive("gt", np.greater, ANY, out_dtype=dtypes.bool_)  # x > y
ge_p = binary_primitive("ge", np.greater_equal, ANY, out_dtype=dtypes.bool_)  # x >= y

for _prim, _sympy_name in [
    (eq_p, "Eq"),
    (ne_p, "Ne"),
    (lt_p, "Lt"),
    (le_p, "Le"),
    (gt_p, "Gt"),
    (ge_p, "Ge"),
]:
    nondifferentiable(_prim, "bool result")
    defsympy(_prim, _sympy_name)


def _comparison(prim: Primitive, doc: str) -> Callable[[Any, Any], Value]:
    def fn(x: Any, y: Any) -> Value:
        return prim.bind(*promote_operands(x, y, op=prim.name))

    fn.__name__ = fn.__qualname__ = prim.name
    fn.__doc__ = doc
    return fn


equal = _comparison(eq_p, "x == y elementwise (bool), numpy broadcasting.")
not_equal = _comparison(ne_p, "x != y elementwise (bool), numpy broadcasting.")
less = _comparison(lt_p, "x < y elementwise (bool), numpy broadcasting.")
less_equal = _comparison(le_p, "x <= y elementwise (bool), numpy broadcasting.")
greater = _comparison(gt_p, "x > y elementwise (bool), numpy broadcasting.")
greater_equal = _comparison(ge_p, "x >= y elementwise (bool), numpy broadcasting.")

# select(cond, x, y) = x where cond else y, elementwise; the three operands broadcast.
select_p = Primitive("select", P.ELEMENTWISE)


@select_p.def_shape_rule
def _select_shape_rule(cond: TensorType, x: TensorType, y: TensorType) -> TensorType:
    if cond.dtype != dtypes.bool_:
        raise DTypeError(f"select: the condition must be bool, got {cond}")
    if x.dtype != y.dtype:
        raise DTypeError(f"select: both branches must share a dtype, got {x} and {y}")
    shape = broadcast_shapes(
        cond.shape, x.shape, y.shape, op=lambda: f"select of {cond}, {x} and {y}"
    )
    return TensorType(shape, x.dtype)


@select_p.def_impl
def _select_impl(cond: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.where(cond, x, y)


def _select_jvp(primals: tuple[Value, ...], tangents: tuple, out: Value, **attrs: Any) -> Any:
    cond, _, _ = primals
    _, t_x, t_y = tangents
    if isinstance(t_x, Zero) and isinstance(t_y, Zero):
        return Zero(out.type)
    return select_p.bind(cond, instantiate(t_x), instantiate(t_y))


def _select_vjp(ct: Value, primals: tuple[Value, ...], out: Value, **attrs: Any) -> tuple:
    # The cotangent flows to the branch the condition chose; the other branch gets zero.
    cond, x, y = primals
    zero = np.zeros((), ct.dtype)
    return (
        None,
        unbroadcast(where(cond, ct, zero), x.type),
        unbroadcast(where(cond, zero, ct), y.type),
    )


defrules(select_p, jvp=_select_jvp, vjp=_select_vjp)
defsympy(select_p, lambda sp, cond, x, y: sp.Piecewise((x, cond), (y, True)))


def where(condition: Any, x: Any, y: Any) -> Value:
    """x where `condition` is true, else y; elementwise with numpy broadcasting.

    A non-bool condition counts as true where it is nonzero, as in numpy.

    >>> import graphc
    >>> x = graphc.placeholder((3,))
    >>> graphc.where(x > 0, x, 0.0)
    <Value select : f32[3]>
    """
    (cond,) = promote_operands(condition, op="where")
    cond = cond if cond.dtype == dtypes.bool_ else cast(cond, dtypes.bool_)
    a, b = promote_operands(x, y, op="where")
    return select_p.bind(cond, a, b)
