"""Common-subexpression elimination: compute each distinct expression once.

Two nodes are the same expression when they apply the same primitive, with equal attributes, to
the same operands (value numbering, in topological order, so equal operands are already merged).
Operands of COMMUTATIVE primitives count as a multiset: `a * b` and `b * a` merge. Constants
merge by content (bitwise: 0.0 and -0.0 stay apart). Inputs never merge: each is its own value.
"""

from __future__ import annotations

from collections.abc import Mapping

from graphc.core import Property, Value
from graphc.graph import Graph
from graphc.passes.equality import freeze_attrs
from graphc.passes.manager import register_pass
from graphc.passes.rebuild import node_value, rebuild


def eliminate_common_subexpressions(graph: Graph) -> Graph:
    """Merge nodes that compute the same expression; `graph` itself when there are none.

    >>> import graphc
    >>> x, y = graphc.placeholder((3,), name="x"), graphc.placeholder((3,), name="y")
    >>> g = graphc.Graph([x, y], graphc.exp(x * y) + graphc.exp(y * x))
    >>> len(g), len(eliminate_common_subexpressions(g))
    (7, 5)
    """
    representative = value_numbers(graph)
    if all(rep == node for node, rep in representative.items()):
        return graph
    names: dict[int, str | None] = {}
    for node in graph.order:  # a merged class keeps the first user-facing name of its members
        rep = representative[node]
        if names.get(rep) is None:
            names[rep] = graph.node_name(node)
    built: dict[int, Value] = {}

    def emit(node: int, env: Mapping[int, Value]) -> Value:
        rep = representative[node]
        if rep not in built:
            value = node_value(graph, node, env)
            if value.name != names[rep]:
                value = Value(
                    value.primitive, value.inputs, value.attrs, value.type, name=names[rep]
                )
            built[rep] = value
        return built[rep]

    return rebuild(graph, emit)


def value_numbers(graph: Graph) -> dict[int, int]:
    """Map each node to the first node (in topological order) computing the same expression.

    >>> import graphc
    >>> x = graphc.placeholder((), name="x")
    >>> g = graphc.Graph([x], [x + 1.0, 1.0 + x])
    >>> numbers = value_numbers(g)
    >>> numbers[g.outputs[0]] == numbers[g.outputs[1]]
    True
    """
    representative: dict[int, int] = {}
    table: dict[tuple, int] = {}
    inputs = set(graph.inputs)
    for node in graph.order:
        if node in inputs:
            representative[node] = node
            continue
        prim = graph.primitive(node)
        operands = tuple(representative[o] for o in graph.operands(node))
        if prim.has(Property.COMMUTATIVE):
            operands = tuple(sorted(operands))
        key = (prim.name, operands, freeze_attrs(graph.attrs(node)), graph.type(node))
        representative[node] = table.setdefault(key, node)
    return representative


register_pass("cse", eliminate_common_subexpressions, "merge nodes computing the same expression")
