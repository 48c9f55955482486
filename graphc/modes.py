"""`compare_modes`: forward, reverse, symbolic and numeric derivatives side by side.

For one scalar function at one point it reports, per mode, the derivative values, their
agreement with sympy's symbolic derivative, the size of what each mode builds (graph nodes,
sympy operations, function evaluations), and the time to derive and to evaluate. For small
scalar functions it also shows the evaluation traces textbooks print (primal, forward tangent,
reverse adjoint), generated from graphc's own rules.

The symbolic row is the reference the others are compared with. When sympy cannot produce it
(tensors above `MAX_SYMPY_ELEMENTS` elements, nesting deeper than sympy's recursion allows, a
primitive without a sympy form) the row is marked unavailable with the reason, and no
differences are reported. Where sympy's derivative is not a real number at the point (zoo from
1/0, a complex value, nan), it is reported as nan, with a note. In `to_dict()`, nan and ±inf
become null, so the JSON is valid.
"""

from __future__ import annotations

import functools
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
from graphc.symbolic import SympyConversionError, diff, input_symbols, to_sympy
from graphc.traces import Traces, build_traces, check_traceable, json_safe

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
    #: Why the mode gave no result (empty when it did); its gradient is then empty.
    unavailable: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: nan and ±inf become None (null); differences are None without a
        symbolic reference."""
        return json_safe(
            {
                "available": not self.unavailable,
                **({"reason": self.unavailable} if self.unavailable else {}),
                "gradient": {k: _jsonable(v) for k, v in self.gradient.items()},
                "size": self.size,
                "size_unit": self.size_unit,
                "derive_seconds": self.derive_seconds,
                "eval_seconds": self.eval_seconds,
                "max_abs_diff_to_symbolic": self.max_abs_diff,
                "max_rel_diff_to_symbolic": self.max_rel_diff,
            }
        )

    @classmethod
    def missing(cls, mode: str, reason: str) -> ModeResult:
        """A mode that could not run, and why."""
        nan = float("nan")
        return cls(mode, {}, 0, "", 0.0, 0.0, nan, nan, unavailable=reason)


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
            if r.unavailable:
                rows.append([mode, *["unavailable"] * len(names), "-", "-", "-", "-"])
                continue
            rows.append(
                [
                    mode,
                    *[_fmt(r.gradient[n]) for n in names],
                    "-"
                    if mode == "symbolic" or np.isnan(r.max_abs_diff)
                    else f"{r.max_abs_diff:.1e}",
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
        """JSON-ready: `json.dumps(report.to_dict(), allow_nan=False)` works, because nan and
        ±inf values are None (null); an unavailable mode's gradient is None too."""
        result = {
            "expression": self.expression,
            "at": {k: _jsonable(v) for k, v in self.at.items()},
            "value": self.value,
            "modes": {
                m: None if r.unavailable else _jsonable_gradient(r.gradient)
                for m, r in self.results.items()
            },
            "stats": {m: _without_gradient(r.to_dict()) for m, r in self.results.items()},
            "graph_nodes": self.graph_nodes,
            "notes": self.notes,
        }
        if self.traces is not None:
            result["traces"] = self.traces.to_dict()
        return json_safe(result)


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
            whose inputs are all scalars. Traces print one number per value, so True with a
            tensor input raises DifferentiationError.
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
    if traces:
        check_traceable(graph, indices[0])
    value = float(np.asarray(graph(*point)).reshape(()))

    notes: list[str] = []
    results = {
        "forward": _graph_mode(
            "forward", lambda: jacobian(graph, "forward", wrt=indices), point, names, repeats
        ),
        "reverse": _graph_mode("reverse", lambda: grad(graph, wrt=indices), point, names, repeats),
        "symbolic": _symbolic_mode(graph, indices, point, names, repeats, notes),
        "numeric": _numeric_mode(graph, indices, point, names, repeats),
    }
    _compare_with_symbolic(results, names)
    small = all(t.shape == () for t in graph.input_types) and len(graph) <= 60
    want_traces = small if traces is None else traces
    at_named = {graph.input_names[i] or f"in{i}": _jsonable(p) for i, p in enumerate(point)}
    notes.append("numeric = central finite differences (2 evaluations per input element)")
    return ModeReport(
        expression=expression or _expression_text(graph),
        at=at_named,
        value=value,
        results=results,
        graph_nodes=len(graph),
        traces=build_traces(graph, point, indices[0]) if want_traces else None,
        notes=notes,
    )


