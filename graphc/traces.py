"""Evaluation traces of a small scalar function: primal, forward tangent and reverse adjoint.

The numbering follows the autodiff literature (Griewank & Walther; Baydin et al., "Automatic
differentiation in machine learning: a survey", table 2): n inputs are v₋ₙ₊₁ … v₀, then the
intermediate values v₁, v₂, … by depth (the longest path from an input), ties in graph order.
Depth, not the order the graph was built in, is what makes the textbook's numbering come out:
for ln(x1) + x1*x2 - sin(x2), the three depth-1 values ln v₋₁, v₋₁v₀ and sin v₀ are v₁…v₃,
then v₄ = v₁ + v₂ and v₅ = v₄ - v₃. The adjoint trace visits the values in the reverse of
that order. Each row's formula is produced by graphc itself: the node's
primitive (primal), its jvp rule (tangent) or its vjp rule (adjoint) applied to symbolic
placeholders and printed through sympy, so the trace shows exactly what graphc computes.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass
from typing import Any

import numpy as np

from graphc.autodiff import JVP_RULES, VJP_RULES, Zero, is_differentiable_type
from graphc.core import Value, constant_p, input_p, placeholder
from graphc.differentiate import DifferentiationError, push_tangents, replay
from graphc.graph import Graph

_SUBSCRIPTS = str.maketrans("-0123456789", "₋₀₁₂₃₄₅₆₇₈₉")
DOT, BAR = "\u0307", "\u0304"  # combining dot above (tangent), combining macron (adjoint)


@dataclass
class TraceRow:
    name: str
    formula: str
    value: float


@dataclass
class Traces:
    """The three traces; `str()` prints them as tables."""

    seed: str
    primal: list[TraceRow]
    tangent: list[TraceRow]
    adjoint: list[TraceRow]

    def __str__(self) -> str:
        parts = [
            ("Primal trace", self.primal),
            (f"Forward (tangent) trace, seeded with d{self.seed} = 1", self.tangent),
            ("Reverse (adjoint) trace", self.adjoint),
        ]
        lines: list[str] = []
        for title, rows in parts:
            lines += [title] + _rows_text(rows) + [""]
        return "\n".join(lines).rstrip()

    def to_dict(self) -> dict[str, Any]:
        def rows(items: list[TraceRow]) -> list[dict[str, Any]]:
            return [
                {"name": r.name, "formula": r.formula, "value": json_safe(r.value)} for r in items
            ]

        return {
            "seed": self.seed,
            "primal": rows(self.primal),
            "tangent": rows(self.tangent),
            "adjoint": rows(self.adjoint),
        }


def json_safe(data: Any) -> Any:
    """`data` with every nan and ±inf float replaced by None, so `json.dumps(...,
    allow_nan=False)` succeeds: bare NaN and Infinity are not JSON, null is.

    >>> json_safe({"a": [1.0, float("nan")], "b": float("-inf")})
    {'a': [1.0, None], 'b': None}
    """
    if isinstance(data, dict):
        return {k: json_safe(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [json_safe(v) for v in data]
    if isinstance(data, (float, np.floating)) and not np.isfinite(data):
        return None
    return data


def build_traces(graph: Graph, point: list[np.ndarray], seed_input: int = 0) -> Traces:
    """The traces of a scalar-output graph of scalar inputs at `point`, seeding one input.

    >>> import graphc
    >>> x1, x2 = graphc.scalars("x1 x2")
    >>> f = graphc.Graph([x1, x2], graphc.log(x1) + x1 * x2 - graphc.sin(x2))
    >>> [(r.name, r.formula) for r in build_traces(f, [2.0, 5.0]).primal[4:7]]
    [('v₃', 'sin(v₀)'), ('v₄', 'v₁ + v₂'), ('v₅', 'v₄ - v₃')]
    """
    check_traceable(graph, seed_input)
    order = evaluation_order(graph)
    names = _variable_names(graph, order)
    primal_values = _evaluate_nodes(graph, point)
    numbered = [n for n in order if n in names]

    primal = [
        TraceRow(names[n], _primal_formula(graph, n, names), primal_values[n]) for n in numbered
    ]
    output = graph.outputs[0]
    primal.append(TraceRow("y", names[output], primal_values[output]))

    seeds = [1.0 if i == seed_input else 0.0 for i in range(len(graph.inputs))]
    tangent_values = _tangent_values(graph, point, seeds)
    tangent = [
        TraceRow(_dot(names[n]), _tangent_formula(graph, n, names), tangent_values[n])
        for n in numbered
    ]
    tangent.append(TraceRow(_dot("y"), _dot(names[output]), tangent_values[output]))

    adjoint = _adjoint_rows(graph, order, names, primal_values)
    seed_name = graph.input_names[seed_input] or f"in{seed_input}"
    return Traces(seed_name, primal, tangent, adjoint)


def check_traceable(graph: Graph, seed_input: int = 0) -> None:
    """Raise DifferentiationError unless `graph` is a scalar function of scalar inputs: a trace
    prints one number per value."""
    tensors = [
        f"{graph.input_names[i] or f'in{i}'}: {t}"
        for i, t in enumerate(graph.input_types)
        if t.shape != ()
    ]
    if tensors:
        raise DifferentiationError(
            f"evaluation traces are for scalar inputs only (one number per row); the graph has "
            f"tensor inputs {tensors}. Use traces=False (the default for tensor inputs)"
        )
    if len(graph.outputs) != 1 or graph.output_types[0].shape != ():
        raise DifferentiationError("evaluation traces need a graph with one scalar output")
    if not 0 <= seed_input < len(graph.inputs) or not is_differentiable_type(
        graph.input_types[seed_input]
    ):
        raise DifferentiationError(
            f"evaluation traces: the seeded input must be a float input of the graph, got "
            f"input {seed_input}"
        )


# --- naming ------------------------------------------------------------------------------------


def evaluation_order(graph: Graph) -> list[int]:
    """The inputs, then every other node by depth (longest path from an input), ties in
    graph order: the order in which the trace numbers and evaluates the values.

    Constants have depth 0 and do not lengthen a path; they are not numbered.
    """
    depth: dict[int, int] = {}
    for node in graph.order:
        if graph.primitive(node) in (input_p, constant_p):
            depth[node] = 0
        else:
            depth[node] = 1 + max((depth[s] for s in graph.operands(node)), default=0)
    position = {node: i for i, node in enumerate(graph.order)}
    inner = [n for n in graph.order if graph.primitive(n) is not input_p]
    return list(graph.inputs) + sorted(inner, key=lambda n: (depth[n], position[n]))


def _variable_names(graph: Graph, order: list[int]) -> dict[int, str]:
    """v₋ₙ₊₁ … v₀ for the inputs, then v₁, v₂, … for each computed (non-constant) node."""
    n = len(graph.inputs)
    names = {node: _v(i - n + 1) for i, node in enumerate(graph.inputs)}
    counter = 0
    for node in order:
        if node not in names and graph.primitive(node) is not constant_p:
            counter += 1
            names[node] = _v(counter)
    return names


def _v(index: int) -> str:
    return "v" + str(index).translate(_SUBSCRIPTS)


def _dot(name: str) -> str:
    return name[0] + DOT + name[1:]


def _bar(name: str) -> str:
    return name[0] + BAR + name[1:]


# --- formulas: each node's rule applied to named placeholders ---------------------------------


def _operand_stand_ins(graph: Graph, node: int, names: dict[int, str]) -> list[Value]:
    """Scalar placeholders named after the operands (constants stay constants)."""
    stand_ins = []
    for s in graph.operands(node):
        if graph.primitive(s) is constant_p:
            stand_ins.append(replay_constant(graph, s))
        else:
            stand_ins.append(placeholder((), graph.type(s).dtype, name=names[s]))
    return stand_ins


def replay_constant(graph: Graph, node: int) -> Value:
    return constant_p.bind(**graph.attrs(node))


def _formula(inputs: list[Value], output: Value | Zero) -> str:
    from graphc.symbolic import SympyConversionError, to_sympy

    if isinstance(output, Zero):
        return "0"
    sources = [v for v in inputs if v.primitive is input_p]
    try:
        return _trace_printer().doprint(to_sympy(Graph(sources, output)))
    except SympyConversionError:  # a primitive without a sympy form (round): print it as a call
        return _call_text(output)


def _call_text(value: Value) -> str:
    """`round(v₀)`: a value as nested calls of primitive names, for what sympy cannot print."""
    if value.primitive is input_p:
        return value.name or "?"
    if value.primitive is constant_p:
        return f"{value.attrs['value'].array.item():g}" if value.shape == () else "const"
    return f"{value.primitive.name}({', '.join(_call_text(v) for v in value.inputs)})"


@functools.cache
def _trace_printer() -> Any:
    """sympy's str printer, with sums written the textbook's way: positive terms first, so
    v₄ - v₃ rather than sympy's -v₃ + v₄; and floats to 6 significant digits."""
    import sympy as sp
    from sympy.printing.str import StrPrinter

    class TracePrinter(StrPrinter):
        def _print_Add(self, expr: Any, order: str | None = None) -> str:
            terms = list(expr.as_ordered_terms())
            plus = [t for t in terms if not t.could_extract_minus_sign()]
            minus = [t for t in terms if t.could_extract_minus_sign()]
            return super()._print_Add(sp.Add(*plus, *minus, evaluate=False), order="none")

        def _print_Float(self, expr: Any) -> str:
            return f"{float(expr):.6g}"

    return TracePrinter()


