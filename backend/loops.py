"""Counted loops built from phi nodes and conditional branches.

`for_range` is the only loop construct of the code generator. The loop counts from 0 to a
runtime i64 bound (so a batch-sized loop runs 0 times for an empty batch), tests the bound
before the first iteration, and increments with `nuw nsw` so LLVM can reason about the trip
count and vectorize.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from llvmlite import ir

I64 = ir.IntType(64)


class _LoopID(ir.values.MDValue):
    """A loop's metadata node, `distinct !{!self, <properties>}`: LLVM identifies a loop by a
    distinct node whose first operand is the node itself (llvmlite's `add_metadata` makes
    shared, non-distinct nodes)."""

    def descr(self, buf: list[str]) -> None:
        refs = ", ".join([self.get_reference()] + [op.get_reference() for op in self.operands])
        buf += (f"distinct !{{ {refs} }}", "\n")


def loop_hints(
    module: ir.Module, unroll: int | None, vectorize: bool, interleave: int | None = None
) -> ir.values.MDValue:
    """Loop metadata: unroll by `unroll` at most, never fully; no vectorization if not
    `vectorize`; `interleave` vectors per iteration once vectorized.

    A loop with a small static trip count (packing a 16 x 64 operand of a recurrent layer's
    gradient) is otherwise unrolled completely: thousands of scalar copies per kernel, and
    seconds of code generation for a training step. A loop of strided scalar copies gains
    nothing from the loop vectorizer, which still multiplies its code by the vector width
    and its interleave count (a GEMM's packing of A took 170 ms of code generation per
    kernel that way).
    """
    i1, i32 = ir.IntType(1), ir.IntType(32)
    hints = []
    if unroll is not None:
        hints.append(
            module.add_metadata(
                [ir.MetaDataString(module, "llvm.loop.unroll.count"), ir.Constant(i32, unroll)]
            )
        )
    if not vectorize:
        hints.append(
            module.add_metadata(
                [ir.MetaDataString(module, "llvm.loop.vectorize.enable"), ir.Constant(i1, 0)]
            )
        )
    if interleave is not None:
        count = ir.Constant(i32, interleave)
        hints.append(
            module.add_metadata([ir.MetaDataString(module, "llvm.loop.interleave.count"), count])
        )
    return _LoopID(module, hints, name=str(len(module.metadata)))


@contextmanager
def for_range(
    builder: ir.IRBuilder,
    count: ir.Value,
    name: str = "i",
    start: ir.Value | None = None,
    unroll: int | None = None,
    vectorize: bool = True,
    interleave: int | Callable[[], int | None] | None = None,
) -> Iterator[ir.Value]:
    """Emit `for (i = start; i < count; ++i) { body }`; the `with` body emits the loop body.

    On exit the builder is positioned after the loop. `unroll`: unroll by at most that many
    iterations (never fully, see `loop_hints`); None leaves it to LLVM. `vectorize=False`
    keeps the loop vectorizer away (strided scalar copies). `interleave`: vectors per
    iteration; a callable is asked when the loop closes, so it can judge the emitted body.

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
    back = builder.branch(header)
    if callable(interleave):
        interleave = interleave()
    if unroll is not None or not vectorize or interleave is not None:
        back.set_metadata("llvm.loop", loop_hints(builder.module, unroll, vectorize, interleave))
    builder.position_at_end(done)
