"""Scalar rules of the comparisons and `select`.

Float comparisons are ordered (false when either side is nan) except `ne`, which is unordered
(true when either side is nan): IEEE and numpy semantics. Integers compare signed; bools
compare as 0 < 1.
"""

from __future__ import annotations

from collections.abc import Callable

from llvmlite import ir

from graphc import dtypes
from graphc.backend.emitter import Emitter
from graphc.backend.lowering.registry import Signature, register_scalar
from graphc.primitives import compare as cmp


def comparison(op: str) -> Callable[..., ir.Value]:
    """The scalar rule of the comparison `op` ('==', '!=', '<', '<=', '>', '>=')."""

    def rule(em: Emitter, sig: Signature, x: ir.Value, y: ir.Value) -> ir.Value:
        if dtypes.is_float(sig.dtype):
            if op == "!=":
                return em.b.fcmp_unordered(op, x, y)
            return em.fcmp(op, x, y)
        if sig.dtype == dtypes.bool_:
            return em.b.icmp_unsigned(op, x, y)
        return em.b.icmp_signed(op, x, y)

    return rule


for _prim, _op in [
    (cmp.eq_p, "=="),
    (cmp.ne_p, "!="),
    (cmp.lt_p, "<"),
    (cmp.le_p, "<="),
    (cmp.gt_p, ">"),
    (cmp.ge_p, ">="),
]:
    register_scalar(_prim, comparison(_op))

register_scalar(cmp.select_p, lambda em, sig, cond, x, y: em.b.select(cond, x, y))
