"""Kernels on several threads inside a native call (`graphc.compile(..., threads=k)`).

A lowering that can split its work into parts (a GEMM splits its rows or its columns, see
`backend.gemm`; an elementwise kernel its outermost loop) runs through `run_in_parts`. With
one thread, the body is emitted in the kernel as usual. With T threads the kernels receive a
*pool block* (i64 slots, see `Pool`) and:

- a kernel whose work is large enough *publishes a job* in the pool: its arguments, a job
  number (which part function to run) and a claim word packing (generation, parts, claimed
  parts as a bit mask). The calling thread has index 0, worker t index t; each claims its own
  part first (part t of every job), then any part still unclaimed, with a compare-and-swap
  on the claim word, and runs `<kernel>.part(ptr args, i64 part, i64 parts)` for it; the
  kernel returns when every part is done;
- part t is always the same range of the work, so with a persistent pool thread t reads the
  same half of a weight matrix on every call, which stays in its core's L2 cache; and a
  worker the system does not schedule in time claims nothing: the calling thread computes
  its part instead of waiting. The generation in the claim word keeps a late worker from
  claiming a part of a job that has already finished;
- idle workers poll the claim word, yielding the processor (`sched_yield`) between polls;
  after `SPIN_POLLS` polls they sleep on a futex (Linux; elsewhere they poll every 100 µs),
  and a job published while some sleep wakes them.

The pool block comes from one of two places:

- `graphc_main` (the exported entry) keeps one on its stack for the call: the first kernel of
  at least `MIN_START_WORK` multiply-adds starts T - 1 workers, which the entry joins before
  it returns. Starting threads costs about 80 µs on the benchmark machine, so a call whose
  kernels are all small never starts any, and no code of the module runs once a call has
  returned;
- a `Compiled` object owns a *persistent* block (`backend.workers`): `graphc_pool_start`
  starts the workers once, `graphc_pool_main` runs the graph with them, `graphc_pool_split`
  runs batch slices of a batch-separable graph as the parts of one job (each slice with the
  *solo* block, a constant whose kernels never share work), and `graphc_pool_stop` joins the
  workers before the code is freed. Its workers are running, so a kernel of
  `MIN_POOL_WORK` multiply-adds already shares its work.

A part is always the same range of the work, whoever runs it, so the results do not depend on
the number of threads or on who ran what.

Elementwise kernels (`map_in_parts`) need at least `MIN_PARALLEL_ELEMENTS` elements (e.g. the
Adam update of a large weight matrix in a training step).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from llvmlite import ir

from graphc.backend.emitter import Emitter, declare
from graphc.backend.extents import Extent
from graphc.backend.fpenv import emit_flush_denormals, supports_flushing
from graphc.backend.irtypes import I64, PTR, VOID
from graphc.backend.kernel import Kernel, Operand

#: Multiply-adds below which a kernel runs on the calling thread only when its call started
#: the workers itself (about 50 µs of work).
MIN_PARALLEL_WORK = 1 << 22

#: Multiply-adds from which a kernel shares its work with the running workers of a persistent
#: pool (a hand-off to a polling worker costs about a microsecond).
MIN_POOL_WORK = 1 << 17

#: Elements below which an elementwise kernel runs on the calling thread only (about 50 µs of
#: memory traffic).
MIN_PARALLEL_ELEMENTS = 1 << 17

#: Multiply-adds from which a kernel starts the workers when they are not running yet (about
#: 400 µs of work).
MIN_START_WORK = 1 << 25

#: Polls a waiting thread makes with a `pause` instruction in between, before it polls with
#: `sched_yield` (about 100 µs: a job or a part usually arrives sooner, and the thread keeps
#: its core from other processes' spinning threads meanwhile).
PAUSE_POLLS = 2000

#: Polls an idle worker makes (the pause polls included) before it sleeps.
SPIN_POLLS = 20000

#: Entry points of a module compiled for several threads (besides `graphc_main`).
POOL_START = "graphc_pool_start"
POOL_STOP = "graphc_pool_stop"
POOL_MAIN = "graphc_pool_main"
POOL_SPLIT = "graphc_pool_split"


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
#: flag, the last generation, whether the workers were started, the work from which a kernel
#: shares (when started), the sleeping workers, the futex word they sleep on, the next worker
#: index; then the workers' thread handles and start statuses, and the job's arguments (see
#: `block_slots`).
WORD, DONE, JOB, STOP, GENERATION, STARTED, MIN_WORK, SLEEPERS, SEQ, NEXT_INDEX, HANDLES = range(11)

#: Most arguments (the batch and the array pointers) a kernel may pass to a job; a kernel with
#: more runs on the calling thread alone.
MAX_JOB_ARGS = 64

#: Bits of the claim word: the claimed parts (a mask, low), the number of parts, the
#: generation (high). A job has at most `PART_BITS` parts.
PART_BITS = 20
PART_MASK = (1 << PART_BITS) - 1
GENERATION_SHIFT = 2 * PART_BITS

#: Linux's futex system call number, by architecture; FUTEX_WAIT_PRIVATE, FUTEX_WAKE_PRIVATE.
FUTEX_SYSCALLS = {"x86_64": 202, "aarch64": 98}
FUTEX_WAIT, FUTEX_WAKE = 128, 129


def block_slots(threads: int) -> int:
    """The i64 slots of the pool block of `threads` threads.

    >>> block_slots(2) == HANDLES + 4 + MAX_JOB_ARGS
    True
    """
    return HANDLES + 2 * threads + MAX_JOB_ARGS


def job_parts(threads: int) -> int:
    """The parts of a job on `threads` threads (one each, at most `PART_BITS`).

    >>> job_parts(2), job_parts(64)
    (2, 20)
    """
    return min(threads, PART_BITS)


def _i64(value: int) -> ir.Constant:
    return ir.Constant(I64, value)


def _slot(b: ir.IRBuilder, block: ir.Value, index: int | ir.Value) -> ir.Value:
    offset = _i64(index) if isinstance(index, int) else index
    return b.gep(block, [offset], source_etype=I64)


def _store(b: ir.IRBuilder, value: ir.Value, where: ir.Value) -> None:
    """An atomic, sequentially consistent store (an exchange: llvmlite's `store_atomic`
    needs typed pointers)."""
    b.atomic_rmw("xchg", where, value, "seq_cst")


def _load(b: ir.IRBuilder, block: ir.Value, slot: int) -> ir.Value:
    return b.load_atomic(_slot(b, block, slot), "seq_cst", 8, typ=I64)


def _free_parts(b: ir.IRBuilder, word: ir.Value) -> tuple[ir.Value, ir.Value]:
    """(the mask of the parts of the claim word's job nobody claimed yet, its parts)."""
    parts = b.and_(b.lshr(word, _i64(PART_BITS)), _i64(PART_MASK), name="parts")
    every = b.sub(b.shl(_i64(1), parts), _i64(1))
    return b.and_(every, b.xor(word, _i64(-1)), name="free"), parts


@dataclass
class Pool:
    """The worker threads of a module's pool blocks, and the jobs they can run.

    `declare` creates the functions, the entry points (`graphc_main` and the persistent
    pool's) use `call_block`, `stop` and `publish`, the kernels register their part functions
    (`job`), and `define` emits the dispatch once every kernel is built.
    """

    threads: int
    worker: ir.Function
    run_jobs: ir.Function
    start_workers: ir.Function
    jobs: list[ir.Function]
    flush_denormals: bool

    @classmethod
    def declare(cls, module: ir.Module, threads: int, flush_denormals: bool = False) -> Pool:
        """The pool's functions (bodies emitted by `define`); with `flush_denormals` the
        workers set FTZ/DAZ for their lifetime, as the entry points do for the call."""
        worker = ir.Function(module, ir.FunctionType(PTR, [PTR]), "graphc.worker")
        run_jobs = ir.Function(module, ir.FunctionType(VOID, [PTR, I64]), "graphc.run_jobs")
        start = ir.Function(module, ir.FunctionType(VOID, [PTR]), "graphc.start")
        for fn in (worker, run_jobs, start):
            fn.linkage = "internal"
            fn.attributes.add("nounwind")
            fn.args[0].name = "pool"
        flush = flush_denormals and supports_flushing(module.triple)
        return cls(threads, worker, run_jobs, start, [], flush)

    @property
    def args(self) -> int:
        """The slot of the first job argument."""
        return HANDLES + 2 * self.threads

    @property
    def slots(self) -> int:
        return block_slots(self.threads)

    def job(self, part: ir.Function) -> int:
        """Register a part function; its job number."""
        self.jobs.append(part)
        return len(self.jobs) - 1

    def init(self, b: ir.IRBuilder, block: ir.Value, min_work: int) -> None:
        """Emit: reset a pool block whose workers are not started; once they are, kernels of
        `min_work` multiply-adds share their work."""
        for slot in range(HANDLES):
            b.store(_i64(0), _slot(b, block, slot))
        b.store(_i64(min_work), _slot(b, block, MIN_WORK))
        b.store(_i64(1), _slot(b, block, NEXT_INDEX))

    def call_block(self, b: ir.IRBuilder) -> ir.Value:
        """Emit, at the start of `graphc_main`: the call's pool block, no worker started."""
        block = b.alloca(I64, size=_i64(self.slots), name="pool")
        block.align = 64
        self.init(b, block, MIN_PARALLEL_WORK)
        return block

    def solo_block(self, module: ir.Module) -> ir.GlobalVariable:
        """A constant block whose kernels never share their work (a batch slice's)."""
        typ = ir.ArrayType(I64, self.slots)
        values = [0] * self.slots
        values[STARTED], values[MIN_WORK] = 1, (1 << 63) - 1
        solo = ir.GlobalVariable(module, typ, "graphc.solo")
        solo.linkage = "internal"
        solo.global_constant = True
        solo.initializer = ir.Constant(typ, values)
        return solo

    def stop(self, b: ir.IRBuilder, block: ir.Value) -> None:
        """Emit: stop the workers, if started, and join them."""
        join = declare(b.module, "pthread_join", ir.IntType(32), [I64, PTR])
        started = b.load(_slot(b, block, STARTED), typ=I64)
        with b.if_then(b.icmp_signed("!=", started, _i64(0))):
            _store(b, _i64(1), _slot(b, block, STOP))
            self._wake(b, block)
            for index in range(1, self.threads):
                ok = b.load(_slot(b, block, HANDLES + self.threads + index), typ=I64)
                with b.if_then(b.icmp_signed("!=", ok, _i64(0))):
                    handle = b.load(_slot(b, block, HANDLES + index), typ=I64)
                    b.call(join, [handle, ir.Constant(PTR, None)])
            b.store(_i64(0), _slot(b, block, STARTED))

    def publish(
        self, b: ir.IRBuilder, block: ir.Value, job: int, arguments: list[ir.Value]
    ) -> None:
        """Emit: publish job `job` with i64 `arguments`, run parts of it on this thread
        (index 0) and wait until every part is done."""
        for slot, value in enumerate(arguments, self.args):
            b.store(value, _slot(b, block, slot))
        b.store(_i64(job), _slot(b, block, JOB))
        _store(b, _i64(0), _slot(b, block, DONE))
        generation = b.add(b.load(_slot(b, block, GENERATION), typ=I64), _i64(1))
        b.store(generation, _slot(b, block, GENERATION))
        parts = job_parts(self.threads)
        word = b.or_(b.shl(generation, _i64(GENERATION_SHIFT)), _i64(parts << PART_BITS))
        _store(b, word, _slot(b, block, WORD))
        with b.if_then(b.icmp_signed("!=", _load(b, block, SLEEPERS), _i64(0))):
            self._wake(b, block)
        b.call(self.run_jobs, [block, _i64(0)])
        _wait_done(b, block, parts)

    def _wake(self, b: ir.IRBuilder, block: ir.Value) -> None:
        """Emit: wake the sleeping workers (they then poll the claim word and the stop flag)."""
        sequence = _slot(b, block, SEQ)
        b.atomic_rmw("add", sequence, _i64(1), "seq_cst")
        number = _futex_syscall(b.module.triple)
        if number is not None:
            syscall = _syscall(b.module)
            b.call(syscall, [_i64(number), sequence, _i64(FUTEX_WAKE), _i64(1 << 30)])

    def define(self) -> None:
        """Emit the bodies of the pool's functions (after every kernel)."""
        self._define_start()
        self._define_run_jobs()
        self._define_worker()

    def _define_start(self) -> None:
        """Start the workers; a failed start leaves its parts to the threads that did start."""
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
        """Claim parts of the current job (one's own part first) and run them until none is
        left."""
        fn = self.run_jobs
        block, index = fn.args
        index.name = "index"
        b = ir.IRBuilder(fn.append_basic_block("entry"))
        claim = fn.append_basic_block("claim")
        try_claim = fn.append_basic_block("try")
        run = fn.append_basic_block("run")
        counted = fn.append_basic_block("counted")
        finished = fn.append_basic_block("finished")
        b.branch(claim)
        b.position_at_end(claim)
        word = _load(b, block, WORD)
        free, parts = _free_parts(b, word)
        b.cbranch(b.icmp_unsigned("!=", free, _i64(0)), try_claim, finished)
        b.position_at_end(try_claim)
        own = b.shl(_i64(1), b.urem(index, parts), name="own")
        lowest = b.and_(free, b.sub(_i64(0), free), name="lowest")
        has_own = b.icmp_unsigned("!=", b.and_(free, own), _i64(0))
        bit = b.select(has_own, own, lowest, name="bit")
        part = b.cttz(bit, ir.Constant(ir.IntType(1), 1))
        swapped = b.cmpxchg(_slot(b, block, WORD), word, b.or_(word, bit), "seq_cst")
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
        """A worker: run the jobs published, poll in between, sleep when idle for long, end
        when told to stop."""
        fn = self.worker
        (block,) = fn.args
        b = ir.IRBuilder(fn.append_basic_block("entry"))
        poll = fn.append_basic_block("poll")
        check = fn.append_basic_block("check")
        work = fn.append_basic_block("work")
        idle = fn.append_basic_block("idle")
        spin = fn.append_basic_block("spin")
        sleep = fn.append_basic_block("sleep")
        wait = fn.append_basic_block("wait")
        woken = fn.append_basic_block("woken")
        done = fn.append_basic_block("stop")
        restore = emit_flush_denormals(b) if self.flush_denormals else None
        spins = b.alloca(I64, name="spins")
        b.store(_i64(0), spins)
        index = b.atomic_rmw("add", _slot(b, block, NEXT_INDEX), _i64(1), "seq_cst")
        b.branch(poll)

        def pending(at: ir.IRBuilder) -> ir.Value:
            """Told to stop, or a job has unclaimed parts."""
            stop = at.icmp_signed("!=", _load(at, block, STOP), _i64(0))
            free, _ = _free_parts(at, _load(at, block, WORD))
            return at.or_(stop, at.icmp_unsigned("!=", free, _i64(0)))

        b.position_at_end(poll)
        b.cbranch(pending(b), check, idle)
        b.position_at_end(check)
        b.store(_i64(0), spins)
        b.cbranch(b.icmp_signed("!=", _load(b, block, STOP), _i64(0)), done, work)
        b.position_at_end(work)
        b.call(self.run_jobs, [block, index])
        b.branch(poll)
        b.position_at_end(idle)
        count = b.add(b.load(spins, typ=I64), _i64(1))
        b.store(count, spins)
        b.cbranch(b.icmp_signed("<", count, _i64(SPIN_POLLS)), spin, sleep)
        b.position_at_end(spin)
        _pause(b, count)
        b.branch(poll)
        b.position_at_end(sleep)
        # announce the sleep before the last look: a job published after that look sees
        # the sleeper and wakes it (the sequence word then differs from `expected`)
        b.atomic_rmw("add", _slot(b, block, SLEEPERS), _i64(1), "seq_cst")
        expected = _load(b, block, SEQ)
        b.cbranch(pending(b), woken, wait)
        b.position_at_end(wait)
        _sleep(b, _slot(b, block, SEQ), expected)
        b.branch(woken)
        b.position_at_end(woken)
        b.atomic_rmw("sub", _slot(b, block, SLEEPERS), _i64(1), "seq_cst")
        b.branch(check)
        b.position_at_end(done)
        if restore is not None:
            restore(b)
        b.ret(ir.Constant(PTR, None))


def _futex_syscall(triple: str) -> int | None:
    """The futex system call's number on a Linux target, else None."""
    if "linux" not in triple:
        return None
    return FUTEX_SYSCALLS.get(triple.split("-")[0])


def _syscall(module: ir.Module) -> ir.Function:
    existing = module.globals.get("syscall")
    if existing is not None:
        return existing
    return ir.Function(module, ir.FunctionType(I64, [I64], var_arg=True), "syscall")


def _sleep(b: ir.IRBuilder, word: ir.Value, expected: ir.Value) -> None:
    """Emit: sleep until the futex `word` is woken (returns at once when it no longer holds
    `expected`); 100 µs without futexes."""
    number = _futex_syscall(b.module.triple)
    if number is None:
        usleep = declare(b.module, "usleep", ir.IntType(32), [ir.IntType(32)])
        b.call(usleep, [ir.Constant(ir.IntType(32), 100)])
        return
    null = ir.Constant(PTR, None)
    b.call(_syscall(b.module), [_i64(number), word, _i64(FUTEX_WAIT), expected, null])


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
    work_fn, job_fn = _part_functions(k, arrays, body)
    job = pool.job(job_fn)
    amount = k.value(work)
    running = b.icmp_signed("!=", b.load(_slot(b, pointer, STARTED), typ=I64), _i64(0))
    shared = b.load(_slot(b, pointer, MIN_WORK), typ=I64)
    worth = b.select(running, shared, _i64(MIN_START_WORK))
    with b.if_else(b.icmp_signed(">=", amount, worth)) as (parallel, alone):
        with parallel:
            with b.if_then(b.not_(running)):
                b.call(pool.start_workers, [pointer])
            values = [k.batch] + [b.ptrtoint(o.pointer, I64) for o in passed]
            pool.publish(b, pointer, job, values)
        with alone:
            b.call(work_fn, [*[o.pointer for o in passed], k.batch, _i64(0), _i64(1)])


def _wait_done(b: ir.IRBuilder, block: ir.Value, count: int) -> None:
    """Poll until `count` parts are done (the parts other threads claimed are running)."""
    polls = b.alloca(I64, name="polls")
    b.store(_i64(0), polls)
    check = b.append_basic_block("parts.wait")
    pause = b.append_basic_block("parts.pause")
    finished = b.append_basic_block("parts.done")
    b.branch(check)
    b.position_at_end(check)
    done = _load(b, block, DONE)
    b.cbranch(b.icmp_signed("<", done, _i64(count)), pause, finished)
    b.position_at_end(pause)
    polled = b.add(b.load(polls, typ=I64), _i64(1))
    b.store(polled, polls)
    _pause(b, polled)
    b.branch(check)
    b.position_at_end(finished)


def _pause(b: ir.IRBuilder, polls: ir.Value) -> None:
    """Emit the wait between two polls: a `pause` instruction (x86) for the first
    `PAUSE_POLLS` polls, then `sched_yield` (another thread may need this core)."""
    yield_ = declare(b.module, "sched_yield", ir.IntType(32), [])
    with b.if_else(b.icmp_signed("<", polls, _i64(PAUSE_POLLS))) as (short, long):
        with short:
            if b.module.triple.startswith(("x86_64", "i686", "i386")):
                b.call(declare(b.module, "llvm.x86.sse2.pause", VOID, []), [])
        with long:
            b.call(yield_, [])


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


def _part_functions(k: Kernel, arrays: list[Operand], body: PartBody) -> tuple[ir.Function, ...]:
    """`<kernel>.work(ptr noalias arrays..., i64 batch, i64 part, i64 parts)`: one part of
    the work; and `void <kernel>.part(ptr args, i64 part, i64 parts)`, the job calling it
    with the batch and the array pointers stored in `args`.

    The arrays stay `noalias` parameters (pointers loaded from memory would not be): without
    that, LLVM keeps reloading operands in the epilogues and packing loops."""
    module = k.b.module
    passed = [o for o in arrays if not o.is_literal]
    name = k.b.function.name
    work = ir.Function(
        module, ir.FunctionType(VOID, [PTR] * len(passed) + [I64, I64, I64]), f"{name}.work"
    )
    work.linkage = "internal"
    work.attributes.add("nounwind")
    work.attributes.add("noinline")  # inlined where part=0, parts=1, LLVM unrolls a static GEMM
    params = iter(work.args)
    local: list[Operand] = []
    for array in arrays:
        if array.is_literal:
            local.append(array)
            continue
        param = next(params)
        param.name = array.name
        param.add_attribute("noalias")
        local.append(replace(array, pointer=param))
    batch, index, count = params
    batch.name, index.name, count.name = "batch", "part", "parts"
    b = ir.IRBuilder(work.append_basic_block("entry"))
    part_kernel = replace(
        k,
        b=b,
        em=Emitter(b, fast_math=bool(k.em.flags)),
        out=local[0],
        operands=local[1 : 1 + len(k.operands)],
        batch=batch,
        scratch=local[-1] if k.scratch is not None else None,
        pool=None,
    )
    body(part_kernel, Part(index, count))
    b.ret_void()

    job = ir.Function(module, ir.FunctionType(VOID, [PTR, I64, I64]), f"{name}.part")
    job.linkage = "internal"
    job.attributes.add("nounwind")
    args, index, count = job.args
    args.name, index.name, count.name = "args", "part", "parts"
    b = ir.IRBuilder(job.append_basic_block("entry"))
    values = [b.load(_slot(b, args, position), typ=I64) for position in range(len(passed) + 1)]
    pointers = [b.inttoptr(v, PTR, name=o.name) for v, o in zip(values[1:], passed)]
    b.call(work, [*pointers, values[0], index, count])
    b.ret_void()
    return work, job
