"""Why the mode matters: a scaling study of forward vs reverse mode, and of expression swell.

1. Jacobians of y = tanh(W x + b), x in R^n, y in R^m: forward mode needs one tangent pass per
   input (cost grows with n), reverse mode one cotangent pass per output (cost grows with m).
   The table shows derivative-graph size, derive time and evaluation time for both.
2. Expression swell: the nested function f_0 = x, f_{k+1} = sin(f_k) * f_k + x. sympy's
   derivative of f_k, printed without common subexpressions, grows exponentially with k; the
   reverse-mode graph grows linearly, because a graph shares what an expression tree repeats.

`graphc diff --scaling` prints both tables and, when matplotlib is installed, plots them (to
scaling.png unless `--plot FILE` says otherwise).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from graphc.core import constant, placeholder, scalars
from graphc.differentiate import grad, jacobian
from graphc.graph import Graph
from graphc.primitives.elementwise import sin, tanh
from graphc.primitives.linalg import matmul


@dataclass
class ModeCost:
    n: int
    m: int
    mode: str
    nodes: int
    derive_seconds: float
    eval_seconds: float


@dataclass
class SwellCost:
    depth: int
    graph_nodes: int
    reverse_nodes: int
    sympy_ops: int
    sympy_seconds: float


def mode_scaling(
    sizes: Sequence[tuple[int, int]] = ((1, 32), (4, 32), (32, 32), (32, 4), (32, 1)), seed: int = 0
) -> list[ModeCost]:
    """Forward and reverse Jacobian cost for y = tanh(W x + b), one row per (n, m, mode)."""
    rng = np.random.default_rng(seed)
    rows = []
    for n, m in sizes:
        x = placeholder((n,), "float64", name="x")
        weights = constant(rng.standard_normal((m, n)) / np.sqrt(n))
        bias = constant(rng.standard_normal(m))
        f = Graph([x], tanh(matmul(weights, x) + bias))
        point = rng.standard_normal(n)
        for mode in ("forward", "reverse"):
            start = time.perf_counter()
            jac = jacobian(f, mode=mode)
            derive = time.perf_counter() - start
            rows.append(ModeCost(n, m, mode, len(jac), derive, _time_call(jac, point)))
    return rows


def nested_function(depth: int) -> Graph:
    """f_0 = x, f_{k+1} = sin(f_k) * f_k + x, as a graph of one scalar input."""
    x = scalars("x")
    f = x
    for _ in range(depth):
        f = sin(f) * f + x
    return Graph([x], f)


def expression_swell(depths: Sequence[int] = (1, 2, 3, 4, 5, 6)) -> list[SwellCost]:
    """Graph size of f_k and its reverse-mode gradient vs sympy's derivative size."""
    import sympy as sp

    from graphc.symbolic import to_sympy

    rows = []
    for depth in depths:
        f = nested_function(depth)
        expr = to_sympy(f)
        (symbol,) = expr.free_symbols
        start = time.perf_counter()
        derivative = sp.diff(expr, symbol)
        sympy_seconds = time.perf_counter() - start
        rows.append(
            SwellCost(depth, len(f), len(grad(f)), int(sp.count_ops(derivative)), sympy_seconds)
        )
    return rows


def scaling_report(mode_rows: list[ModeCost], swell_rows: list[SwellCost]) -> str:
    """Both studies as text tables."""
    lines = [
        "Forward vs reverse mode: Jacobian of y = tanh(W x + b), x in R^n, y in R^m",
        f"{'n':>4} {'m':>4}  {'mode':<8} {'graph nodes':>11} {'derive':>10} {'evaluate':>10}",
    ]
    for r in mode_rows:
        lines.append(
            f"{r.n:>4} {r.m:>4}  {r.mode:<8} {r.nodes:>11} "
            f"{r.derive_seconds * 1e3:>8.1f}ms {r.eval_seconds * 1e3:>8.2f}ms"
        )
    lines += [
        "",
        "forward mode costs grow with n (one pass per input), reverse mode with m "
        "(one pass per output).",
        "",
        "Expression swell: f0 = x, f(k+1) = sin(fk) * fk + x",
        f"{'depth':>5} {'f nodes':>8} {'grad nodes':>11} {'sympy d/dx ops':>15} {'sympy diff':>11}",
    ]
    for r in swell_rows:
        lines.append(
            f"{r.depth:>5} {r.graph_nodes:>8} {r.reverse_nodes:>11} {r.sympy_ops:>15} "
            f"{r.sympy_seconds * 1e3:>9.1f}ms"
        )
    lines += [
        "",
        "the graph of the gradient grows linearly with depth; the expression tree "
        "grows exponentially.",
    ]
    return "\n".join(lines)


def plot_scaling(mode_rows: list[ModeCost], swell_rows: list[SwellCost], path: str) -> str:
    """Plot both studies to `path` (PNG or SVG, by its suffix) with matplotlib; return the path.

    The file is written atomically: `path` holds its old content or the whole new plot.
    """
    from graphc.errors import GraphcError, MissingDependencyError

    suffix = path.rsplit(".", 1)[-1].lower() if "." in path else ""
    if suffix not in ("png", "svg"):
        raise GraphcError(f"plot_scaling: {path!r} must end in .png or .svg")
    try:
        import matplotlib
    except ImportError as exc:
        raise MissingDependencyError(
            "plotting needs matplotlib: pip install 'graphc[plot]' (the tables "
            "are printed without it)"
        ) from exc
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from graphc.archive import atomic_output

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for mode, marker in (("forward", "o"), ("reverse", "s")):
        rows = [r for r in mode_rows if r.mode == mode]
        labels = [f"n={r.n}\nm={r.m}" for r in rows]
        left.plot(labels, [r.nodes for r in rows], marker=marker, label=mode)
    left.set_ylabel("Jacobian graph nodes")
    left.set_title("forward grows with n, reverse with m")
    left.legend()
    depths = [r.depth for r in swell_rows]
    right.semilogy(
        depths, [r.reverse_nodes for r in swell_rows], marker="o", label="reverse-mode graph nodes"
    )
    right.semilogy(
        depths, [r.sympy_ops for r in swell_rows], marker="s", label="sympy derivative ops"
    )
    right.set_xlabel("nesting depth k")
    right.set_title("expression swell")
    right.legend()
    fig.tight_layout()
    with atomic_output(path) as out:
        fig.savefig(out, format=suffix)
    plt.close(fig)
    return path


def _time_call(graph: Graph, *args: np.ndarray, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        graph(*args)
        times.append(time.perf_counter() - start)
    return float(np.median(times))
