"""Kernels on several threads inside a native call (`graphc.compile(..., threads=k)`).

A lowering that can split its work into parts (a GEMM splits its rows or its columns, see
`backend.gemm`; an elementwise kernel its outermost loop) runs through `run_in_parts`. With
one thread, the body is emitted in the kernel as usual. With T threads:

- the first job of a call of the entry (`graphc_main`) starts T - 1 worker threads, which the
  entry joins before it returns (`Pool`): at most one thread start per call, none for a call
  whose kernels are all small, and no code of the module runs once the call has returned
  (the compiled code may then be freed);
- a kernel whose work is large enough *publishes a job* in the pool: its arguments, a job
  number (which part function to run) and a claim word packing (generation, parts, next
  part). Workers and the calling thread claim parts with a compare-and-swap on that word and
  run `<kernel>.part(ptr args, i64 part, i64 parts)` for each; the kernel returns when every
  part is done. Between jobs the workers yield the processor (`sched_yield`);
- claiming instead of assigning part t to thread t matters on a busy machine: a worker the
  system does not schedule in time claims nothing, and the calling thread computes its parts
  instead of waiting. The generation in the claim word keeps a late worker from claiming a
  part of a job that has already finished.

A part is always the same range of the work, whoever runs it, so the results do not depend on
the number of threads or on who ran what.

Handing out a job to running workers costs a few microseconds, so products of fewer than
`MIN_PARALLEL_WORK` multiply-adds run as one part on the calling thread, and elementwise
kernels (`map_in_parts`) need at least `MIN_PARALLEL_ELEMENTS` elements (e.g. the Adam update
of a large weight matrix in a training step). Starting the workers costs far more (about 80 µs
on the benchmark machine, a virtual one), so only a kernel of at least `MIN_START_WORK`
multiply-adds starts them: a call whose kernels are all small never pays for threads.
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

#: Elements below which an elementwise kernel runs on the calling thread only (about 50 µs of
#: memory traffic).
MIN_PARALLEL_ELEMENTS = 1 << 17

#: Multiply-adds from which a kernel starts the workers when they are not running yet (about
#: 400 µs of work).
MIN_START_WORK = 1 << 25


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


#: The pool block, in i64 slots: the claim word, the parts done, the job number, the stop
#: flag, the last generation and whether the workers were started (both written by the
#: calling thread only); then the workers' thread handles and start statuses, and the job's
#: arguments (see `Pool.slots`).
WORD, DONE, JOB, STOP, GENERATION, STARTED, HANDLES = range(7)

#: Most arguments (the batch and the array pointers) a kernel may pass to a job; a kernel with
#: more runs on the calling thread alone.
MAX_JOB_ARGS = 64

#: Bits of the claim word: the next part (low), the number of parts, the generation (high).
PART_BITS = 20
PART_MASK = (1 << PART_BITS) - 1
GENERATION_SHIFT = 2 * PART_BITS


def _i64(value: int) -> ir.Constant:
    return ir.Constant(I64, value)


def _slot(b: ir.IRBuilder, block: ir.Value, index: int | ir.Value) -> ir.Value:
    offset = _i64(index) if isinstance(index, int) else index
    return b.gep(block, [offset], source_etype=I64)


def _store(b: ir.IRBuilder, value: ir.Value, where: ir.Value) -> None:
    """An atomic, sequentially consistent store (an exchange: llvmlite's `store_atomic`
    needs typed pointers)."""
    b.atomic_rmw("xchg", where, value, "seq_cst")


@dataclass
class Pool:
    """The worker threads of one call of a module's entry, and the jobs they can run.

    `declare` creates the functions, `start`/`stop` are emitted in the entry, the kernels
    register their part functions (`job`), and `define` emits the dispatch once every kernel
    is built.
    """

    threads: int
    worker: ir.Function
    run_jobs: ir.Function
    start_workers: ir.Function
    jobs: list[ir.Function]

    @classmethod
    def declare(cls, module: ir.Module, threads: int) -> Pool:
        worker = ir.Function(module, ir.FunctionType(PTR, [PTR]), "graphc.worker")
        run_jobs = ir.Function(module, ir.FunctionType(ir.VoidType(), [PTR]), "graphc.run_jobs")
        start = ir.Function(module, ir.FunctionType(ir.VoidType(), [PTR]), "graphc.start")
        for fn in (worker, run_jobs, start):
            fn.linkage = "internal"
            fn.attributes.add("nounwind")
            fn.args[0].name = "pool"
        return cls(threads, worker, run_jobs, start, [])

    @property
    def args(self) -> int:
        """The slot of the first job argument."""
        return HANDLES + 2 * self.threads

    @property
    def slots(self) -> int:
        return self.args + MAX_JOB_ARGS

    def job(self, part: ir.Function) -> int:
        """Register a part function; its job number."""
        self.jobs.append(part)
        return len(self.jobs) - 1

    def block(self, b: ir.IRBuilder) -> ir.Value:
        """Emit, at the start of the entry: the pool block, no worker started yet."""
        block = b.alloca(I64, size=_i64(self.slots), name="pool")
        for slot in (WORD, DONE, JOB, STOP, GENERATION, STARTED):
            b.store(_i64(0), _slot(b, block, slot))
        return block

    def stop(self, b: ir.IRBuilder, block: ir.Value) -> None:
        """Emit, at the end of the entry: stop the workers, if started, and join them."""
        join = declare(b.module, "pthread_join", ir.IntType(32), [I64, PTR])
        started = b.load(_slot(b, block, STARTED), typ=I64)
        with b.if_then(b.icmp_signed("!=", started, _i64(0))):
            _store(b, _i64(1), _slot(b, block, STOP))
            for index in range(1, self.threads):
                ok = b.load(_slot(b, block, HANDLES + self.threads + index), typ=I64)
                with b.if_then(b.icmp_signed("!=", ok, _i64(0))):
                    handle = b.load(_slot(b, block, HANDLES + index), typ=I64)
                    b.call(join, [handle, ir.Constant(PTR, None)])

    def define(self) -> None:
        """Emit the bodies of the pool's functions (after every kernel)."""
        self._define_start()
        self._define_run_jobs()
        self._define_worker()

    def _define_start(self) -> None:
        """Start the workers (on the first job of a call); a failed start leaves its parts
        to the threads that did start."""
        fn = self.start_workers
        (block,) = fn.args
        b = ir.IRBuilder(fn.append_basic_block("entry"))
        create = declare(b.module, "pthread_create", ir.IntType(32), [PTR, PTR, PTR, PTR])
        for index in range(1, self.threads):
            handle = _slot(b, block, HANDLES + index)
            status = b.call(create, [handle, ir.Constant(PTR, None), self.worker, block])
            ok = b.zext(b.icmp_signed("==", status, ir.Constant(status.type, 0)), I64)
            b.store(ok, _slot(b, block, HANDLES + self.threads + index))
        b.store(_i64(1), _slot(b, block, STARTED))
        b.ret_void()

    def _define_run_jobs(self) -> None:
        """Claim parts of the current job and run them until none is left."""
        fn = self.run_jobs
        (block,) = fn.args
        b = ir.IRBuilder(fn.append_basic_block("entry"))
        claim = fn.append_basic_block("claim")
        try_claim = fn.append_basic_block("try")
        run = fn.append_basic_block("run")
        counted = fn.append_basic_block("counted")
        finished = fn.append_basic_block("finished")
        b.branch(claim)
        b.position_at_end(claim)
        word = b.load_atomic(_slot(b, block, WORD), "seq_cst", 8, typ=I64)
        part = b.and_(word, _i64(PART_MASK), name="part")
        parts = b.and_(b.lshr(word, _i64(PART_BITS)), _i64(PART_MASK), name="parts")
        b.cbranch(b.icmp_unsigned("<", part, parts), try_claim, finished)
        b.position_at_end(try_claim)
        swapped = b.cmpxchg(_slot(b, block, WORD), word, b.add(word, _i64(1)), "seq_cst")
        b.cbranch(b.extract_value(swapped, 1), run, claim)
        b.position_at_end(run)
        job = b.load(_slot(b, block, JOB), typ=I64, name="job")
        args = _slot(b, block, self.args)
        switch = b.switch(job, counted)
        for number, part_fn in enumerate(self.jobs):
            case = fn.append_basic_block(f"job{number}")
            switch.add_case(_i64(number), case)
            b.position_at_end(case)
            b.call(part_fn, [args, part, parts])
            b.branch(counted)
        b.position_at_end(counted)
        b.atomic_rmw("add", _slot(b, block, DONE), _i64(1), "seq_cst")
        b.branch(claim)
        b.position_at_end(finished)
        b.ret_void()

    def _define_worker(self) -> None:
        """A worker: run the jobs published, yield in between, end when told to stop."""
        fn = self.worker
        (block,) = fn.args
        b = ir.IRBuilder(fn.append_basic_block("entry"))
        poll = fn.append_basic_block("poll")
        work = fn.append_basic_block("work")
        idle = fn.append_basic_block("idle")
        done = fn.append_basic_block("stop")
        yield_ = declare(b.module, "sched_yield", ir.IntType(32), [])
        b.branch(poll)
        b.position_at_end(poll)
        stop = b.load_atomic(_slot(b, block, STOP), "seq_cst", 8, typ=I64)
        with b.if_then(b.icmp_signed("!=", stop, _i64(0))):
            b.branch(done)
        word = b.load_atomic(_slot(b, block, WORD), "seq_cst", 8, typ=I64)
        part = b.and_(word, _i64(PART_MASK))
        parts = b.and_(b.lshr(word, _i64(PART_BITS)), _i64(PART_MASK))
        b.cbranch(b.icmp_unsigned("<", part, parts), work, idle)
        b.position_at_end(work)
        b.call(self.run_jobs, [block])
        b.branch(poll)
        b.position_at_end(idle)
        b.call(yield_, [])
        b.branch(poll)
        b.position_at_end(done)
        b.ret(ir.Constant(PTR, None))


