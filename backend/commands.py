"""What `graphc dump FILE --stage llvm|llvm-opt|asm` and `graphc compile FILE -o OUT` do.

The command line (graphc/cli.py) parses the arguments and calls these functions, importing
this module only when such a command runs, so other commands never load llvmlite.
"""

from __future__ import annotations

from pathlib import Path

from graphc.backend.driver import compile_graph
from graphc.errors import GraphcError
from graphc.graph import Graph

#: The backend stages `graphc dump --stage` can print.
STAGES = ("llvm", "llvm-opt", "asm")


def stage_text(
    graph: Graph, stage: str, *, opt_level: int = 3, fast_math: bool = False, cache: bool = True
) -> str:
    """The text of one compilation stage: LLVM IR as generated, after LLVM's pipeline, or asm.

    >>> import graphc
    >>> x = graphc.placeholder((None, 2), name="x")
    >>> text = stage_text(graphc.Graph([x], graphc.exp(x)), "llvm", cache=False)
    >>> "define internal void @\\"k1_exp\\"" in text
    True
    """
    if stage not in STAGES:
        raise GraphcError(f"dump: unknown stage {stage!r}; the stages are {', '.join(STAGES)}")
    compiled = compile_graph(graph, opt_level=opt_level, fast_math=fast_math, cache=cache)
    if stage == "asm":
        return compiled.asm()
    return compiled.llvm_ir(optimized=stage == "llvm-opt")


def compile_file(
    source: str | Path,
    output: str | Path,
    *,
    opt_level: int = 3,
    fast_math: bool = False,
    cache: bool = True,
) -> list[Path]:
    """Compile a saved graph, or a saved model's inference graph, to `output` (.o or .so)
    with its C header; return the files."""
    from graphc.model_commands import load_inference_graph  # the frontend loads only here

    graph = load_inference_graph(str(source))
    compiled = compile_graph(graph, opt_level=opt_level, fast_math=fast_math, cache=cache)
    return compiled.export(output)
