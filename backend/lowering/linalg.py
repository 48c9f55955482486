"""Lowering of `matmul`: one blocked GEMM (`backend.gemm`) per matrix of the stack.

The leading dimensions broadcast: a loop nest walks them (merged where contiguous, as any
strided nest) and gives each matrix its offset in the result and in both operands; each
matrix product is then `emit_gemm`, with a fused epilogue when the node is the anchor of one.
"""

from __future__ import annotations

from llvmlite import ir

from graphc.backend.extents import Extent, element_count
from graphc.backend.gemm import (
    Anchor,
    Buffers,
    Gemm,
    Matrix,
    TileEpilogue,
    emit_gemm,
    i64,
    register_anchor,
)
from graphc.backend.gemm_operands import PANELS, TRANSPOSED
from graphc.backend.kernel import Kernel, Operand
from graphc.backend.lowering.registry import register_lowering
from graphc.backend.parallel import Part
from graphc.backend.strided import View, broadcast_strides, contiguous_view, emit_nest
from graphc.primitives.linalg import matmul_p


def lower_matmul(k: Kernel, epilogue: TileEpilogue | None, part: Part | None) -> None:
    """out[..., :, :] = lhs[..., :, :] @ rhs[..., :, :] for every matrix of the stack."""
    lhs, rhs = k.operands
    out_shape = k.out.type.shape
    *lead, m, n = [Extent.of_dim(d) for d in out_shape]
    depth = Extent.of_dim(lhs.type.shape[-1])
    buffers = Buffers.allocate(k, k.out.dtype, depth, n)
    extra = epilogue.views if epilogue is not None else []
    views = [
        View(k.out, contiguous_view(k.out).strides[:-2]),
        View(lhs, broadcast_strides(lhs.type.shape, (*out_shape[:-2], *lhs.type.shape[-2:]))[:-2]),
        View(rhs, broadcast_strides(rhs.type.shape, (*out_shape[:-2], *rhs.type.shape[-2:]))[:-2]),
        *(View(v.operand, v.strides[:-2], v.offset) for v in extra),
    ]

    def product(bases: list[ir.Value]) -> None:
        out_base, lhs_base, rhs_base, *extra_bases = bases

        def row_offset(index: int, row: ir.Value) -> ir.Value:
            return k.add(extra_bases[index], k.b.mul(row, k.value(extra[index].strides[-2])))

        def col_offset(index: int, col: ir.Value) -> ir.Value:
            return k.b.mul(col, k.value(extra[index].strides[-1]))

        gemm = Gemm(
            rows=k.value(m),
            depth=k.value(depth),
            a=operand_matrix(lhs, lhs_base, m, depth),
            b=operand_matrix(rhs, rhs_base, depth, n),
            c=Matrix(k.out, out_base, n, Extent.of(1)),
            columns=(i64(0), k.value(n)),
            epilogue=epilogue.build(row_offset, col_offset) if epilogue is not None else None,
            part=part,
        )
        emit_gemm(k, gemm, buffers)

    emit_nest(k, lead, views, product, name="m")


def operand_matrix(operand: Operand, offset: ir.Value, rows: Extent, cols: Extent) -> Matrix:
    """One matrix of a matmul operand as the GEMM reads it, by the operand's layout: row-major
    or transposed (both read in place when possible), or packed panels."""
    if operand.layout == TRANSPOSED:  # memory holds the (cols x rows) transpose
        return Matrix(operand, offset, Extent.of(1), rows, in_place=True)
    return Matrix(
        operand, offset, cols, Extent.of(1), in_place=True, panels=operand.layout == PANELS
    )


def matmul_work(k: Kernel) -> Extent:
    """Multiply-adds of a matmul node: every output element is a dot product of depth k."""
    return element_count(k.out.type.shape) * Extent.of_dim(k.operands[0].type.shape[-1])


register_lowering(matmul_p, register_anchor(matmul_p, Anchor(lower_matmul, matmul_work)))
