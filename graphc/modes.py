"""`compare_modes`: forward, reverse, symbolic and numeric derivatives side by side.

For one scalar function at one point it reports, per mode, the derivative values, their
agreement with sympy's symbolic derivative, the size of what each mode builds (graph nodes,
sympy operations, function evaluations), and the time to derive and to evaluate. For small
scalar functions it also shows the evaluation traces textbooks print (primal, forward tangent,
reverse adjoint), generated from graphc's own rules.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from graphc.differentiate import (
    DifferentiationError,
    grad,
    jacobian,
    numeric_grad,
    resolve_at,
    resolve_wrt,
)
from graphc.graph import Graph
from graphc.symbolic import diff, input_symbols, to_sympy
from graphc.traces import Traces, build_traces

MODES = ("forward", "reverse", "symbolic", "numeric")


@dataclass
class ModeResult:
    """One mode's derivative and what it cost."""

    mode: str
    gradient: dict[str, np.ndarray]
    size: int
    size_unit: str
    derive_seconds: float
    eval_seconds: float
    max_abs_diff: float = 0.0
    max_rel_diff: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "gradient": {k: _jsonable(v) for k, v in self.gradient.items()},
            "size": self.size,
            "size_unit": self.size_unit,
            "derive_seconds": self.derive_seconds,
            "eval_seconds": self.eval_seconds,
            "max_abs_diff_to_symbolic": self.max_abs_diff,
            "max_rel_diff_to_symbolic": self.max_rel_diff,
        }


@dataclass
class ModeReport:
    """The comparison: `str(report)` is a table, `report.to_dict()` is JSON-ready."""

    expression: str
    at: dict[str, Any]
    value: float
    results: dict[str, ModeResult]
    graph_nodes: int
    traces: Traces | None = None
    notes: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        names = list(self.results["reverse"].gradient)
        lines = [
            f"f = {self.expression}",
            "at " + ", ".join(f"{k} = {_fmt(v)}" for k, v in self.at.items()),
            f"f = {_fmt(self.value)}   (graph: {self.graph_nodes} nodes)",
            "",
        ]
        header = ["mode", *[f"df/d{n}" for n in names], "max |diff|", "size", "derive", "evaluate"]
        rows = [header]
        for mode in MODES:
            r = self.results[mode]
            rows.append(
                [
                    mode,
                    *[_fmt(r.gradient[n]) for n in names],
                    "-" if mode == "symbolic" else f"{r.max_abs_diff:.1e}",
                    f"{r.size} {r.size_unit}",
                    _fmt_time(r.derive_seconds),
                    _fmt_time(r.eval_seconds),
                ]
            )
        lines += _table(rows)
        if self.traces is not None:
            lines += ["", str(self.traces)]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        result = {
            "expression": self.expression,
            "at": {k: _jsonable(v) for k, v in self.at.items()},
            "value": self.value,
            "modes": {m: _jsonable_gradient(r.gradient) for m, r in self.results.items()},
            "stats": {m: _without_gradient(r.to_dict()) for m, r in self.results.items()},
            "graph_nodes": self.graph_nodes,
            "notes": self.notes,
        }
        if self.traces is not None:
            result["traces"] = self.traces.to_dict()
        return result


def compare_modes(
    graph: Graph,
    at: Sequence[Any] | Mapping[str, Any],
    wrt: Any = None,
    *,
    traces: bool | None = None,
    expression: str | None = None,
    repeats: int = 5,
) -> ModeReport:
    """Compare forward, reverse, symbolic (sympy) and numeric derivatives of a scalar graph.

    Args:
        graph: a graph with one scalar float output.
        at: the point: input values in order, or a dict by input name.
        wrt: inputs to differentiate with respect to (see `graphc.grad`); default all floats.
        traces: include the primal/tangent/adjoint traces; by default only for small graphs
            whose inputs are all scalars.
        expression: how to print the function (default: sympy's form of the graph).
        repeats: evaluations per timing (the median is reported).

    >>> import graphc
    >>> x1, x2 = graphc.scalars("x1 x2")
    >>> f = graphc.Graph([x1, x2], graphc.log(x1) + x1 * x2 - graphc.sin(x2))
    >>> report = graphc.compare_modes(f, {"x1": 2.0, "x2": 5.0})
    >>> {m: round(float(r.gradient["x2"]), 4) for m, r in report.results.items()}
    {'forward': 1.7163, 'reverse': 1.7163, 'symbolic': 1.7163, 'numeric': 1.7163}
    """
    indices, _ = resolve_wrt(graph, wrt, what="compare_modes")
    point = [np.asarray(a) for a in resolve_at(graph, at)]
    names = [graph.input_names[i] or f"in{i}" for i in indices]
    if len(graph.outputs) != 1 or graph.output_types[0].shape != ():
        raise DifferentiationError("compare_modes: needs a graph with one scalar output")
    value = float(np.asarray(graph(*point)).reshape(()))

    results = {
        "forward": _graph_mode(
            "forward", lambda: jacobian(graph, "forward", wrt=indices), point, names, repeats
        ),
        "reverse": _graph_mode("reverse", lambda: grad(graph, wrt=indices), point, names, repeats),
        "symbolic": _symbolic_mode(graph, indices, point, names, repeats),
        "numeric": _numeric_mode(graph, indices, point, names, repeats),
    }
    reference = results["symbolic"].gradient
    for result in results.values():
        diffs = [
            np.abs(np.asarray(result.gradient[n], float) - np.asarray(reference[n], float))
            for n in names
        ]
        scale = [np.maximum(np.abs(np.asarray(reference[n], float)), 1e-300) for n in names]
        result.max_abs_diff = float(max((d.max(initial=0) for d in diffs), default=0))
        result.max_rel_diff = float(
            max(((d / s).max(initial=0) for d, s in zip(diffs, scale)), default=0)
        )
    small = all(t.shape == () for t in graph.input_types) and len(graph) <= 60
    want_traces = small if traces is None else traces
    at_named = {graph.input_names[i] or f"in{i}": _jsonable(p) for i, p in enumerate(point)}
    return ModeReport(
        expression=expression or str(to_sympy(graph)),
        at=at_named,
        value=value,
        results=results,
        graph_nodes=len(graph),
        traces=build_traces(graph, point, indices[0]) if want_traces else None,
        notes=["numeric = central finite differences (2 evaluations per input element)"],
    )


