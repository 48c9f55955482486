"""Lowerings of the reductions: reduce_sum/max/min along axes, argmax/argmin along one axis.

A reduction initializes the output with the identity (0, the lowest or the highest value),
then walks the operand in memory order, combining each element into the output element it
reduces to (the output view has stride 0 on reduced axes). When the innermost axis is reduced,
LLVM keeps that output element in a register for the whole inner loop. max and min follow
numpy: nan propagates, and on bools max is "or" and min is "and". Float sums may be reordered
(`REDUCTION_FLAGS`) and float max/min use `llvm.maximum`/`llvm.minimum`, so they vectorize;
the only visible difference from numpy's order is which zero a max of -0.0 and 0.0 returns.

argmax/argmin keep the best value and its index in registers while scanning the axis; a later
element wins only if strictly better (so the first extremum wins ties), and the first nan wins
over everything, as numpy's argmax/argmin.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from llvmlite import ir

from graphc import dtypes
from graphc.backend.emitter import Emitter
from graphc.backend.extents import Extent, element_count
from graphc.backend.irtypes import I64, constant, register_type
from graphc.backend.kernel import Kernel
from graphc.backend.lowering.registry import Signature, apply_scalar, register_lowering
from graphc.backend.strided import View, contiguous_view, emit_map
from graphc.primitives import elementwise as ew
from graphc.primitives import reduce as rd


def lowest(dtype: np.dtype) -> object:
    """The identity of max: -inf, the integer minimum, or False."""
    if dtype == dtypes.bool_:
        return False
    return -np.inf if dtypes.is_float(dtype) else np.iinfo(dtype).min


def highest(dtype: np.dtype) -> object:
    """The identity of min: +inf, the integer maximum, or True."""
    if dtype == dtypes.bool_:
        return True
    return np.inf if dtypes.is_float(dtype) else np.iinfo(dtype).max


def _sum(em: Emitter, sig: Signature, acc: ir.Value, x: ir.Value) -> ir.Value:
    if dtypes.is_float(sig.dtype):
        return em.fop("fadd", acc, x, reduction=True)
    return em.b.add(acc, x)


def extremum(intrinsic: str, prim, bool_op: str) -> Callable[..., ir.Value]:
    """combine(em, sig, acc, x) for max/min: an LLVM intrinsic that propagates nan for floats
    (it vectorizes as a reduction), the elementwise rule for ints, a logical op for bools."""

    def combine(em: Emitter, sig: Signature, acc: ir.Value, x: ir.Value) -> ir.Value:
        if dtypes.is_float(sig.dtype):
            return em.intrinsic(intrinsic, acc.type, [acc, x])
        if sig.dtype == dtypes.bool_:
            return getattr(em.b, bool_op)(acc, x)
        return apply_scalar(em, prim, sig, acc, x)

    return combine


#: (identity(dtype), combine(em, sig, acc, x)) per reduction.
REDUCERS = {
    rd.reduce_sum_p: (lambda dtype: 0, _sum),
    rd.reduce_max_p: (lowest, extremum("llvm.maximum", ew.maximum_p, "or_")),
    rd.reduce_min_p: (highest, extremum("llvm.minimum", ew.minimum_p, "and_")),
}


def lower_reduce(k: Kernel) -> None:
    (x,) = k.operands
    identity, combine = REDUCERS[k.primitive]
    dtype = k.out.dtype
    start = constant(dtype, identity(dtype))
    emit_map(k, k.out.extents, contiguous_view(k.out), [], lambda _: start, name="init")
    axes = k.attrs["axes"]
    kept = iter(k.out.strides)
    out_strides = tuple(Extent.of(0) if a in axes else next(kept) for a in range(x.type.ndim))
    acc = View(k.out, out_strides)
    sig = Signature((dtype, dtype), dtype)
    emit_map(
        k,
        x.extents,
        acc,
        [acc, contiguous_view(x)],
        lambda values: combine(k.em, sig, *values),
    )


def lower_arg(k: Kernel) -> None:
    """Index of the first max (argmax) or min (argmin) along `axis`."""
    (x,) = k.operands
    b = k.b
    axis = k.attrs["axis"]
    shape = x.type.shape
    outer, inner = element_count(shape[:axis]), element_count(shape[axis + 1 :])
    n = Extent.of_dim(shape[axis])
    is_max = k.primitive is rd.argmax_p
    start = constant(x.dtype, (lowest if is_max else highest)(x.dtype))
    value_type = register_type(x.dtype)
    with b.goto_entry_block():
        best_slot = b.alloca(value_type, name="best")
        index_slot = b.alloca(I64, name="best_index")
    with k.loop(outer, "o") as o, k.loop(inner, "t") as t:
        b.store(start, best_slot)
        b.store(ir.Constant(I64, 0), index_slot)
        base = b.add(b.mul(o, k.value(n * inner)), t, name="base")
        with k.loop(n, "j") as j:
            value = x.load(b, b.add(base, b.mul(j, k.value(inner))), name="v")
            best = b.load(best_slot, typ=value_type)
            wins = _better(k.em, x.dtype, value, best, is_max)
            b.store(b.select(wins, value, best), best_slot)
            b.store(b.select(wins, j, b.load(index_slot, typ=I64)), index_slot)
        k.out.store(b, b.add(b.mul(o, k.value(inner)), t), b.load(index_slot, typ=I64))


def _better(
    em: Emitter, dtype: np.dtype, value: ir.Value, best: ir.Value, is_max: bool
) -> ir.Value:
    """Whether `value` replaces `best`: strictly better, or the first nan."""
    op = ">" if is_max else "<"
    b = em.b
    if dtypes.is_float(dtype):
        first_nan = b.and_(em.is_nan(value), b.not_(em.is_nan(best)))
        return b.or_(em.fcmp(op, value, best), first_nan)
    if dtype == dtypes.bool_:
        return b.icmp_unsigned(op, value, best)
    return b.icmp_signed(op, value, best)


for _prim in REDUCERS:
    register_lowering(_prim, lower_reduce)
register_lowering(rd.argmax_p, lower_arg)
register_lowering(rd.argmin_p, lower_arg)
