"""Lowerings of the shape family: strided copies, gathers and scatters.

reshape, transpose, broadcast_to, slice, rev, concatenate and pad move elements without
arithmetic: each is a strided loop nest (`backend.strided`) whose strides say where element i
of the output comes from (or, for concatenate and pad, where element i of the operand goes).
Merging contiguous axes makes reshape and unit-step slices flat contiguous copies.

take and scatter_add read an index per gathered slice; an index is wrapped once if negative,
then clamped into [0, n - 1], exactly as the interpreter does, so no index is ever out of
bounds.
"""

from __future__ import annotations

from llvmlite import ir

from graphc.backend.extents import Extent, element_count
from graphc.backend.irtypes import I64, constant
from graphc.backend.kernel import Kernel
from graphc.backend.lowering.registry import register_lowering
from graphc.backend.strided import View, broadcast_view, contiguous_view, emit_map
from graphc.primitives import shape as sh


def _identity(values: list[ir.Value]) -> ir.Value:
    return values[0]


def copy_from(k: Kernel, source: View) -> None:
    """out[i] = source at i, over the whole output."""
    emit_map(k, k.out.extents, contiguous_view(k.out), [source], _identity)


def lower_reshape(k: Kernel) -> None:
    """The same elements in the same row-major order: one flat contiguous copy."""
    (x,) = k.operands
    count = element_count(k.out.type.shape)
    emit_map(k, [count], View(k.out, (Extent.of(1),)), [View(x, (Extent.of(1),))], _identity)


def lower_transpose(k: Kernel) -> None:
    (x,) = k.operands
    strides = x.strides
    copy_from(k, View(x, tuple(strides[a] for a in k.attrs["permutation"])))


def lower_broadcast_to(k: Kernel) -> None:
    (x,) = k.operands
    copy_from(k, broadcast_view(x, k.out.type.shape))


def lower_slice(k: Kernel) -> None:
    (x,) = k.operands
    strides = x.strides
    offset = sum((s * start for s, start in zip(strides, k.attrs["start"])), Extent.of(0))
    scaled = tuple(s * step for s, step in zip(strides, k.attrs["step"]))
    copy_from(k, View(x, scaled, offset))


def lower_rev(k: Kernel) -> None:
    """Reversed axes read with a negative stride from their last element."""
    (x,) = k.operands
    axes = k.attrs["axes"]
    strides, dims = x.strides, x.extents
    offset = sum(((dims[a] - 1) * strides[a] for a in axes), Extent.of(0))
    signed = tuple(-s if a in axes else s for a, s in enumerate(strides))
    copy_from(k, View(x, signed, offset))


def lower_concatenate(k: Kernel) -> None:
    """Each operand is copied into its window of the output along `axis`."""
    axis = k.attrs["axis"]
    out_strides = k.out.strides
    start = 0
    for x in k.operands:
        target = View(k.out, tuple(out_strides), out_strides[axis] * start)
        emit_map(k, x.extents, target, [contiguous_view(x)], _identity, name=f"c{start}_")
        start += x.type.shape[axis]


def lower_pad(k: Kernel) -> None:
    """Fill with the pad value, then copy the operand into its strided window."""
    (x,) = k.operands
    config = k.attrs["config"]
    fill = constant(k.out.dtype, k.attrs["value"])
    emit_map(k, k.out.extents, contiguous_view(k.out), [], lambda _: fill, name="fill")
    out_strides = k.out.strides
    offset = sum((s * lo for s, (lo, _, _) in zip(out_strides, config)), Extent.of(0))
    spread = tuple(s * (interior + 1) for s, (_, _, interior) in zip(out_strides, config))
    emit_map(k, x.extents, View(k.out, spread, offset), [contiguous_view(x)], _identity)


def clamped_index(k: Kernel, raw: ir.Value, n: int) -> ir.Value:
    """An index wrapped once if negative (i + n), then clamped into [0, n - 1]."""
    b = k.b
    index = b.sext(raw, I64) if raw.type != I64 else raw
    size = ir.Constant(I64, n)
    zero = ir.Constant(I64, 0)
    index = b.select(b.icmp_signed("<", index, zero), b.add(index, size), index)
    index = b.select(b.icmp_signed("<", index, zero), zero, index)
    last = ir.Constant(I64, n - 1)
    return b.select(b.icmp_signed(">", index, last), last, index, name="index")


def _gather_scatter(k: Kernel, dense, sliced, indices, axis: int, n: int, accumulate: bool) -> None:
    """For each index j: copy (or add) slice `sliced[.., j, ..]` and `dense[.., idx[j], ..]`.

    `dense` has n entries along `axis`, `sliced` has the indices' shape there; take copies
    dense -> sliced, scatter_add adds sliced -> dense.
    """
    b = k.b
    shape = dense.type.shape
    outer = element_count(shape[:axis])
    inner = element_count(shape[axis + 1 :])
    count = element_count(indices.type.shape)
    with k.loop(outer, "o") as o, k.loop(count, "j") as j:
        index = clamped_index(k, indices.load(b, j, name="raw_index"), n)
        dense_base = b.mul(b.add(b.mul(o, k.value(n)), index), k.value(inner), name="dense")
        sliced_row = b.add(b.mul(o, k.value(count)), j)
        sliced_base = b.mul(sliced_row, k.value(inner), name="sliced")
        with k.loop(inner, "t") as t:
            at_dense, at_sliced = b.add(dense_base, t), b.add(sliced_base, t)
            if accumulate:
                total = add_values(k, dense.load(b, at_dense), sliced.load(b, at_sliced))
                dense.store(b, at_dense, total)
            else:
                sliced.store(b, at_sliced, dense.load(b, at_dense))


def add_values(k: Kernel, x: ir.Value, y: ir.Value) -> ir.Value:
    """x + y for ints or floats (the float add with the kernel's fast-math flags)."""
    return k.b.add(x, y) if isinstance(x.type, ir.IntType) else k.em.fop("fadd", x, y)


def lower_take(k: Kernel) -> None:
    x, indices = k.operands
    axis = k.attrs["axis"]
    _gather_scatter(k, x, k.out, indices, axis, x.type.shape[axis], accumulate=False)


def lower_scatter_add(k: Kernel) -> None:
    updates, indices = k.operands
    zero = constant(k.out.dtype, 0)
    emit_map(k, k.out.extents, contiguous_view(k.out), [], lambda _: zero, name="zero")
    axis, size = k.attrs["axis"], k.attrs["size"]
    _gather_scatter(k, k.out, updates, indices, axis, size, accumulate=True)


def lower_dim_size(k: Kernel) -> None:
    (x,) = k.operands
    size = k.value(Extent.of_dim(x.type.shape[k.attrs["axis"]]))
    k.out.store(k.b, ir.Constant(I64, 0), size)


for _prim, _lowering in [
    (sh.reshape_p, lower_reshape),
    (sh.transpose_p, lower_transpose),
    (sh.broadcast_to_p, lower_broadcast_to),
    (sh.slice_p, lower_slice),
    (sh.rev_p, lower_rev),
    (sh.concatenate_p, lower_concatenate),
    (sh.pad_p, lower_pad),
    (sh.take_p, lower_take),
    (sh.scatter_add_p, lower_scatter_add),
    (sh.dim_size_p, lower_dim_size),
]:
    register_lowering(_prim, _lowering)
