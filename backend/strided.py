"""Strided loop nests: `out[o + sum(i*s)] = f(in_k[o_k + sum(i*s_k)])` over a box of indices.

Most kernels are this one loop nest with different strides: elementwise ops (broadcast operands
have stride 0 on broadcast axes), broadcast_to, transpose (permuted strides), slice (scaled
strides and an offset), rev (negative strides), concatenate and pad (the output is a strided
window), and reductions (the output has stride 0 on the reduced axes and is read back).

Before emitting, axes that are contiguous for every view are merged, so a same-shape
elementwise op over any rank becomes one flat loop over contiguous memory, the innermost loop
always runs over the last axis, and LLVM's loop vectorizer sees unit or zero strides.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from llvmlite import ir

from graphc.backend.extents import Extent, row_major_strides
from graphc.backend.irtypes import I64
from graphc.backend.kernel import Kernel, Operand
from graphc.backend.loops import for_range
from graphc.types import Dim

if TYPE_CHECKING:
    from graphc.backend.parallel import Part


#: Shares of a flat loop split across threads are multiples of this many elements (whole
#: vectors and cache lines, so the vectorized body runs the same on every share).
PART_QUANTUM = 64


@dataclass(frozen=True)
class View:
    """How a loop nest addresses an operand: element strides per loop axis plus an offset.

    The offset is an Extent, or an i64 value already computed by enclosing loops.
    """

    operand: Operand
    strides: tuple[Extent, ...]
    offset: Extent | ir.Value = Extent.of(0)


def contiguous_view(operand: Operand) -> View:
    """The operand indexed by its own row-major position."""
    return View(operand, tuple(row_major_strides(operand.type.shape)))


def broadcast_strides(shape: Sequence[Dim], target: Sequence[Dim]) -> tuple[Extent, ...]:
    """Row-major strides of `shape` seen as broadcast to `target`: 0 on broadcast/new axes.

    >>> [str(s) for s in broadcast_strides((3, 1), (None, 3, 4))]
    ['0', '1', '0']
    """
    own_strides = row_major_strides(shape)
    lead = len(target) - len(shape)
    strides = [Extent.of(0)] * lead
    for dim, want, stride in zip(shape, target[lead:], own_strides):
        strides.append(Extent.of(0) if dim == 1 and want != 1 else stride)
    return tuple(strides)


def broadcast_view(operand: Operand, shape: Sequence[Dim]) -> View:
    """The operand broadcast (numpy-style) to `shape`."""
    return View(operand, broadcast_strides(operand.type.shape, shape))


def merge_axes(extents: Sequence[Extent], views: Sequence[View]) -> tuple[list[Extent], list[View]]:
    """Drop unit axes and merge neighbours that are contiguous for every view.

    Axes `a` and `a + 1` merge when each view's stride on `a` equals its stride on `a + 1`
    times the extent of `a + 1` (true for contiguous and for broadcast (zero-stride) pairs).
    """
    keep = [a for a, e in enumerate(extents) if e != 1]
    merged_extents = [extents[a] for a in keep]
    merged_strides = [[v.strides[a] for a in keep] for v in views]
    axis = len(merged_extents) - 2
    while axis >= 0:
        inner = merged_extents[axis + 1]
        if all(s[axis] == s[axis + 1] * inner for s in merged_strides):
            merged_extents[axis : axis + 2] = [merged_extents[axis] * inner]
            for s in merged_strides:
                s[axis : axis + 2] = [s[axis + 1]]
        axis -= 1
    new_views = [View(v.operand, tuple(s), v.offset) for v, s in zip(views, merged_strides)]
    return merged_extents, new_views


def emit_nest(
    k: Kernel,
    extents: Sequence[Extent],
    views: Sequence[View],
    body: Callable[[list[ir.Value]], None],
    name: str = "i",
    part: Part | None = None,
) -> None:
    """Emit a loop nest over the box `extents`; `body(offsets)` emits the innermost code.

    `offsets[v]` is view v's element offset at the current index (i64); axes are merged first
    (see `merge_axes`), and offsets advance incrementally from loop to loop. Literal operands
    get offset 0. With a `part`, the outermost (merged) loop runs over that part's share only
    (`backend.parallel`); a nest without loops is then emitted for part 0 alone.
    """
    all_extents, merged = merge_axes(extents, views)
    start = [_start(k, v) for v in merged]
    b = k.b

    def bounds(axis: int) -> tuple[ir.Value | None, ir.Value]:
        count = k.value(all_extents[axis])
        if part is None or axis > 0:
            return None, count
        quantum = PART_QUANTUM if len(all_extents) == 1 else 1
        return part.share(b, count, quantum)

    def level(axis: int, current: list[ir.Value]) -> None:
        if axis == len(all_extents):
            body(current)
            return
        first, end = bounds(axis)
        interleave = _long_body_interleave(b.function) if axis == len(all_extents) - 1 else None
        with for_range(b, end, f"{name}{axis}", start=first, interleave=interleave) as index:
            advanced: dict[tuple[int, Extent], ir.Value] = {}  # views moving alike share it
            moved = []
            for v, o in zip(merged, current):
                stride = v.strides[axis]
                if v.operand.is_literal or stride == 0:
                    moved.append(o)
                    continue
                if (id(o), stride) not in advanced:
                    advanced[id(o), stride] = _advance(k, o, index, stride)
                moved.append(advanced[id(o), stride])
            level(axis + 1, moved)

    if part is not None and not all_extents:
        with b.if_then(b.icmp_signed("==", part.index, ir.Constant(I64, 0))):
            level(0, start)
        return
    level(0, start)


#: An innermost loop whose body, with the vector-math functions it calls (they are inlined),
#: has at least this many instructions runs `LONG_BODY_INTERLEAVE` vectors per iteration.
LONG_BODY = 24
LONG_BODY_INTERLEAVE = 4


def _long_body_interleave(fn: ir.Function) -> Callable[[], int | None]:
    """Judge, once the loop body is emitted, whether it needs interleaving.

    A long body (tanh-form GELU: about 40 dependent vector operations) is a long dependency
    chain; LLVM's cost model does not interleave such a loop, and the out-of-order window then
    holds less than two iterations: the loop ran at the chain's latency, not at the
    throughput of the FMA units. Four independent vectors per iteration made GELU 25-35%
    faster on Zen 3. Short bodies are left to LLVM's cost model.
    """
    first = len(fn.blocks)  # the loop's blocks, and those of its body, come after these

    def decide() -> int | None:
        size = 0
        for block in fn.blocks[first:]:
            for instruction in block.instructions:
                size += 1
                callee = getattr(instruction, "callee", None)
                if isinstance(callee, ir.Function) and callee.blocks:
                    size += sum(len(block.instructions) for block in callee.blocks)
        return LONG_BODY_INTERLEAVE if size >= LONG_BODY else None

    return decide


def emit_map(
    k: Kernel,
    extents: Sequence[Extent],
    out: View,
    ins: Sequence[View],
    fn: Callable[[list[ir.Value]], ir.Value],
    name: str = "i",
    part: Part | None = None,
) -> None:
    """Emit the loop nest storing `fn(loaded ins)` into `out` at every index of the box
    (with a `part`: that part's share of the outermost loop, see `emit_nest`).

    `ins` may include `out`'s operand again (read-modify-write, for reductions).
    """
    b = k.b

    def body(offsets: list[ir.Value]) -> None:
        loaded = [v.operand.load(b, o) for v, o in zip(ins, offsets[1:])]
        out.operand.store(b, offsets[0], fn(loaded))

    emit_nest(k, extents, [out, *ins], body, name, part)


def _start(k: Kernel, view: View) -> ir.Value:
    """A view's offset before the loops: 0 for literals, else its (emitted) offset."""
    if view.operand.is_literal:
        return ir.Constant(I64, 0)
    if isinstance(view.offset, ir.Value):
        return view.offset
    return k.value(view.offset)


def _advance(k: Kernel, offset: ir.Value, index: ir.Value, stride: Extent) -> ir.Value:
    step = index if stride == 1 else k.b.mul(index, k.value(stride))
    return k.add(offset, step)
