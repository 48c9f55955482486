"""Counted loops built from phi nodes and conditional branches.

`for_range` is the only loop construct of the code generator. The loop counts from 0 to a
runtime i64 bound (so a batch-sized loop runs 0 times for an empty batch), tests the bound
before the first iteration, and increments with `nuw nsw` so LLVM can reason about the trip
count and vectorize.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from llvmlite import ir

I64 = ir.IntType(64)


@contextmanager
def for_range(
    builder: ir.IRBuilder, count: ir.Value, name: str = "i", start: ir.Value | None = None
) -> Iterator[ir.Value]:
    """Emit `for (i = start; i < count; ++i) { body }`; the `with` body emits the loop body.

    On exit the builder is positioned after the loop.

    >>> from graphc.backend.irtypes import VOID
    >>> m = ir.Module()
    >>> f = ir.Function(m, ir.FunctionType(VOID, [I64]), "f")
    >>> b = ir.IRBuilder(f.append_basic_block("entry"))
    >>> with for_range(b, f.args[0], "i") as i:
    ...     pass
    >>> _ = b.ret_void()
    >>> [line.split("=")[0].strip() for line in str(m).splitlines() if " phi " in line]
    ['%"i"']
    """
    start = ir.Constant(I64, 0) if start is None else start
    before = builder.block
    header = builder.append_basic_block(f"{name}.loop")
    body = builder.append_basic_block(f"{name}.body")
    done = builder.append_basic_block(f"{name}.done")
    builder.branch(header)
    builder.position_at_end(header)
    index = builder.phi(I64, name=name)
    index.add_incoming(start, before)
    builder.cbranch(builder.icmp_signed("<", index, count), body, done)
    builder.position_at_end(body)
    yield index
    following = builder.add(index, ir.Constant(I64, 1), name=f"{name}.next", flags=("nuw", "nsw"))
    index.add_incoming(following, builder.block)
    builder.branch(header)
    builder.position_at_end(done)