def _compare_with_symbolic(results: dict[str, ModeResult], names: list[str]) -> None:
    """Fill in each mode's largest difference to the symbolic derivative (nan without one)."""
    if results["symbolic"].unavailable:
        for result in results.values():
            result.max_abs_diff = result.max_rel_diff = float("nan")
        return
    reference = results["symbolic"].gradient
    for result in results.values():
        if result.unavailable:
            continue
        with np.errstate(all="ignore"):  # inf - inf at singular points: nan, shown as "-"
            diffs = [
                np.abs(np.asarray(result.gradient[n], float) - np.asarray(reference[n], float))
                for n in names
            ]
            scale = [np.maximum(np.abs(np.asarray(reference[n], float)), 1e-300) for n in names]
            result.max_abs_diff = float(max((d.max(initial=0) for d in diffs), default=0))
            result.max_rel_diff = float(
                max(((d / s).max(initial=0) for d, s in zip(diffs, scale)), default=0)
            )


def _expression_text(graph: Graph) -> str:
    """sympy's form of the graph, or a description when sympy cannot give one."""
    try:
        return str(to_sympy(graph))
    except (SympyConversionError, RecursionError):
        return graph.name or f"a graph of {len(graph)} nodes"


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
    graph: Graph,
    indices: list[int],
    point: list[np.ndarray],
    names: list[str],
    repeats: int,
    notes: list[str],
) -> ModeResult:
    """sympy's derivative, or an unavailable row saying why sympy cannot give it."""
    _warm_up_sympy()
    try:
        return _symbolic_derivative(graph, indices, point, names, repeats, notes)
    except SympyConversionError as exc:
        reason = str(exc)
    except RecursionError:
        reason = (
            f"sympy's recursion limit was exceeded: the expression nests too deeply for sympy "
            f"({len(graph)} graph nodes); the other modes do not recurse"
        )
    notes.append(f"symbolic: unavailable: {reason}")
    return ModeResult.missing("symbolic", reason)


@functools.cache
def _warm_up_sympy() -> None:
    """Run one small conversion and derivative, once per process, before anything is timed.

    The first derivative pays for sympy's and graphc's first-use costs (158 ms against 5 ms
    for the next new expression); without this, the first report's symbolic derive time
    measures that. The symbol's name is one no user expression has, so sympy's result cache
    does not make a later derivative look faster than it is.
    """
    import sympy as sp

    from graphc.core import placeholder
    from graphc.primitives.elementwise import exp, log, sin

    x = placeholder((), "float64", name="graphc_warm_up")
    graph = Graph([x], log(x) + x * sin(x) - exp(x) / x)
    (symbol,) = input_symbols(graph)
    derivative = diff(to_sympy(graph, [symbol]), symbol)
    float(derivative.xreplace({symbol: 1.5}))
    sp.count_ops(derivative)


def _symbolic_derivative(
    graph: Graph,
    indices: list[int],
    point: list[np.ndarray],
    names: list[str],
    repeats: int,
    notes: list[str],
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
                np.frompyfunc(lambda e: e.xreplace(substitution), 1, 1)(d), dtype=object
            )
            for name, d in derivatives.items()
        }

    values = evaluate()
    gradient = {name: _real_values(v) for name, v in values.items()}
    notes += _not_real_notes(values, gradient)
    eval_seconds = _median_time(
        lambda: {n: _real_values(v) for n, v in evaluate().items()}, repeats
    )
    size = sum(int(sp.count_ops(e)) for d in derivatives.values() for e in d.ravel())
    return ModeResult("symbolic", gradient, size, "ops", derive_seconds, eval_seconds)


def _real_values(values: np.ndarray) -> np.ndarray:
    """sympy numbers as floats; what is not a real number (zoo, I, nan) becomes nan, as the
    graph modes give nan where the derivative does not exist. oo stays inf."""
    return np.asarray(np.frompyfunc(_real_or_nan, 1, 1)(values), dtype=float)


def _real_or_nan(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):  # zoo, complex numbers, unevaluated expressions
        return float("nan")


def _not_real_notes(values: dict[str, np.ndarray], gradient: dict[str, np.ndarray]) -> list[str]:
    notes = []
    for name, exact in values.items():
        bad = [e for e, g in zip(exact.ravel(), gradient[name].ravel()) if np.isnan(g)]
        if bad:
            shown = sorted({str(e)[:40] for e in bad})
            notes.append(
                f"symbolic: df/d{name} is not a real number at this point "
                f"(sympy gives {', '.join(shown[:3])}); reported as nan"
            )
    return notes


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
