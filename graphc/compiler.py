"""`graphc.compile`: the core's entry to the LLVM backend.

The backend (and llvmlite) is imported on first use, so importing graphc stays fast and works
where llvmlite is missing; only compiling needs it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from graphc.graph import Graph

if TYPE_CHECKING:
    from graphc.backend.compiled import Compiled


def compile(
    graph: Graph,
    opt_level: int = 3,
    fast_math: bool = False,
    threads: int | None = None,
    cache: bool = True,
    flush_denormals: bool = False,
    inference: bool = False,
) -> Compiled:
    """Compile a graph to native code for this CPU; the result is called like the graph.

    Args:
        graph: the graph to compile. Its batch dimension (None) stays a runtime argument:
            compile once, call with any batch size.
        opt_level: LLVM optimization level, 0 to 3.
        fast_math: let LLVM reorder float sums and fuse multiply-adds (nan and inf keep their
            meaning); results may differ from the interpreter in the last bits.
        threads: None or 1 runs each call on the calling thread; k > 1 gives the compiled
            object k - 1 native worker threads that share large kernels and run large
            batches of a graph that keeps batch entries independent as one slice per
            thread (`Compiled.close()` stops them; so does dropping the object).
        cache: reuse object code from the disk cache (`$GRAPHC_CACHE_DIR`, default
            `~/.cache/graphc`) and store new code there.
        flush_denormals: during each call, treat subnormal floats as zero and flush results
            that would be subnormal to zero (x86 FTZ/DAZ, as XLA and TensorFlow run), for
            speed; the mode is restored when the call returns. Training steps use it.
        inference: the graph only serves inference: the passes also remove training-only
            dropout masks and fold batch normalization into the preceding dense or conv
            weights (`graphc.optimize(inference=True)`; results change by rounding only).
            `Model.predict` compiles this way.

    Returns:
        A `Compiled` object: `compiled(*arrays, out=None)`, `.llvm_ir()`, `.asm()`,
        `.export(path)`.

    >>> import graphc
    >>> from graphc import compiler
    >>> x = graphc.placeholder((None, 3), "float64", name="x")
    >>> f = compiler.compile(graphc.Graph([x], graphc.exp(x) * 2.0), cache=False)
    >>> f([[0.0, 0.0, 0.0]])
    array([[2., 2., 2.]])
    """
    from graphc.backend import compile_graph

    return compile_graph(
        graph,
        opt_level=opt_level,
        fast_math=fast_math,
        threads=threads,
        cache=cache,
        flush_denormals=flush_denormals,
        inference=inference,
    )
