"""Graph -> one LLVM module: one kernel function per node, one entry calling them in order.

The module exports two functions (the entry ABI, also written into exported C headers):

    void    graphc_main(void **args, int64_t batch);   // args: see graphc.backend.program
    int64_t graphc_workspace_size(int64_t batch);      // bytes of scratch graphc_main needs

Kernels are `internal noinline` functions named after their node (`k3_matmul_dense_1`), so
the optimized IR and the assembly keep one readable function per node. Kernels of scalars
(0-d values, e.g. a symbolic gradient of 40 variables has 160) are plain `internal`: LLVM
inlines them into the entry, which makes code generation of such graphs three times faster
(each would otherwise be a function with its own prologue and argument passing).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from llvmlite import ir

from graphc.backend import lowering
from graphc.backend.emitter import Emitter
from graphc.backend.fpenv import emit_flush_denormals, supports_flushing
from graphc.backend.irtypes import I8, I64, PTR, VOID
from graphc.backend.kernel import Kernel, Operand
from graphc.backend.parallel import (
    MIN_POOL_WORK,
    POOL_MAIN,
    POOL_SPLIT,
    POOL_START,
    POOL_STOP,
    Pool,
)
from graphc.backend.program import Home, Program
from graphc.backend.strided import contiguous_view, emit_map
from graphc.core import Primitive

ENTRY = "graphc_main"
WORKSPACE_SIZE = "graphc_workspace_size"


@dataclass(frozen=True)
class CodegenOptions:
    """The options that change the generated code (part of the cache key)."""

    opt_level: int = 3
    fast_math: bool = False
    threads: int = 1  # threads one kernel may use (backend.parallel)
    flush_denormals: bool = False  # FTZ/DAZ during the call (backend.fpenv)
    batch_slices: bool = False  # large batches run as one slice per thread (backend.workers)
    shared_kernels: bool = False  # call the process's GEMM micro-kernels (backend.ukernels)


def emit_module(
    program: Program, options: CodegenOptions, triple: str = "", data_layout: str = ""
) -> ir.Module:
    """The LLVM module of a program.

    With `options.shared_kernels`, the module's `graphc_shared_kernels` attribute is the set
    of micro-kernel symbols it calls, which `backend.ukernels.ensure` must provide.
    """
    module = ir.Module(name=program.graph.name or "graphc")
    module.triple = triple
    module.data_layout = data_layout
    if options.shared_kernels:
        module.graphc_shared_kernels = set()  # type: ignore[attr-defined]
    _Entry(module, program, options).emit()
    _emit_workspace_size(module, program)
    return module


class _Entry:
    """Builds `graphc_main`: loads the argument pointers, calls each kernel, fills copies."""

    def __init__(self, module: ir.Module, program: Program, options: CodegenOptions):
        self.module = module
        self.program = program
        self.options = options
        self.pool = (
            Pool.declare(module, options.threads, options.flush_denormals)
            if options.threads > 1
            else None
        )
        if self.pool is None:  # the kernels are called from the entry itself
            self.function = _function(module, ENTRY, VOID, [PTR, I64], ["args", "batch"])
        else:  # from a body shared by graphc_main and the persistent pool's entry points
            self.function = _function(
                module, "graphc.body", VOID, [PTR, I64, PTR], ["args", "batch", "pool"]
            )
            self.function.linkage = "internal"
        self.args, self.batch = self.function.args[:2]
        self.b = ir.IRBuilder(self.function.append_basic_block("entry"))
        self.slot_pointers: list[ir.Value] = []
        self.pointers: dict[Home, ir.Value] = {}
        self.pool_pointer: ir.Value | None = self.function.args[2] if self.pool else None

    def emit(self) -> None:
        if self.pool is None:
            restore_fp_mode = self._flush_denormals(self.b)
            self._emit_body()
            if restore_fp_mode is not None:
                restore_fp_mode(self.b)
            self.b.ret_void()
            return
        self._emit_body()
        self.b.ret_void()
        self._emit_pool_entries(self.pool)
        self.pool.define()

    def _flush_denormals(self, b: ir.IRBuilder):
        """Emit the FTZ/DAZ setting when asked for; the function restoring it (or None)."""
        if self.options.flush_denormals and supports_flushing(self.module.triple):
            return emit_flush_denormals(b)
        return None

    def _emit_pool_entries(self, pool: Pool) -> None:
        """`graphc_main` with a pool block for the call, and the persistent pool's entries:
        start, stop, run the graph, and (batch-separable graphs) run batch slices of it
        (`backend.parallel`)."""
        body = self.function
        module = self.module

        def entry(name: str, params: list[ir.Type], names: list[str], emit) -> None:
            fn = _function(module, name, VOID, params, names)
            b = ir.IRBuilder(fn.append_basic_block("entry"))
            restore = self._flush_denormals(b)
            emit(b, *fn.args)
            if restore is not None:
                restore(b)
            b.ret_void()

        def main(b: ir.IRBuilder, args: ir.Value, batch: ir.Value) -> None:
            block = pool.call_block(b)
            b.call(body, [args, batch, block])
            pool.stop(b, block)

        def start(b: ir.IRBuilder, block: ir.Value) -> None:
            pool.init(b, block, MIN_POOL_WORK)
            b.call(pool.start_workers, [block])

        def split(b: ir.IRBuilder, block: ir.Value, table: ir.Value) -> None:
            pool.publish(b, block, pool.job(self._slice_part(body, pool)), [b.ptrtoint(table, I64)])

        entry(ENTRY, [PTR, I64], ["args", "batch"], main)
        entry(POOL_START, [PTR], ["pool"], start)
        entry(POOL_STOP, [PTR], ["pool"], pool.stop)
        entry(
            POOL_MAIN,
            [PTR, I64, PTR],
            ["args", "batch", "pool"],
            lambda b, a, n, p: b.call(body, [a, n, p]),
        )
        if self.options.batch_slices:
            entry(POOL_SPLIT, [PTR, PTR], ["pool", "table"], split)

    def _slice_part(self, body: ir.Function, pool: Pool) -> ir.Function:
        """`graphc.slice.part(args, part, parts)`: run the body on batch slice `part`, whose
        pointer array and batch size are entries 2 * part and 2 * part + 1 of the table at
        args[0], with the solo block (its kernels do not share their work)."""
        fn = _function(
            self.module, "graphc.slice.part", VOID, [PTR, I64, I64], ["args", "part", "parts"]
        )
        fn.linkage = "internal"
        args, part, _ = fn.args
        b = ir.IRBuilder(fn.append_basic_block("entry"))
        table = b.inttoptr(b.load(args, typ=I64), PTR, name="table")
        at = b.mul(part, ir.Constant(I64, 2))
        frame = b.load(b.gep(table, [at], source_etype=PTR), typ=PTR, name="frame")
        count = b.gep(table, [b.add(at, ir.Constant(I64, 1))], source_etype=I64)
        solo = pool.solo_block(self.module)
        b.call(body, [frame, b.load(count, typ=I64, name="batch"), b.bitcast(solo, PTR)])
        b.ret_void()
        return fn

    def _emit_body(self) -> None:
        program = self.program
        workspace = self._argument(program.workspace_slot, "workspace")
        offsets, _ = program.layout.emit(self.b, self.batch)
        self.slot_pointers = [
            self.b.gep(workspace, [offset], inbounds=True, name=f"slot{slot}", source_etype=I8)
            for slot, offset in enumerate(offsets)
        ]
        for node in program.kernels:
            graph = program.graph
            out = self._operand(node)
            operands = [self._operand(n) for n in graph.operands(node)]
            scratch = self._scratch(node)
            kernel = build_kernel(
                self.module,
                program.kernel_name(node),
                graph.primitive(node),
                graph.attrs(node),
                out,
                operands,
                self.options,
                graph.node_name(node),
                scratch,
                self.pool,
            )
            self._call(kernel, out, operands + ([scratch] if scratch else []))
        for index, node in program.copies:
            out = self._operand_at(Home("output", index), node, f"out{index}")
            source = self._operand(node)
            kernel = build_copy_kernel(
                self.module, f"copy_out{index}", out, source, self.options, self.pool
            )
            self._call(kernel, out, [source])

    def _argument(self, slot: int, name: str) -> ir.Value:
        address = self.b.gep(self.args, [ir.Constant(I64, slot)], inbounds=True, source_etype=PTR)
        return self.b.load(address, name=name, typ=PTR)

    def _scratch(self, node: int) -> Operand | None:
        if node not in self.program.scratch:
            return None
        home, scratch_type = self.program.scratch[node]
        name = f"{self.program.value_name(node)}.scratch"
        return Operand(scratch_type, name, pointer=self.slot_pointers[home.index])

    def _operand(self, node: int) -> Operand:
        return self._operand_at(self.program.homes[node], node, self.program.value_name(node))

    def _operand_at(self, home: Home, node: int, name: str) -> Operand:
        node_type = self.program.graph.type(node)
        if home.kind == "literal":
            return Operand(node_type, name, literal=self.program.literals[node])
        if home not in self.pointers:
            if home.kind == "workspace":
                self.pointers[home] = self.slot_pointers[home.index]
            else:
                self.pointers[home] = self._argument(self.program.arg_slot(home), name)
        layout = self.program.layouts.get(node, "rows")
        return Operand(node_type, name, pointer=self.pointers[home], layout=layout)

    def _call(self, kernel: ir.Function, out: Operand, operands: list[Operand]) -> None:
        pointers = [o.pointer for o in [out, *operands] if not o.is_literal]
        pool = [self.pool_pointer] if self.pool_pointer is not None else []
        self.b.call(kernel, [*pointers, self.batch, *pool])


def _function(
    module: ir.Module, name: str, ret: ir.Type, params: list[ir.Type], names: list[str]
) -> ir.Function:
    """A `nounwind` function with named parameters."""
    function = ir.Function(module, ir.FunctionType(ret, params), name)
    function.attributes.add("nounwind")
    for param, label in zip(function.args, names):
        param.name = label
    return function


def _kernel_function(
    module: ir.Module,
    name: str,
    out: Operand,
    operands: list[Operand],
    options: CodegenOptions,
    prim: Primitive | None = None,
    attrs: dict | None = None,
    node_name: str | None = None,
    scratch: Operand | None = None,
    pool: Pool | None = None,
) -> tuple[ir.Function, Kernel]:
    """Declare a kernel `void name(ptr out, ptr operands..., [ptr scratch,] i64 batch
    [, ptr pool])` (the pool block when the module runs kernels on several threads)."""
    arrays = [out, *operands, *([scratch] if scratch else [])]
    passed = [o for o in arrays if not o.is_literal]
    params = [PTR] * len(passed) + [I64] + ([PTR] if pool is not None else [])
    function = ir.Function(module, ir.FunctionType(VOID, params), name)
    function.linkage = "internal"
    function.attributes.add("nounwind")
    if out.type.shape != ():  # a scalar's kernel is left to LLVM to inline (see module doc)
        function.attributes.add("noinline")
    params = iter(function.args)
    local: list[Operand] = []
    for operand in arrays:
        if operand.is_literal:
            local.append(operand)
            continue
        param = next(params)
        param.name = operand.name
        param.add_attribute("noalias")
        local.append(replace(operand, pointer=param))
    batch = next(params)
    batch.name = "batch"
    pool_ref = None
    if pool is not None:
        pool_pointer = next(params)
        pool_pointer.name = "pool"
        pool_ref = (pool_pointer, pool)
    builder = ir.IRBuilder(function.append_basic_block("entry"))
    kernel = Kernel(
        b=builder,
        em=Emitter(builder, options.fast_math),
        primitive=prim,
        attrs=dict(attrs or {}),
        out=local[0],
        operands=local[1 : 1 + len(operands)],
        batch=batch,
        name=node_name,
        scratch=local[-1] if scratch else None,
        threads=options.threads,
        pool=pool_ref,
    )
    return function, kernel


def build_kernel(
    module: ir.Module,
    name: str,
    prim: Primitive,
    attrs: dict,
    out: Operand,
    operands: list[Operand],
    options: CodegenOptions,
    node_name: str | None = None,
    scratch: Operand | None = None,
    pool: Pool | None = None,
) -> ir.Function:
    """The kernel function computing one node with its primitive's lowering."""
    function, kernel = _kernel_function(
        module, name, out, operands, options, prim, attrs, node_name, scratch, pool
    )
    lowering.lowering(prim)(kernel)
    kernel.b.ret_void()
    return function


def build_copy_kernel(
    module: ir.Module,
    name: str,
    out: Operand,
    source: Operand,
    options: CodegenOptions,
    pool: Pool | None = None,
) -> ir.Function:
    """A kernel copying (or filling, for a literal) `source` into the output `out`."""
    function, kernel = _kernel_function(module, name, out, [source], options, pool=pool)
    emit_map(
        kernel,
        kernel.out.extents,
        contiguous_view(kernel.out),
        [contiguous_view(kernel.operands[0])],
        lambda values: values[0],
    )
    kernel.b.ret_void()
    return function


def _emit_workspace_size(module: ir.Module, program: Program) -> None:
    function = ir.Function(module, ir.FunctionType(I64, [I64]), WORKSPACE_SIZE)
    function.attributes.add("nounwind")
    (batch,) = function.args
    batch.name = "batch"
    builder = ir.IRBuilder(function.append_basic_block("entry"))
    _, total = program.layout.emit(builder, batch)
    builder.ret(total)