def run_in_parts(k: Kernel, work: Extent, body: PartBody, threads: int) -> None:
    """Emit `body` so that `threads` threads share its work when `work` (multiply-adds,
    a polynomial of the batch) is large enough; see the module docstring."""
    arrays = [o for o in [k.out, *k.operands, *([k.scratch] if k.scratch else [])]]
    passed = [o for o in arrays if not o.is_literal]
    if k.pool is None or threads <= 1 or len(passed) + 1 > MAX_JOB_ARGS:
        body(k, None)
        return
    b = k.b
    pointer, pool = k.pool
    part_fn = _part_function(k, arrays, body)
    job = pool.job(part_fn)
    amount = k.value(work)
    running = b.icmp_signed("!=", b.load(_slot(b, pointer, STARTED), typ=I64), _i64(0))
    worth = b.select(running, _i64(MIN_PARALLEL_WORK), _i64(MIN_START_WORK))
    with b.if_else(b.icmp_signed(">=", amount, worth)) as (parallel, alone):
        with parallel:
            with b.if_then(b.not_(running)):
                b.call(pool.start_workers, [pointer])
            b.store(k.batch, _slot(b, pointer, pool.args))
            for slot, operand in enumerate(passed, pool.args + 1):
                b.store(b.ptrtoint(operand.pointer, I64), _slot(b, pointer, slot))
            b.store(_i64(job), _slot(b, pointer, JOB))
            _store(b, _i64(0), _slot(b, pointer, DONE))
            generation = b.add(b.load(_slot(b, pointer, GENERATION), typ=I64), _i64(1))
            b.store(generation, _slot(b, pointer, GENERATION))
            word = b.or_(b.shl(generation, _i64(GENERATION_SHIFT)), _i64(threads << PART_BITS))
            _store(b, word, _slot(b, pointer, WORD))
            b.call(pool.run_jobs, [pointer])
            _wait_done(b, pointer, threads)
        with alone:
            args = b.alloca(I64, size=_i64(1 + len(passed)), name="args")
            b.store(k.batch, _slot(b, args, 0))
            for slot, operand in enumerate(passed, 1):
                b.store(b.ptrtoint(operand.pointer, I64), _slot(b, args, slot))
            b.call(part_fn, [args, _i64(0), _i64(1)])


