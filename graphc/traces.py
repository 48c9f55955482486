"""Evaluation traces of a small scalar function: primal, forward tangent and reverse adjoint.

The numbering follows the autodiff literature (Griewank & Walther; Baydin et al., "Automatic
differentiation in machine learning: a survey"): n inputs are v₋ₙ₊₁ … v₀, intermediate values
v₁, v₂, … in evaluation order. Each row's formula is produced by graphc itself: the node's
primitive (primal), its jvp rule (tangent) or its vjp rule (adjoint) applied to symbolic
placeholders and printed through sympy, so the trace shows exactly what graphc computes.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

import numpy as np

from graphc.autodiff import JVP_RULES, VJP_RULES, Zero
from graphc.core import Value, constant_p, input_p, placeholder
from graphc.differentiate import push_tangents, replay
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
            return [{"name": r.name, "formula": r.formula, "value": r.value} for r in items]

        return {
            "seed": self.seed,
            "primal": rows(self.primal),
            "tangent": rows(self.tangent),
            "adjoint": rows(self.adjoint),
        }


def build_traces(graph: Graph, point: list[np.ndarray], seed_input: int = 0) -> Traces:
    """The traces of a scalar-output graph of scalar inputs at `point`, seeding one input."""
    names = _variable_names(graph)
    primal_values = _evaluate_nodes(graph, point)
    numbered = [n for n in graph.order if n in names]

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

    adjoint = _adjoint_rows(graph, names, primal_values)
    seed_name = graph.input_names[seed_input] or f"in{seed_input}"
    return Traces(seed_name, primal, tangent, adjoint)


# --- naming ------------------------------------------------------------------------------------


def _variable_names(graph: Graph) -> dict[int, str]:
    """v₋ₙ₊₁ … v₀ for the inputs, then v₁, v₂, … for each computed (non-constant) node."""
    n = len(graph.inputs)
    names = {node: _v(i - n + 1) for i, node in enumerate(graph.inputs)}
    counter = 0
    for node in graph.order:
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
    from graphc.symbolic import to_sympy

    if isinstance(output, Zero):
        return "0"
    sources = [v for v in inputs if v.primitive is input_p]
    return str(to_sympy(Graph(sources, output)))


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


def _adjoint_rows(graph: Graph, names: dict[int, str], values: dict[int, float]) -> list[TraceRow]:
    output = graph.outputs[0]
    adjoints: dict[int, float] = {output: 1.0}
    rows = [TraceRow(_bar(names[output]), _bar("y") + " = 1", 1.0)]
    for node in reversed(graph.order):
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
                rows.append(TraceRow(target, f"{target} + {formula}", adjoints[operand_id]))
            else:
                adjoints[operand_id] = amount
                rows.append(TraceRow(target, formula, amount))
    return rows


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
    tangents = push_tangents(graph, env, [constant(s, v.dtype) for s, v in zip(seeds, primals)])
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
    return float(Graph(sources, value)(*[by_name[s.name] for s in sources]))


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
