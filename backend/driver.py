"""The compile pipeline: plan buffers, look up the disk cache, else lower, optimize, codegen.

Stages (each timed in `Compiled.timings`):

0. passes (Python): graphc's graph optimizations, ending with fusion;
1. plan (Python): `Program` assigns every node a home (argument, weight, literal, workspace),
   sharing workspace slots by `graphc.passes.plan_memory`;
2. lower (Python + llvmlite.ir): `codegen.emit_module` builds one IR module;
3. optimize (LLVM): parse, verify, run the default pipeline at `opt_level`;
4. codegen (LLVM): emit object code for the host CPU;
5. load: map the object code into executable memory.

With `cache=True`, stages 2-4 are skipped when the disk cache has the object code.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from graphc import passes
from graphc.backend import cache as disk_cache
from graphc.backend import jit, ukernels
from graphc.backend.codegen import CodegenOptions, emit_module
from graphc.backend.compiled import Compiled
from graphc.backend.program import Program
from graphc.backend.separable import is_batch_separable
from graphc.errors import GraphcError
from graphc.graph import Graph

T = TypeVar("T")


def compile_graph(
    graph: Graph,
    opt_level: int = 3,
    fast_math: bool = False,
    threads: int | None = None,
    cache: bool = True,
    run_passes: bool = True,
    flush_denormals: bool = False,
    inference: bool = False,
) -> Compiled:
    """Compile `graph` to native code for this CPU; see `graphc.compile`.

    Args:
        run_passes: first optimize the graph with `graphc.passes.optimize` (level 0 for
            `opt_level` 0, 1 for 1, else 2: folding, simplification, CSE, fusion). Tests of
            single lowerings turn it off.

    >>> import graphc
    >>> x = graphc.placeholder((None,), "float64", name="x")
    >>> f = compile_graph(graphc.Graph([x], graphc.exp(x) + 1.0), cache=False)
    >>> f([0.0]).tolist(), [f.graph.primitive(n).name for n in f.graph.outputs]
    ([2.0], ['fused'])
    """
    if not isinstance(graph, Graph):
        raise GraphcError(f"compile: expected a graphc.Graph, got {type(graph).__name__}")
    if opt_level not in (0, 1, 2, 3):
        raise GraphcError(f"compile: opt_level must be 0, 1, 2 or 3, got {opt_level!r}")
    if threads is not None and (not isinstance(threads, int) or threads < 1):
        raise GraphcError(f"compile: threads must be None or a positive int, got {threads!r}")
    timings: dict[str, float] = {}
    clock = _Clock(timings)
    if run_passes:
        level = min(opt_level, 2)
        graph = clock(
            "passes",
            lambda: passes.optimize(graph, level, fast_math=fast_math, inference=inference),
        )
    program = clock("plan", lambda: Program(graph, planned_slots))
    separable = is_batch_separable(graph)
    # threads share the work of large kernels; a separable graph's large batches are split
    options = CodegenOptions(
        opt_level,
        fast_math,
        threads or 1,
        flush_denormals,
        batch_slices=separable and (threads or 1) > 1,
        shared_kernels=True,
    )
    target = jit.host()
    layout = jit.data_layout()
    key = disk_cache.cache_key(
        disk_cache.fingerprint(graph, frozenset(program.literals)),
        program.describe(),
        options,
        target,
        target.versions,
    )
    object_code = disk_cache.load(key) if cache else None
    from_cache = object_code is not None
    ir_text = None
    if object_code is None:
        module = clock("lower", lambda: emit_module(program, options, target.triple, layout))
        ir_text = str(module)
        optimized = clock("optimize", lambda: jit.optimize(jit.parse(ir_text), opt_level))
        object_code = clock("codegen", lambda: jit.emit_object(optimized, opt_level))
        kernels = getattr(module, "graphc_shared_kernels", set())
        if cache:
            disk_cache.store(key, object_code)
    else:
        kernels = ukernels.symbols_in(object_code)
    clock("micro-kernels", lambda: ukernels.ensure(kernels, cache))
    library = clock("load", lambda: jit.NativeLibrary(object_code))
    return Compiled(
        program,
        library,
        object_code,
        options,
        threads=threads or 1,
        batch_separable=separable,
        from_cache=from_cache,
        timings=timings,
        ir_text=ir_text,  # the optimized text is made again on request: printing costs
    )


class _Clock:
    """Runs a stage and records its wall time under a name."""

    def __init__(self, timings: dict[str, float]):
        self.timings = timings

    def __call__(self, stage: str, fn: Callable[[], T]) -> T:
        start = time.perf_counter()
        result = fn()
        self.timings[stage] = time.perf_counter() - start
        return result


def planned_slots(graph: Graph, intermediates: list[int]) -> list[list[int]]:
    """Workspace slots from `graphc.passes.plan_memory`: buffers with disjoint lifetimes share.

    The plan reads the same intermediates the program places (computed nodes that are not
    outputs), live from the step writing them to the last step reading them, in `graph.order`,
    the order the entry calls the kernels in.
    """
    plan = passes.plan_memory(graph)
    if sorted(b.node for b in plan.buffers) != sorted(intermediates):
        raise GraphcError("internal error: the memory plan does not cover the intermediates")
    slots: list[list[int]] = [[] for _ in range(plan.num_slots)]
    for buffer in plan.buffers:
        slots[buffer.slot].append(buffer.node)
    return [nodes for nodes in slots if nodes]
