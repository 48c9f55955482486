"""Lowerings of the per-example gathers: take_along_axis and scatter_add_along_axis.

Viewed as (outer, n, inner) around the gathered axis, element (o, j, t) of the indices names
row indices[o, j, t] of the dense operand at the same (o, t); the index is wrapped once if
negative and clamped like `take`'s, so no read or write leaves the buffer.
"""

from __future__ import annotations

from graphc.backend.extents import element_count
from graphc.backend.irtypes import constant
from graphc.backend.kernel import Kernel
from graphc.backend.lowering.registry import register_lowering
from graphc.backend.lowering.shape import add_values, clamped_index
from graphc.backend.strided import contiguous_view, emit_map
from graphc.primitives import gather


def _along(k: Kernel, dense, sparse, indices, axis: int, n: int, accumulate: bool) -> None:
    """take (dense -> sparse) or scatter-add (sparse -> dense) along `axis`."""
    b = k.b
    shape = indices.type.shape
    outer = element_count(shape[:axis])
    inner = element_count(shape[axis + 1 :])
    m = shape[axis]
    with k.loop(outer, "o") as o, k.loop(m, "j") as j, k.loop(inner, "t") as t:
        at_sparse = b.add(b.mul(b.add(b.mul(o, k.value(m)), j), k.value(inner)), t)
        index = clamped_index(k, indices.load(b, at_sparse, name="raw_index"), n)
        at_dense = b.add(b.mul(b.add(b.mul(o, k.value(n)), index), k.value(inner)), t)
        if accumulate:
            total = add_values(k, dense.load(b, at_dense), sparse.load(b, at_sparse))
            dense.store(b, at_dense, total)
        else:
            sparse.store(b, at_sparse, dense.load(b, at_dense))


def lower_take_along_axis(k: Kernel) -> None:
    x, indices = k.operands
    axis = k.attrs["axis"]
    _along(k, x, k.out, indices, axis, x.type.shape[axis], accumulate=False)


def lower_scatter_add_along_axis(k: Kernel) -> None:
    updates, indices = k.operands
    zero = constant(k.out.dtype, 0)
    emit_map(k, k.out.extents, contiguous_view(k.out), [], lambda _: zero, name="zero")
    _along(k, k.out, updates, indices, k.attrs["axis"], k.attrs["size"], accumulate=True)


register_lowering(gather.take_along_axis_p, lower_take_along_axis)
register_lowering(gather.scatter_add_along_axis_p, lower_scatter_add_along_axis)
