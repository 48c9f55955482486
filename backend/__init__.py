"""graphc's LLVM backend: graphs to native code for the host CPU, through llvmlite.

`graphc.compile(graph)` (which imports this package lazily, so the core never needs llvmlite
to import) returns a `Compiled` callable. The pieces, in pipeline order:

- `program`: where each value lives (arguments, weights, IR literals, workspace slots);
- `codegen` + `lowering/`: one LLVM function per node, from a table of lowerings keyed by
  primitive (`register_lowering`), plus the entry `graphc_main(void **args, int64_t batch)`;
- `jit`: LLVM's optimization pipeline, object code, loading into executable memory;
- `cache`: object code on disk, keyed by graph structure, options, CPU and versions;
- `compiled`: the validating wrapper, inspection (`llvm_ir`, `asm`), `export`;
- `export`: object files / shared libraries with a C header.
"""

from graphc.backend.compiled import Compiled
from graphc.backend.driver import compile_graph
from graphc.backend.lowering import register_lowering, register_scalar

__all__ = ["Compiled", "compile_graph", "register_lowering", "register_scalar"]
