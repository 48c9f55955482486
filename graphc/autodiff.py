"""Differentiation rules: the jvp and vjp tables, and the helpers that fill them.

Every primitive's module registers its rules right after defining it, with the helper that fits
the shape of its derivative:

- `defpartials(prim, dx, dy, ...)`: an elementwise op given by its partial derivatives, each a
  graph-building function of the operands and the output (`exp`: `lambda x, out: out`).
- `deflinear(prim, transpose)`: the op is linear in its operands, so its jvp is the op itself
  applied to the tangents and only the transpose (the vjp) is written (neg, reshape, sum, ...).
- `defbilinear(prim, lhs_transpose, rhs_transpose)`: linear in each operand separately (mul,
  matmul, conv).
- `defrules(prim, jvp=..., vjp=...)`: anything else, written out.
- `nondifferentiable(prim, reason)`: outputs carry no derivative (comparisons, integer results,
  floor): the tangent is a symbolic `Zero` and no cotangent flows back.

Rules are written with graphc's own ops, so derivatives are ordinary graphs: they can be dumped,
optimized, compiled and differentiated again. A `Zero` tangent short-circuits the arithmetic,
and `None` as a cotangent means "no gradient flows to this operand".

Rule signatures:
    jvp(primals, tangents, out, **attrs) -> Value | Zero
    vjp(cotangent, primals, out, **attrs) -> tuple of (Value | None), one per operand
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from graphc import dtypes
from graphc.core import Primitive, Value
from graphc.types import TensorType


@dataclass(frozen=True)
class Zero:
    """A tangent or cotangent known to be zero, of the given type, not yet materialized."""

    type: TensorType


Tangent = Value | Zero
JvpRule = Callable[..., Tangent]
VjpRule = Callable[..., tuple[Value | None, ...]]

JVP_RULES: dict[Primitive, JvpRule] = {}
VJP_RULES: dict[Primitive, VjpRule] = {}
#: Primitives with no derivative on purpose, and why (shown in errors and the coverage test).
NONDIFFERENTIABLE: dict[Primitive, str] = {}


def is_differentiable_type(t: TensorType) -> bool:
    """Only float values carry tangents; integer and bool values are constant to autodiff."""
    return dtypes.is_float(t.dtype)


def zeros_like_type(t: TensorType) -> Value:
    """A materialized zero tensor of type `t` (a broadcast scalar, cheap to build and fold)."""
    from graphc.core import constant
    from graphc.primitives.shape import broadcast_to

    zero = constant(0, t.dtype)
    return zero if t.shape == () else broadcast_to(zero, t.shape)


def instantiate(t: Tangent) -> Value:
    """Turn a `Zero` into a zero tensor; pass Values through."""
    return zeros_like_type(t.type) if isinstance(t, Zero) else t


def add_tangents(a: Tangent | None, b: Tangent | None) -> Tangent | None:
    """a + b where either may be `Zero` or `None` (absent), without building useless adds."""
    if a is None or isinstance(a, Zero):
        return b if b is not None else a
    if b is None or isinstance(b, Zero):
        return a
    return a + b


def unbroadcast(ct: Value, target: TensorType) -> Value:
    """Sum `ct` over the axes broadcasting added, so it gets the type `target` had.

    The reverse of numpy broadcasting: leading axes that broadcasting prepended are summed
    away, and axes where `target` has size 1 but `ct` does not are summed with keepdims.

    >>> import graphc
    >>> ct = graphc.placeholder((None, 4, 3))
    >>> unbroadcast(ct, TensorType((4, 1), "float32")).shape
    (4, 1)
    """
    if ct.type == target:
        return ct  # the common case, first: reverse mode calls this for every operand
    from graphc.primitives.cast import cast
    from graphc.primitives.reduce import sum as reduce_sum
    from graphc.primitives.shape import reshape

    if ct.shape == target.shape:
        return cast(ct, target.dtype)
    extra = ct.ndim - target.ndim
    axes = tuple(range(extra)) + tuple(
        extra + i for i, d in enumerate(target.shape) if d == 1 and ct.shape[extra + i] != 1
    )
    summed = reduce_sum(ct, axis=axes) if axes else ct
    if summed.shape != target.shape:
        summed = reshape(summed, target.shape)
    return cast(summed, target.dtype)


def broadcast_to_type(x: Value, target: TensorType) -> Value:
    """Broadcast `x` up to `target`'s shape (the forward counterpart of `unbroadcast`)."""
    if x.shape == target.shape:
        return x
    from graphc.primitives.shape import broadcast_to

    return broadcast_to(x, target.shape)


