"""`Kernel`: what a lowering receives, one LLVM function computing one graph node.

A kernel function has the signature `void kN_<primitive>[_<name>](ptr out, ptr in..., i64
batch)`: the node's output buffer, one pointer per operand and the runtime batch size. Pointer
parameters are `noalias`: during a call, the output never overlaps an operand (a node never
gets the workspace slot of a value it reads, and operands are only read), which lets LLVM
vectorize without runtime overlap checks. One-element constants are
not passed at all: their value is an IR literal inside the kernel (an `Operand` with a
`literal`), so `x * 2.0` multiplies by an immediate.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from llvmlite import ir

from graphc.backend.emitter import Emitter
from graphc.backend.extents import Extent, extents, row_major_strides
from graphc.backend.irtypes import I64, constant, load_element, store_element
from graphc.backend.loops import for_range
from graphc.core import Primitive
from graphc.types import TensorType


@dataclass
class Operand:
    """An array a kernel reads or writes: its type and its pointer, or a literal scalar.

    Args:
        type: the array's static type.
        name: a readable IR name (from the graph node's name).
        pointer: the array's address (None for a literal).
        literal: the single value of a one-element constant, emitted as an IR constant.
        layout: how the array is stored: "rows" (C order), or for matmul operands "transposed"
            (the last two axes exchanged) or "panels" (see `backend.gemm_operands`).
    """

    type: TensorType
    name: str
    pointer: ir.Value | None = None
    literal: Any = None
    layout: str = "rows"

    @property
    def dtype(self) -> np.dtype:
        return self.type.dtype

    @property
    def is_literal(self) -> bool:
        return self.pointer is None

    @property
    def extents(self) -> list[Extent]:
        return extents(self.type.shape)

    @property
    def strides(self) -> list[Extent]:
        return row_major_strides(self.type.shape)

    def load(self, builder: ir.IRBuilder, index: ir.Value, name: str = "") -> ir.Value:
        """Element `index` in register form (a literal ignores the index)."""
        if self.is_literal:
            return constant(self.dtype, self.literal)
        return load_element(builder, self.pointer, index, self.dtype, name=name or self.name)

    def store(self, builder: ir.IRBuilder, index: ir.Value, value: ir.Value) -> None:
        assert self.pointer is not None, f"cannot store into the literal {self.name}"
        store_element(builder, value, self.pointer, index, self.dtype)


@dataclass
class Kernel:
    """The context of one lowering: the function being built and the node it computes.

    Attributes:
        b: the builder, positioned in the kernel's body.
        em: scalar emission with the compile options' fast-math flags.
        primitive, attrs, name: the node's primitive, attributes and user-facing name.
        out: the node's output array.
        operands: the node's operand arrays, in operand order.
        batch: the runtime batch size (i64).
        scratch: a private workspace array, for primitives that declare one (see
            `lowering.registry.SCRATCH_RULES`).
        threads: how many threads the kernel may use (`backend.parallel`).
        pool: with threads > 1, (the pool block's pointer, the module's `parallel.Pool`):
            where the kernel publishes the jobs its threads share.
    """

    b: ir.IRBuilder
    em: Emitter
    primitive: Primitive | None
    attrs: dict[str, Any]
    out: Operand
    operands: list[Operand]
    batch: ir.Value
    name: str | None = None
    scratch: Operand | None = None
    threads: int = 1
    pool: tuple[ir.Value, Any] | None = None

    def value(self, extent: Extent | int, name: str = "") -> ir.Value:
        """The i64 value of an extent (a polynomial of the batch) at the current position."""
        return Extent.of(extent).emit(self.b, self.batch, name)

    @contextmanager
    def loop(self, count: Extent | int | ir.Value, name: str) -> Iterator[ir.Value]:
        """A counted loop from 0 to `count`; see `backend.loops.for_range`."""
        bound = count if isinstance(count, ir.Value) else self.value(count)
        with for_range(self.b, bound, name) as index:
            yield index

    def add(self, x: ir.Value, y: ir.Value, name: str = "") -> ir.Value:
        """x + y on i64 offsets, folding a constant 0 away."""
        if isinstance(x, ir.Constant) and x.constant == 0:
            return y
        if isinstance(y, ir.Constant) and y.constant == 0:
            return x
        return self.b.add(x, y, name=name)

    def offset(self, terms: Sequence[tuple[ir.Value, Extent | int]], name: str = "") -> ir.Value:
        """sum(index * stride) over `terms`, skipping zero strides; 0 when nothing is left."""
        total: ir.Value | None = None
        for index, stride in terms:
            stride = Extent.of(stride)
            if stride == 0:
                continue
            term = index if stride == 1 else self.b.mul(index, self.value(stride))
            total = term if total is None else self.b.add(total, term)
        if total is None:
            return ir.Constant(I64, 0)
        if name and isinstance(total, ir.Instruction):
            total.name = name
        return total