def _input_name(graph: Graph, node: int) -> str:
    return graph.node_name(node) or f"in{graph.inputs.index(node)}"


def _primal_formula(graph: Graph, node: int, names: dict[int, str]) -> str:
    if graph.primitive(node) is input_p:
        return _input_name(graph, node)
    operands = _operand_stand_ins(graph, node, names)
    out = graph.primitive(node).bind(*operands, **graph.attrs(node))
    return _formula(operands, out)


def _tangent_formula(graph: Graph, node: int, names: dict[int, str]) -> str:
    if graph.primitive(node) is input_p:
        return _dot(_input_name(graph, node))
    operands = _operand_stand_ins(graph, node, names)
    out = placeholder(graph.type(node).shape, graph.type(node).dtype, name=names[node])
    tangents: list[Value | Zero] = [
        Zero(v.type) if v.primitive is constant_p else placeholder((), v.dtype, name=_dot(v.name))
        for v in operands
    ]
    rule = JVP_RULES[graph.primitive(node)]
    result = rule(tuple(operands), tuple(tangents), out, **graph.attrs(node))
    return _formula(operands + [t for t in tangents if isinstance(t, Value)] + [out], result)


def _adjoint_rows(
    graph: Graph, order: list[int], names: dict[int, str], values: dict[int, float]
) -> list[TraceRow]:
    output = graph.outputs[0]
    adjoints: dict[int, float] = {output: 1.0}
    rows = [TraceRow(_bar(names[output]), _bar("y") + " = 1", 1.0)]
    for node in reversed(order):
        prim = graph.primitive(node)
        if node not in adjoints or prim in (input_p, constant_p):
            continue
        operands = _operand_stand_ins(graph, node, names)
        out = placeholder((), graph.type(node).dtype, name=names[node])
        ct = placeholder((), graph.type(node).dtype, name=_bar(names[node]))
        contributions = VJP_RULES[prim](ct, tuple(operands), out, **graph.attrs(node))
        for operand_id, stand_in, contribution in zip(
            graph.operands(node), operands, contributions
        ):
            if contribution is None or stand_in.primitive is constant_p:
                continue
            sources = [v for v in operands if v.primitive is input_p] + [out, ct]
            formula = _formula(sources, contribution)
            amount = _evaluate_scalar(sources, contribution, values, adjoints, graph, names)
            target = _bar(names[operand_id])
            if operand_id in adjoints:
                adjoints[operand_id] += amount
                rows.append(TraceRow(target, _accumulate(target, formula), adjoints[operand_id]))
            else:
                adjoints[operand_id] = amount
                rows.append(TraceRow(target, formula, amount))
    return rows


