"""The workspace layout: where each intermediate buffer lives in one scratch block.

Intermediates are carved out of a single workspace block whose size depends on the batch.
Slot k starts at offset_k = align(offset_{k-1} + size_{k-1}(N)), 64-byte aligned (a cache line,
and the widest vector load). A slot shared by several buffers with disjoint lifetimes (a
memory plan) is as large as its largest tenant.

The layout is computed twice from this one description: in Python (`Layout.size`, so the
wrapper allocates the workspace) and in IR (`Layout.emit`, so the native entry finds the
slots and `graphc_workspace_size` reports the size to C callers); both agree by construction.
"""

from __future__ import annotations

from collections.abc import Sequence

from llvmlite import ir

from graphc.backend.extents import Extent
from graphc.backend.irtypes import I64

ALIGNMENT = 64


def align(size: int) -> int:
    """`size` rounded up to a multiple of `ALIGNMENT`.

    >>> align(0), align(1), align(64), align(65)
    (0, 64, 64, 128)
    """
    return (size + ALIGNMENT - 1) // ALIGNMENT * ALIGNMENT


class Layout:
    """Slots of the workspace, each given by the byte sizes of its tenants.

    >>> layout = Layout([[Extent.batch() * 40], [Extent.of(12)]])
    >>> layout.offsets(3), layout.size(3)
    ([0, 128], 192)
    """

    def __init__(self, slots: Sequence[Sequence[Extent]]):
        self.slots = [_largest(tenants) for tenants in slots]

    def __len__(self) -> int:
        return len(self.slots)

    def slot_size(self, slot: int, batch: int) -> int:
        return max((t.evaluate(batch) for t in self.slots[slot]), default=0)

    def offsets(self, batch: int) -> list[int]:
        """Each slot's byte offset for a batch size."""
        offsets, end = [], 0
        for slot in range(len(self.slots)):
            offsets.append(end)
            end = align(end + self.slot_size(slot, batch))
        return offsets

    def size(self, batch: int) -> int:
        """The workspace size in bytes for a batch size."""
        if not self.slots:
            return 0
        last = len(self.slots) - 1
        return align(self.offsets(batch)[last] + self.slot_size(last, batch))

    def emit(self, builder: ir.IRBuilder, batch: ir.Value) -> tuple[list[ir.Value], ir.Value]:
        """IR computing (each slot's offset, the total size) from the runtime batch size."""
        offsets: list[ir.Value] = []
        end: ir.Value = ir.Constant(I64, 0)
        for slot, tenants in enumerate(self.slots):
            offsets.append(end)
            size = _emit_max(builder, [t.emit(builder, batch) for t in tenants])
            end = _emit_align(builder, _add(builder, end, size), f"slot{slot}.end")
        return offsets, end


def _largest(tenants: Sequence[Extent]) -> list[Extent]:
    """The tenant sizes that can be the largest for some batch size (others never matter).

    >>> [str(e) for e in _largest([Extent.of(12), Extent.batch() * 4, Extent.batch() * 4])]
    ['12', '4*N']
    """
    kept: list[Extent] = []
    for size in tenants:
        if any(other.covers(size) for other in kept):
            continue
        kept = [other for other in kept if not size.covers(other)] + [size]
    return kept


def _add(builder: ir.IRBuilder, x: ir.Value, y: ir.Value) -> ir.Value:
    if isinstance(x, ir.Constant) and isinstance(y, ir.Constant):
        return ir.Constant(I64, x.constant + y.constant)
    if isinstance(x, ir.Constant) and x.constant == 0:
        return y
    return builder.add(x, y)


def _emit_align(builder: ir.IRBuilder, value: ir.Value, name: str) -> ir.Value:
    if isinstance(value, ir.Constant):
        return ir.Constant(I64, align(value.constant))
    bumped = builder.add(value, ir.Constant(I64, ALIGNMENT - 1))
    return builder.and_(bumped, ir.Constant(I64, -ALIGNMENT), name=name)


def _emit_max(builder: ir.IRBuilder, values: Sequence[ir.Value]) -> ir.Value:
    if not values:
        return ir.Constant(I64, 0)
    largest = values[0]
    for value in values[1:]:
        if isinstance(largest, ir.Constant) and isinstance(value, ir.Constant):
            largest = ir.Constant(I64, max(largest.constant, value.constant))
        else:
            bigger = builder.icmp_signed(">", value, largest)
            largest = builder.select(bigger, value, largest)
    return largest
