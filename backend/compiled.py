"""`Compiled`: a graph's native code behind a validating Python wrapper.

A call goes through four steps, all before any native code runs:

1. The arguments are validated. An ordinary call (C-contiguous arrays of the exact dtype and
   shape, floats for scalar inputs) is recognized by a few attribute checks
   (`backend.calling.CallPlan.check`); anything else goes through
   `graphc.arguments.check_arguments` (the interpreter's policy): argument count, dtype with
   the documented casts, exact static dims, one batch size; non-contiguous arrays are copied.
2. Outputs are allocated, or the caller's `out=` arrays are checked: exact shape and dtype,
   C-contiguous, writeable, not overlapping an input or each other (on an ordinary call by
   `CallPlan.check_out`, else with an error that says which check failed).
3. The calling thread's pointer array (inputs, outputs, weights, workspace) is updated; its
   workspace for intermediates is reused from the previous call when large enough.
4. `graphc_main(args, batch)` is called through ctypes, which releases the GIL, so other
   Python threads run meanwhile; with `threads=k` a batch-separable graph runs as k calls on
   batch slices.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Sequence
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from graphc.arguments import check_arguments
from graphc.backend import jit, ukernels
from graphc.backend.calling import CallPlan
from graphc.backend.codegen import ENTRY, CodegenOptions, emit_module
from graphc.backend.program import Program
from graphc.backend.workers import WorkerPool
from graphc.errors import InputError
from graphc.graph import Graph
from graphc.types import TensorType, format_shape

#: Rows per thread from which a batch-separable graph runs as one batch slice per thread.
MIN_SLICE_ROWS = 16

#: Workspace bytes per thread above which a batch-separable graph runs its batch in chunks,
#: so that each layer's output is still in cache when the next layer reads it (see
#: `Compiled.chunk_rows`).
CHUNK_WORKSPACE_BYTES = 2 << 20

#: The smallest chunk: fewer rows leave the GEMMs too little work per packed weight panel.
MIN_CHUNK_ROWS = 8

_ENTRY_TYPE = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int64)


class Compiled:
    """A graph compiled to native code; call it like the graph.

    Built by `graphc.compile`, never directly. `compiled(*arrays, out=None)` returns numpy
    arrays equal (to float rounding) to `graph(*arrays)`.

    Attributes:
        graph: the graph that was compiled (after the graph passes).
        program: where each value lives (`backend.program.Program`); it owns the weights.
        object_code: the relocatable object the native code was loaded from.
        from_cache: True when the object code came from the disk cache (LLVM did not run).
        timings: seconds per stage (`lower`, `optimize`, `codegen`, `micro-kernels`, `load`)
            of this compile.
        threads: the number of threads a call may use.
        batch_separable: whether calls can be split across threads (see `backend.separable`).

    >>> import graphc, numpy as np
    >>> from graphc.backend import compile_graph
    >>> x = graphc.placeholder((None, 2), "float64", name="x")
    >>> f = compile_graph(graphc.Graph([x], x * 2.0), cache=False)
    >>> f(np.ones((3, 2))).tolist(), f.workspace_size(1000)
    ([[2.0, 2.0], [2.0, 2.0], [2.0, 2.0]], 0)
    >>> 'define internal void @"k2_mul"' in f.llvm_ir(), "graphc_main:" in f.asm()
    (True, True)
    """

    def __init__(
        self,
        program: Program,
        library: jit.NativeLibrary,
        object_code: bytes,
        options: CodegenOptions,
        *,
        threads: int,
        batch_separable: bool,
        from_cache: bool,
        timings: dict[str, float],
        ir_text: str | None = None,
        optimized_ir: str | None = None,
    ):
        self.program = program
        self.graph: Graph = program.graph
        self.options = options
        self.threads = threads
        self.batch_separable = batch_separable
        self.from_cache = from_cache
        self.timings = timings
        self.object_code = object_code
        self._library = library
        self._entry = _ENTRY_TYPE(library.address(ENTRY))
        self._ir_text = ir_text
        self._optimized_ir = optimized_ir
        self._input_types = self.graph.input_types
        self._input_names = self.graph.input_names
        self._output_types = self.graph.output_types
        self._pool: WorkerPool | None = None
        self._pool_lock = threading.Lock()
        self._workspace_sizes = lru_cache(maxsize=64)(program.layout.size)
        self._plan = CallPlan(
            self._input_types,
            self._output_types,
            [w.ctypes.data for _, w in program.weights],  # the program owns the weights
            self._workspace_sizes,  # not the bound method: that would be a reference cycle
        )

    def __repr__(self) -> str:
        ins = ", ".join(str(t) for t in self._input_types)
        outs = ", ".join(str(t) for t in self._output_types)
        return f"<Compiled ({ins}) -> ({outs}), {len(self.program.kernels)} kernels>"

    # --- calling -----------------------------------------------------------------------------

    def __call__(self, *args: Any, out: Any = None) -> np.ndarray | list[np.ndarray]:
        """Run the native code on validated arguments; see the module docstring."""
        batch = self._plan.check(args)
        given = None if out is None or batch is None else self._plan.check_out(out, args, batch)
        if (
            batch is not None
            and (out is None or given is not None)
            and not self._splits(batch)
            and self.chunk_rows(batch) >= batch
        ):
            frame, outputs, _keep = self._plan.prepare(args, batch, given)
            self._call_frame(frame.address, batch)
            return outputs[0] if self.graph.single_output else outputs
        arrays, batch = check_arguments(
            self._input_types, self._input_names, args, what="compiled graph"
        )
        outputs = self._outputs(batch, arrays, out)
        self._run(arrays, outputs, batch or 0)
        return outputs[0] if self.graph.single_output else outputs

    def _outputs(
        self, batch: int | None, inputs: Sequence[np.ndarray], out: Any
    ) -> list[np.ndarray]:
        shapes = [t.concrete_shape(batch) for t in self._output_types]
        if out is None:
            return [np.empty(s, t.dtype) for s, t in zip(shapes, self._output_types)]
        given = [out] if self.graph.single_output and isinstance(out, np.ndarray) else out
        if not isinstance(given, (list, tuple)) or len(given) != len(shapes):
            what = (
                f"a {type(out).__name__} of {len(out)}"
                if isinstance(out, (list, tuple))
                else f"a {type(out).__name__}"
            )
            raise InputError(
                f"out=: expected {len(shapes)} array(s) for the graph's outputs, got {what}"
            )
        for index, (array, shape, t) in enumerate(zip(given, shapes, self._output_types)):
            _check_out(index, array, shape, t, inputs, given[:index])
        return list(given)

    def _run(self, inputs: Sequence[np.ndarray], outputs: Sequence[np.ndarray], batch: int) -> None:
        pool = self._acquire_pool() if self._splits(batch) else None
        parts = pool.parts if pool is not None else 1
        chunk = self.chunk_rows(-(-batch // parts))
        if pool is None and chunk >= batch:
            frame = self._plan.frame()
            self._plan.fill(frame, inputs, outputs, batch)
            self._call_frame(frame.address, batch)
            return
        batched_in = [t.is_batched for t in self._input_types]

        def fill(frame: Any, lo: int, hi: int) -> None:
            ins = [a[lo:hi] if b else a for a, b in zip(inputs, batched_in)]
            self._plan.fill(frame, ins, [o[lo:hi] for o in outputs], hi - lo)

        try:
            for start in range(0, batch, chunk * parts):  # one chunk per thread at a time
                rows = min(batch - start, chunk * parts)
                bounds = [start + rows * k // parts for k in range(parts + 1)]
                if pool is None:
                    frame = self._plan.frame()
                    fill(frame, bounds[0], bounds[1])
                    self._call_frame(frame.address, rows)
                    continue
                for frame, lo, hi in zip(pool.frames, bounds[:-1], bounds[1:]):
                    fill(frame, lo, hi)
                pool.split([hi - lo for lo, hi in zip(bounds[:-1], bounds[1:])])
        finally:
            if pool is not None:
                pool.release()

    def chunk_rows(self, rows: int) -> int:
        """Rows of the batch one thread runs at a time when it has `rows` to run.

        A batch-separable graph whose workspace for `rows` exceeds `CHUNK_WORKSPACE_BYTES`
        runs in equal chunks that fit it (at least `MIN_CHUNK_ROWS`): the intermediates of a
        CNN on 28 x 28 images (105 KiB per image) then stay in cache from layer to layer,
        where a batch of 256 streams 27 MiB through memory (12% faster on one thread). Other
        graphs run whole.
        """
        if not self.batch_separable or rows <= MIN_CHUNK_ROWS:
            return rows
        if self._workspace_sizes(rows) <= CHUNK_WORKSPACE_BYTES:
            return rows
        per_row = max(1, self._workspace_sizes(MIN_CHUNK_ROWS) // MIN_CHUNK_ROWS)
        chunks = -(-rows // max(MIN_CHUNK_ROWS, CHUNK_WORKSPACE_BYTES // per_row))
        return -(-rows // chunks)

    def _splits(self, batch: int) -> bool:
        """Whether a call of this batch size runs as one batch slice per thread (else the
        threads share the work of each large kernel)."""
        return self.options.batch_slices and batch >= MIN_SLICE_ROWS * self.threads

    def _call_frame(self, frame_address: int, batch: int) -> None:
        """Call the graph on a filled pointer array: with the persistent pool when there is
        one and no other call holds it, else through `graphc_main`."""
        pool = self._acquire_pool()
        if pool is None:
            self._entry(frame_address, batch)
            return
        try:
            pool.run(frame_address, batch)
        finally:
            pool.release()

    def _acquire_pool(self) -> WorkerPool | None:
        """The persistent worker pool, taken for one call; None without threads or when
        another call holds it. Made on first use, and again in a forked child."""
        if self.options.threads <= 1:
            return None
        pool = self._pool
        if pool is None or not pool.usable():
            with self._pool_lock:
                pool = self._pool
                if pool is None or not pool.usable():
                    frames = self._plan.new_frame if self.options.batch_slices else None
                    pool = WorkerPool(self._library, self.threads, frames)
                    self._pool = pool
        return pool if pool.acquire() else None

    def close(self) -> None:
        """Stop and join the worker threads now (a later call starts them again).

        They are also stopped when the object is collected, before its code is freed.
        """
        pool = self._pool
        self._pool = None
        if pool is not None:
            pool.close()

    def workspace_size(self, batch: int = 0) -> int:
        """Bytes of scratch memory a call with this batch size uses."""
        return self._workspace_sizes(batch)

    # --- inspecting --------------------------------------------------------------------------

    def llvm_ir(self, optimized: bool = False) -> str:
        """The module's LLVM IR, as generated or (`optimized=True`) after LLVM's pipeline."""
        if self._ir_text is None:
            target = jit.host()
            module = emit_module(self.program, self.options, target.triple, jit.data_layout())
            self._ir_text = str(module)
        if not optimized:
            return self._ir_text
        if self._optimized_ir is None:
            self._optimized_ir = str(jit.optimize(jit.parse(self._ir_text), self.options.opt_level))
        return self._optimized_ir

    def asm(self) -> str:
        """The host assembly of the optimized module."""
        module = jit.parse(self.llvm_ir(optimized=True))
        return jit.emit_assembly(module, self.options.opt_level)

    # --- exporting ---------------------------------------------------------------------------

    def standalone_object_code(self) -> bytes:
        """The object code with everything it calls defined inside, for export: the module
        compiled again with its micro-kernels in it, when it calls the process's shared ones
        (`backend.ukernels`)."""
        if not ukernels.symbols_in(self.object_code):
            return self.object_code
        options = replace(self.options, shared_kernels=False)
        module = emit_module(self.program, options, jit.host().triple, jit.data_layout())
        return jit.object_code(str(module), options.opt_level)

    def export(self, path: str | Path) -> list[Path]:
        """Write an object file (`.o`) or shared library (`.so`) plus a C header and weights.

        See `graphc.backend.export.export` for the files and the C calling convention.
        """
        from graphc.backend.export import export

        return export(self, path)


def _check_out(
    index: int,
    array: Any,
    shape: tuple[int, ...],
    t: TensorType,
    inputs: Sequence[np.ndarray],
    earlier: Sequence[np.ndarray],
) -> None:
    label = f"out[{index}]"
    if not isinstance(array, np.ndarray):
        raise InputError(f"{label}: expected a numpy array, got {type(array).__name__}")
    if array.dtype != t.dtype:
        raise InputError(f"{label}: expected dtype {t.dtype.name}, got {array.dtype.name}")
    if array.shape != shape:
        raise InputError(
            f"{label}: expected shape {shape} (type [{format_shape(t.shape)}]), got {array.shape}"
        )
    if not array.flags.c_contiguous:
        raise InputError(f"{label}: the array must be C-contiguous")
    if not array.flags.writeable:
        raise InputError(f"{label}: the array is read-only")
    for other, what in [(x, "an input") for x in inputs] + [(e, "another output") for e in earlier]:
        if np.may_share_memory(array, other):
            raise InputError(f"{label}: the array overlaps {what}; pass a separate buffer")