# --- registration helpers ----------------------------------------------------------------------

Partial = Callable[..., Value] | None


def defrules(prim: Primitive, *, jvp: JvpRule, vjp: VjpRule) -> None:
    """Register hand-written jvp and vjp rules for `prim`."""
    JVP_RULES[prim] = jvp
    VJP_RULES[prim] = vjp


def defpartials(prim: Primitive, *partials: Partial) -> None:
    """Register an elementwise primitive by its partial derivatives.

    Each partial is `partial(*operands, out=output) -> Value`, the derivative of the output
    with respect to that operand (broadcasting like the op); `None` marks an operand the output
    does not depend on differentiably. jvp sums tangent * partial; vjp multiplies the
    cotangent by each partial and unbroadcasts it to the operand's type.
    """

    def jvp(
        primals: Sequence[Value], tangents: Sequence[Tangent], out: Value, **attrs: Any
    ) -> Tangent:
        total: Tangent | None = None
        for t, partial in zip(tangents, partials):
            if partial is not None and not isinstance(t, Zero):
                total = add_tangents(total, t * partial(*primals, out=out, **attrs))
        if total is None or isinstance(total, Zero):
            return Zero(out.type)
        return broadcast_to_type(total, out.type)

    def vjp(
        ct: Value, primals: Sequence[Value], out: Value, **attrs: Any
    ) -> tuple[Value | None, ...]:
        return tuple(
            None
            if partial is None or not is_differentiable_type(x.type)
            else unbroadcast(ct * partial(*primals, out=out, **attrs), x.type)
            for partial, x in zip(partials, primals)
        )

    defrules(prim, jvp=jvp, vjp=vjp)


def deflinear(prim: Primitive, transpose: VjpRule) -> None:
    """Register a primitive linear in all its operands: jvp applies it to the tangents."""

    def jvp(
        primals: Sequence[Value], tangents: Sequence[Tangent], out: Value, **attrs: Any
    ) -> Tangent:
        if all(isinstance(t, Zero) for t in tangents):
            return Zero(out.type)
        return prim.bind(*(instantiate(t) for t in tangents), **attrs)

    defrules(prim, jvp=jvp, vjp=transpose)


def defbilinear(
    prim: Primitive, lhs_transpose: Callable[..., Value], rhs_transpose: Callable[..., Value]
) -> None:
    """Register a primitive linear in each of its two operands (mul, matmul, conv).

    jvp is op(t_lhs, rhs) + op(lhs, t_rhs); each transpose maps `(ct, lhs, rhs, **attrs)` to
    the cotangent of its operand.
    """

    def jvp(
        primals: Sequence[Value], tangents: Sequence[Tangent], out: Value, **attrs: Any
    ) -> Tangent:
        lhs, rhs = primals
        t_lhs, t_rhs = tangents
        total: Tangent | None = None
        if not isinstance(t_lhs, Zero):
            total = prim.bind(t_lhs, rhs, **attrs)
        if not isinstance(t_rhs, Zero):
            total = add_tangents(total, prim.bind(lhs, t_rhs, **attrs))
        return Zero(out.type) if total is None else broadcast_to_type(total, out.type)

    def vjp(
        ct: Value, primals: Sequence[Value], out: Value, **attrs: Any
    ) -> tuple[Value | None, ...]:
        lhs, rhs = primals
        return (
            lhs_transpose(ct, lhs, rhs, **attrs) if is_differentiable_type(lhs.type) else None,
            rhs_transpose(ct, lhs, rhs, **attrs) if is_differentiable_type(rhs.type) else None,
        )

    defrules(prim, jvp=jvp, vjp=vjp)


def nondifferentiable(prim: Primitive, reason: str) -> None:
    """Register a primitive whose output carries no derivative (zero tangent, no cotangent)."""
    NONDIFFERENTIABLE[prim] = reason

    def jvp(
        primals: Sequence[Value], tangents: Sequence[Tangent], out: Value, **attrs: Any
    ) -> Tangent:
        return Zero(out.type)

    def vjp(
        ct: Value, primals: Sequence[Value], out: Value, **attrs: Any
    ) -> tuple[Value | None, ...]:
        return (None,) * len(primals)

    defrules(prim, jvp=jvp, vjp=vjp)
