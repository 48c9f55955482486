"""Follow a small model through the compiler: graph -> passes -> LLVM IR -> assembly.

A Keras-style model (4 inputs, Dense(8, relu), Dense(3, softmax)) is turned into native code
the way `model.predict` does it, one stage at a time, printing an excerpt of each:

1. the model's inference graph (`model.graph`: primitives, weights as constants);
2. the optimization passes (`graphc.optimize(graph, level=2, stats=True, verify=True)`): the
   per-pass report and the optimized graph, where each Dense layer became one fused
   matmul + bias + activation node;
3. the LLVM IR graphc generates (`Compiled.llvm_ir()`): one function per graph node and the
   entry `graphc_main` calling them in order;
4. the IR after LLVM's optimizer (`llvm_ir(optimized=True)`): vectorized loops;
5. the host assembly (`Compiled.asm()`);
6. the compiled function run next to the interpreter and `model.predict`, with the time each
   stage took.

The same texts for a saved model come from the command line:
`graphc dump model.graphc --stage llvm|llvm-opt|asm`. docs/passes.md and docs/backend.md
explain each stage; examples/optimize_report.py shows the passes on autodiff graphs.

Run: python examples/inspect_compiler.py          (about two seconds; there is no quick mode)
"""

from __future__ import annotations

import numpy as np

import graphc
from graphc.frontend import Sequential, layers, utils


def excerpt(text: str, start: str, lines: int) -> str:
    r"""`lines` lines of `text` from the first line containing `start` (with a "..." marker
    when the text goes on).

    >>> print(excerpt("a\nb\nc\nd", "b", 2))
    b
    c
        ...
    """
    all_lines = text.splitlines()
    first = next((i for i, line in enumerate(all_lines) if start in line), None)
    if first is None:  # LLVM's output depends on its version and the host CPU
        return f"    (no line contains {start!r} on this machine)"
    shown = all_lines[first : first + lines]
    more = first + lines < len(all_lines)
    return "\n".join(shown + (["    ..."] if more else []))


def function_body(ir: str, name: str) -> list[str]:
    r"""The lines of the LLVM function `name`, from `define` to its closing brace.

    >>> function_body('define void @"f"() {\n  ret void\n}\n', "f")
    ['define void @"f"() {', '  ret void', '}']
    """
    lines = ir.splitlines()
    first = next(i for i, line in enumerate(lines) if f'@"{name}"(' in line and "define" in line)
    last = lines.index("}", first)
    return lines[first : last + 1]


def section(title: str) -> None:
    print(f"\n{'=' * 8} {title} {'=' * (80 - len(title))}\n")


def main() -> dict[str, float]:
    """Print every stage; return the largest differences between the compiled function, the
    interpreter and `model.predict` (all 0 or float rounding)."""
    utils.set_random_seed(0)
    model = Sequential(
        [
            layers.Input((4,), name="features"),
            layers.Dense(8, activation="relu", name="hidden"),
            layers.Dense(3, activation="softmax", name="probs"),
        ],
        name="tiny_mlp",
    )
    graph = model.graph

    section("1. The model's inference graph (model.graph)")
    print(graph.dump())

    section("2. Optimization passes (graphc.optimize, level 2)")
    optimized, report = graphc.optimize(graph, level=2, stats=True, verify=True, batch_size=32)
    print(report, "\n")
    print(optimized.dump())

    section("3. LLVM IR as generated (Compiled.llvm_ir())")
    compiled = graphc.compile(graph, cache=False)  # no cache: every stage runs and is timed
    ir = compiled.llvm_ir()
    functions = [
        line.split("@")[1].split("(")[0].strip('"') for line in ir.splitlines() if "define" in line
    ]
    print(f"{len(ir.splitlines())} lines, {len(functions)} functions:")
    print("   ", ", ".join(functions), "\n")
    entry = function_body(ir, "graphc_main")
    print(f"The entry, graphc_main ({len(entry)} lines), calls one kernel per node:\n")
    print("\n".join([entry[0], *(line for line in entry if " call " in line), "}"]), "\n")
    kernel = next(name for name in functions if "fused_reduce_max" in name)  # the softmax
    body = function_body(ir, kernel)
    print(f"The kernel {kernel} ({len(body)} lines): its signature, and the loop body\n")
    print(body[0], "\n    ...")
    print(excerpt("\n".join(body), "w1.0.body:", 16))  # the walk summing exp(x - max)

    section("4. LLVM IR after LLVM's optimizer (llvm_ir(optimized=True))")
    optimized_ir = compiled.llvm_ir(optimized=True)
    print(f"{len(optimized_ir.splitlines())} lines; a vectorized loop:\n")
    print(excerpt(optimized_ir, "vector.body:", 12))

    section("5. Host assembly (Compiled.asm())")
    asm = compiled.asm()
    print(f"{len(asm.splitlines())} lines; the entry and the first kernel call:\n")
    print(excerpt(asm, "graphc_main:", 26))
    vector_ops = sum(1 for line in asm.splitlines() if line.strip().startswith(("vfmadd", "vmul")))
    print(f"\n{vector_ops} vector multiply(-add) instructions (vfmadd*/vmul*) in the code")

    section("6. Running it")
    x = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    native, interpreted = compiled(x), graph(x)
    predicted = model.predict(x, verbose=0)
    native_vs_interpreter = float(np.max(np.abs(native - interpreted)))
    native_vs_predict = float(np.max(np.abs(native - predicted)))
    print("compiled(x) for 5 samples:\n", np.round(native, 4))
    print(f"largest difference from the interpreter: {native_vs_interpreter:.3g}")
    print(f"largest difference from model.predict:   {native_vs_predict:.3g}")
    stages = ", ".join(f"{name} {1000 * t:.1f}" for name, t in compiled.timings.items())
    print(f"compile stages (ms): {stages}")
    return {"interpreter": native_vs_interpreter, "predict": native_vs_predict}


if __name__ == "__main__":
    main()
