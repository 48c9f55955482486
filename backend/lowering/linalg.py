"""Lowering of `matmul`: a loop nest over the broadcast leading dims, then i-k-j products.

For each matrix of the stack, row i of the result is zeroed, then for each p the scalar
lhs[i, p] times row p of rhs is added to it: the innermost loop runs over j, contiguous in
both rhs and the result, so it vectorizes. (Register-blocked micro-kernels are a later step.)
"""

from __future__ import annotations

from llvmlite import ir

from graphc.backend.extents import Extent
from graphc.backend.irtypes import constant
from graphc.backend.kernel import Kernel
from graphc.backend.lowering.registry import register_lowering
from graphc.backend.strided import View, broadcast_strides, contiguous_view, emit_nest
from graphc.primitives.linalg import matmul_p


def multiply_add(k: Kernel, acc: ir.Value, x: ir.Value, y: ir.Value) -> ir.Value:
    """acc + x * y in the dtype's arithmetic (wrapping for ints, fast-math flags for floats)."""
    if isinstance(acc.type, ir.IntType):
        return k.b.add(acc, k.b.mul(x, y))
    return k.em.fop("fadd", acc, k.em.fop("fmul", x, y))


def lower_matmul(k: Kernel) -> None:
    lhs, rhs = k.operands
    out_shape = k.out.type.shape
    *lead, m, n = [Extent.of_dim(d) for d in out_shape]
    depth = Extent.of_dim(lhs.type.shape[-1])
    matrices = [
        View(k.out, contiguous_view(k.out).strides[:-2]),
        View(lhs, broadcast_strides(lhs.type.shape, (*out_shape[:-2], *lhs.type.shape[-2:]))[:-2]),
        View(rhs, broadcast_strides(rhs.type.shape, (*out_shape[:-2], *rhs.type.shape[-2:]))[:-2]),
    ]
    b = k.b
    zero = constant(k.out.dtype, 0)

    def product(bases: list[ir.Value]) -> None:
        out_base, lhs_base, rhs_base = bases
        with k.loop(m, "i") as i:
            out_row = k.add(out_base, k.offset([(i, n)]), name="out_row")
            lhs_row = k.add(lhs_base, k.offset([(i, depth)]), name="lhs_row")
            with k.loop(n, "j0") as j:
                k.out.store(b, b.add(out_row, j), zero)
            with k.loop(depth, "p") as p:
                a = lhs.load(b, b.add(lhs_row, p), name="a")
                rhs_row = k.add(rhs_base, k.offset([(p, n)]), name="rhs_row")
                with k.loop(n, "j") as j:
                    where = b.add(out_row, j)
                    total = multiply_add(k, k.out.load(b, where), a, rhs.load(b, b.add(rhs_row, j)))
                    k.out.store(b, where, total)

    emit_nest(k, lead, matrices, product, name="m")


register_lowering(matmul_p, lower_matmul)