def _accumulate(target: str, formula: str) -> str:
    """`v̄₀ + v̄₂*v₋₁`, and `v̄₀ - v̄₁` rather than `v̄₀ + -v̄₁` (the same sum, as written)."""
    if formula.startswith("-"):
        return f"{target} - {formula[1:]}"
    return f"{target} + {formula}"


# --- numbers -----------------------------------------------------------------------------------


def _evaluate_nodes(graph: Graph, point: list[np.ndarray]) -> dict[int, float]:
    everything = Graph.from_nx(graph.nx, graph.inputs, tuple(graph.order), single_output=False)
    values = everything(*point)
    return {n: float(v) for n, v in zip(graph.order, values)}


def _tangent_values(graph: Graph, point: list[np.ndarray], seeds: list[float]) -> dict[int, float]:
    from graphc.autodiff import instantiate
    from graphc.core import constant
    from graphc.differentiate import fresh_inputs

    primals = fresh_inputs(graph)
    env = replay(graph, primals)
    seeded: list[Value | Zero] = [
        constant(s, v.dtype) if is_differentiable_type(v.type) else Zero(v.type)
        for s, v in zip(seeds, primals)
    ]
    tangents = push_tangents(graph, env, seeded)
    nodes = list(graph.order)
    values = Graph(primals, [instantiate(tangents[n]) for n in nodes])(*point)
    return {n: float(v) for n, v in zip(nodes, values)}


def _evaluate_scalar(
    sources: list[Value],
    value: Value,
    primal_values: dict[int, float],
    adjoints: dict[int, float],
    graph: Graph,
    names: dict[int, str],
) -> float:
    by_name = {names[n]: primal_values[n] for n in names}
    by_name.update({_bar(names[n]): a for n, a in adjoints.items()})
    # Values are kept as floats; a comparison's bool or an integer operand gets its own dtype.
    args = [np.asarray(by_name[s.name]).astype(s.dtype) for s in sources]
    return float(Graph(sources, value)(*args))


def _display_width(text: str) -> int:
    return sum(0 if unicodedata.combining(c) else 1 for c in text)


def _rows_text(rows: list[TraceRow]) -> list[str]:
    name_width = max(_display_width(r.name) for r in rows)
    formula_width = max(_display_width(r.formula) for r in rows)
    lines = []
    for r in rows:
        name_pad = " " * (name_width - _display_width(r.name))
        formula_pad = " " * (formula_width - _display_width(r.formula))
        lines.append(f"  {r.name}{name_pad} = {r.formula}{formula_pad} = {r.value:.4f}")
    return lines
