"""Lowerings of the reductions: reduce_sum/max/min along axes, argmax/argmin along one axis.

A reduction initializes the output with the identity (0, the lowest or the highest value),
then walks the operand in memory order, combining each element into the output element it
reduces to (the output view has stride 0 on reduced axes). When the innermost axis is reduced,
LLVM keeps that output element in a register for the whole inner loop. max and min follow
numpy: nan propagates, and on bools max is "or" and min is "and". Float sums may be reordered
(`REDUCTION_FLAGS`) and float max/min use `llvm.maximum`/`llvm.minimum`, so they vectorize;
the only visible difference from numpy's order is which zero a max of -0.0 and 0.0 returns.

`emit_reduction` is that loop nest with any per-element value in place of the operand's
element: fused "reduce" kernels (`lowering.fused`) reduce an elementwise body without storing
it, and "rows" kernels accumulate in registers with `reduction_start` and `accumulate`.

argmax/argmin keep the best value and its index in registers while scanning the axis; a later
element wins only if strictly better (so the first extremum wins ties), and the first nan wins
over everything, as numpy's argmax/argmin.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from llvmlite import ir

from graphc import dtypes
from graphc.backend.emitter import Emitter
from graphc.backend.extents import Extent, element_count, extents, row_major_strides
from graphc.backend.irtypes import I64, constant, register_type
from graphc.backend.kernel import Kernel
from graphc.backend.lowering.registry import Signature, apply_scalar, register_lowering
from graphc.backend.strided import View, contiguous_view, emit_map
from graphc.core import Primitive
from graphc.primitives import elementwise as ew
from graphc.primitives import reduce as rd
from graphc.types import Shape


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


def reduction_start(prim: Primitive, dtype: np.dtype) -> ir.Constant:
    """The identity a reduction `prim` of `dtype` values starts from."""
    identity, _ = REDUCERS[prim]
    return constant(dtype, identity(dtype))


def accumulate(
    em: Emitter, prim: Primitive, dtype: np.dtype, acc: ir.Value, x: ir.Value
) -> ir.Value:
    """`acc` combined with one more element `x` by the reduction `prim`."""
    _, combine = REDUCERS[prim]
    return combine(em, Signature((dtype, dtype), dtype), acc, x)


def emit_reduction(
    k: Kernel,
    prim: Primitive,
    axes: Sequence[int],
    shape: Shape,
    ins: Sequence[View],
    value: Callable[[list[ir.Value]], ir.Value],
) -> None:
    """out = `prim` over `axes` of `value(ins loaded at i)`, for i over the box `shape`.

    The output holds the kept axes in row-major order (a keepdims shape is the same array):
    it is set to the identity, then read and written back at every element of the box.
    """
    dtype = k.out.dtype
    start = reduction_start(prim, dtype)
    kept_shape = [d for a, d in enumerate(shape) if a not in axes]
    out = View(k.out, tuple(row_major_strides(kept_shape)))
    emit_map(k, extents(kept_shape), out, [], lambda _: start, name="init")
    kept = iter(out.strides)
    acc = View(k.out, tuple(Extent.of(0) if a in axes else next(kept) for a in range(len(shape))))
    emit_map(
        k,
        extents(shape),
        acc,
        [acc, *ins],
        lambda values: accumulate(k.em, prim, dtype, values[0], value(values[1:])),
    )


def lower_reduce(k: Kernel) -> None:
    (x,) = k.operands
    axes = k.attrs["axes"]
    emit_reduction(k, k.primitive, axes, x.type.shape, [contiguous_view(x)], lambda v: v[0])


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