# --- the four modes ----------------------------------------------------------------------------


def _graph_mode(
    mode: str, derive: Callable[[], Graph], point: list[np.ndarray], names: list[str], repeats: int
) -> ModeResult:
    start = time.perf_counter()
    derivative = derive()
    derive_seconds = time.perf_counter() - start
    outputs = derivative(*point)
    outputs = outputs if isinstance(outputs, list) else [outputs]
    eval_seconds = _median_time(lambda: derivative(*point), repeats)
    return ModeResult(
        mode, dict(zip(names, outputs)), len(derivative), "nodes", derive_seconds, eval_seconds
    )


def _symbolic_mode(
    graph: Graph, indices: list[int], point: list[np.ndarray], names: list[str], repeats: int
) -> ModeResult:
    import sympy as sp

    start = time.perf_counter()
    symbols = input_symbols(graph)
    expr = to_sympy(graph, symbols)
    derivatives = {}
    for name, i in zip(names, indices):
        sym = np.asarray(symbols[i], dtype=object)
        derivatives[name] = np.asarray(
            np.frompyfunc(lambda s: diff(expr, s), 1, 1)(sym), dtype=object
        )
    derive_seconds = time.perf_counter() - start
    flat_symbols = [s for group in symbols for s in np.asarray(group, dtype=object).ravel()]
    flat_values = [float(v) for p in point for v in np.asarray(p, dtype=float).ravel()]
    substitution = dict(zip(flat_symbols, flat_values))

    def evaluate() -> dict[str, np.ndarray]:
        return {
            name: np.asarray(
                np.frompyfunc(lambda e: float(e.xreplace(substitution)), 1, 1)(d), dtype=float
            )
            for name, d in derivatives.items()
        }

    gradient = evaluate()
    eval_seconds = _median_time(evaluate, repeats)
    size = sum(int(sp.count_ops(e)) for d in derivatives.values() for e in d.ravel())
    return ModeResult("symbolic", gradient, size, "ops", derive_seconds, eval_seconds)


def _numeric_mode(
    graph: Graph, indices: list[int], point: list[np.ndarray], names: list[str], repeats: int
) -> ModeResult:
    result = numeric_grad(graph, point, wrt=indices)
    eval_seconds = _median_time(lambda: numeric_grad(graph, point, wrt=indices), repeats)
    evaluations = 2 * sum(graph.input_types[i].static_size for i in indices)
    return ModeResult("numeric", dict(zip(names, result)), evaluations, "evals", 0.0, eval_seconds)


# --- formatting --------------------------------------------------------------------------------


def _median_time(fn: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def _fmt(value: Any) -> str:
    array = np.asarray(value, dtype=float)
    if array.shape == ():
        return f"{float(array):.6g}"
    return np.array2string(array, precision=6, separator=", ")


def _fmt_time(seconds: float) -> str:
    if seconds == 0:
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def _jsonable(value: Any) -> Any:
    array = np.asarray(value)
    return array.item() if array.shape == () else array.tolist()


def _without_gradient(stats: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in stats.items() if k != "gradient"}


def _jsonable_gradient(gradient: dict[str, np.ndarray]) -> dict[str, Any]:
    return {k: _jsonable(v) for k, v in gradient.items()}
