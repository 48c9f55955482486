"""One kernel on several threads inside a native call (`graphc.compile(..., threads=k)`).

A lowering that can split its work into parts (a GEMM splits its rows or its columns, see
`backend.gemm`) runs through `run_in_parts`. With one thread, the body is emitted in the
kernel as usual. With T threads it is emitted into a second function, `<kernel>.part(ptr
context)`, which reads the kernel's arguments and its part (t, T) from a context block; the
kernel fills T contexts, starts T - 1 threads on the part function (`pthread_create`), runs
part 0 itself and joins the others. A thread that cannot be started has its part run on the
calling thread instead, so the result never depends on it.

Starting a thread costs about 10 µs, so products of fewer than `MIN_PARALLEL_WORK`
multiply-adds run as one part on the calling thread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from llvmlite import ir

from graphc.backend.emitter import Emitter, declare
from graphc.backend.extents import Extent
from graphc.backend.irtypes import I64, PTR
from graphc.backend.kernel import Kernel, Operand

#: Multiply-adds below which a kernel runs on the calling thread only (about 50 µs of work).
MIN_PARALLEL_WORK = 1 << 22


@dataclass(frozen=True)
class Part:
    """Which share of a kernel's work the code computes: part `index` of `count` (i64)."""

    index: ir.Value
    count: ir.Value

    def share(self, b: ir.IRBuilder, total: ir.Value, quantum: int) -> tuple[ir.Value, ir.Value]:
        """This part's range [begin, end) of `total` items, cut at multiples of `quantum`
        (whole tiles, so every part computes exactly what one thread would)."""
        units = b.sdiv(b.add(total, ir.Constant(I64, quantum - 1)), ir.Constant(I64, quantum))

        def bound(index: ir.Value) -> ir.Value:
            at = b.mul(b.sdiv(b.mul(units, index), self.count), ir.Constant(I64, quantum))
            return b.select(b.icmp_signed("<", at, total), at, total)

        return bound(self.index), bound(b.add(self.index, ir.Constant(I64, 1)))


#: `body(kernel, part)` emits a lowering's code for one part (None: all the work).
PartBody = Callable[[Kernel, "Part | None"], None]


def run_in_parts(k: Kernel, work: Extent, body: PartBody, threads: int) -> None:
    """Emit `body` so that `threads` threads share its work when `work` (multiply-adds,
    a polynomial of the batch) is large enough; see the module docstring."""
    if threads <= 1:
        body(k, None)
        return
    arrays = [o for o in [k.out, *k.operands, *([k.scratch] if k.scratch else [])]]
    passed = [o for o in arrays if not o.is_literal]
    slots = len(passed) + 3  # the pointers, batch, part index, part count
    b = k.b
    contexts = b.alloca(I64, size=ir.Constant(I64, slots * threads), name="contexts")
    handles = b.alloca(I64, size=ir.Constant(I64, threads), name="threads")
    part_fn = _part_function(k, arrays, slots, body)

    def context(index: int, count: int) -> ir.Value:
        start = b.gep(contexts, [ir.Constant(I64, index * slots)], source_etype=I64)
        values = [o.pointer for o in passed] + [k.batch, ir.Constant(I64, index)]
        for slot, value in enumerate([*values, ir.Constant(I64, count)]):
            if isinstance(value.type, ir.PointerType):
                value = b.ptrtoint(value, I64)
            b.store(value, b.gep(start, [ir.Constant(I64, slot)], source_etype=I64))
        return start

    module = b.module
    create = declare(module, "pthread_create", ir.IntType(32), [PTR, PTR, PTR, PTR])
    join = declare(module, "pthread_join", ir.IntType(32), [I64, PTR])
    big = b.icmp_signed(">=", k.value(work), ir.Constant(I64, MIN_PARALLEL_WORK))
    with b.if_else(big) as (parallel, alone):
        with parallel:
            started = []
            for index in range(1, threads):
                handle = b.gep(handles, [ir.Constant(I64, index)], source_etype=I64)
                args = [handle, ir.Constant(PTR, None), part_fn, context(index, threads)]
                status = b.call(create, args)
                started.append(
                    (index, handle, b.icmp_signed("==", status, ir.Constant(status.type, 0)))
                )
            b.call(part_fn, [context(0, threads)])
            for index, handle, ok in started:
                with b.if_else(ok) as (joined, inline):
                    with joined:
                        b.call(join, [b.load(handle, typ=I64), ir.Constant(PTR, None)])
                    with inline:
                        b.call(part_fn, [context(index, threads)])
        with alone:
            b.call(part_fn, [context(0, 1)])


def _part_function(k: Kernel, arrays: list[Operand], slots: int, body: PartBody) -> ir.Function:
    """`ptr <kernel>.part(ptr context)`: the body for the part named in the context."""
    module = k.b.module
    name = f"{k.b.function.name}.part"
    fn = ir.Function(module, ir.FunctionType(PTR, [PTR]), name)
    fn.linkage = "internal"
    fn.attributes.add("nounwind")
    (context,) = fn.args
    context.name = "context"
    b = ir.IRBuilder(fn.append_basic_block("entry"))

    def slot(index: int, typ: ir.Type, label: str) -> ir.Value:
        value = b.load(b.gep(context, [ir.Constant(I64, index)], source_etype=I64), typ=I64)
        return b.inttoptr(value, PTR, name=label) if typ is PTR else value

    local: list[Operand] = []
    position = 0
    for array in arrays:
        if array.is_literal:
            local.append(array)
            continue
        local.append(replace(array, pointer=slot(position, PTR, array.name)))
        position += 1
    batch = slot(position, I64, "batch")
    part = Part(slot(position + 1, I64, "part"), slot(position + 2, I64, "parts"))
    operands = local[1 : 1 + len(k.operands)]
    scratch = local[-1] if k.scratch is not None else None
    emitter = Emitter(b, fast_math=bool(k.em.flags))
    part_kernel = replace(
        k, b=b, em=emitter, out=local[0], operands=operands, batch=batch, scratch=scratch
    )
    body(part_kernel, part)
    b.ret(ir.Constant(PTR, None))
    return fn