def _wait_done(b: ir.IRBuilder, block: ir.Value, count: int) -> None:
    """Yield until `count` parts are done (the parts other threads claimed are running)."""
    yield_ = declare(b.module, "sched_yield", ir.IntType(32), [])
    check = b.append_basic_block("parts.wait")
    pause = b.append_basic_block("parts.yield")
    finished = b.append_basic_block("parts.done")
    b.branch(check)
    b.position_at_end(check)
    done = b.load_atomic(_slot(b, block, DONE), "seq_cst", 8, typ=I64)
    b.cbranch(b.icmp_signed("<", done, _i64(count)), pause, finished)
    b.position_at_end(pause)
    b.call(yield_, [])
    b.branch(check)
    b.position_at_end(finished)


def map_in_parts(k: Kernel, elements: Extent, body: PartBody) -> None:
    """Emit an elementwise `body` (a loop nest over `elements` elements that honours its part,
    see `backend.strided.emit_nest`) on `k.threads` threads when it is large enough.

    A kernel whose size is static and small gets no thread code at all (it would only cost
    compile time).
    """
    small = elements.is_constant and elements.constant < MIN_PARALLEL_ELEMENTS
    if k.threads <= 1 or small:
        body(k, None)
        return
    work = elements * (MIN_PARALLEL_WORK // MIN_PARALLEL_ELEMENTS)
    run_in_parts(k, work, body, k.threads)


def _part_function(k: Kernel, arrays: list[Operand], body: PartBody) -> ir.Function:
    """`void <kernel>.part(ptr args, i64 part, i64 parts)`: one part of the work, reading the
    batch and the kernel's array pointers from `args`."""
    module = k.b.module
    fn = ir.Function(
        module, ir.FunctionType(ir.VoidType(), [PTR, I64, I64]), f"{k.b.function.name}.part"
    )
    fn.linkage = "internal"
    fn.attributes.add("nounwind")
    fn.attributes.add("noinline")  # inlined where part=0, parts=1, LLVM unrolls a static GEMM
    args, index, count = fn.args
    args.name, index.name, count.name = "args", "part", "parts"
    b = ir.IRBuilder(fn.append_basic_block("entry"))

    def slot(position: int, typ: ir.Type, label: str) -> ir.Value:
        value = b.load(_slot(b, args, position), typ=I64)
        return b.inttoptr(value, PTR, name=label) if typ is PTR else value

    local: list[Operand] = []
    position = 1
    for array in arrays:
        if array.is_literal:
            local.append(array)
            continue
        local.append(replace(array, pointer=slot(position, PTR, array.name)))
        position += 1
    batch = slot(0, I64, "batch")
    operands = local[1 : 1 + len(k.operands)]
    scratch = local[-1] if k.scratch is not None else None
    emitter = Emitter(b, fast_math=bool(k.em.flags))
    part_kernel = replace(
        k,
        b=b,
        em=emitter,
        out=local[0],
        operands=operands,
        batch=batch,
        scratch=scratch,
        pool=None,
    )
    body(part_kernel, Part(index, count))
    b.ret_void()
    return fn
