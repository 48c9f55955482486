"""When two nodes, or two graphs, are the same computation.

Passes and their tests need one answer to "is this the same?": CSE merges nodes with equal
keys, and tests compare a pass's result with the expected graph structurally (networkx graph
isomorphism with matching primitives, attributes, types, operand slots and input/output
positions), as PyTensor's tests compare graphs with `equal_computations`.
"""

from __future__ import annotations

from typing import Any

import networkx as nx

from graphc.graph import Graph


def freeze_attrs(attrs: dict[str, Any]) -> tuple:
    """A hashable key for attributes under which equal keys mean identical behaviour.

    Python's `==` says `1 == 1.0 == True` and `0.0 == -0.0`; attributes differing that way
    can mean different results, so scalars are tagged with their type and floats compared by
    their exact bits (which also lets two nan attributes match).

    >>> freeze_attrs({"value": 0.0}) == freeze_attrs({"value": -0.0})
    False
    """
    return tuple(sorted((k, _freeze(v)) for k, v in attrs.items()))


def _freeze(value: Any) -> Any:
    if isinstance(value, tuple):
        return ("tuple", tuple(_freeze(v) for v in value))
    if isinstance(value, float):
        return ("float", float(value).hex())
    return (type(value).__name__, value)  # other attributes compare by their own ==


def structurally_equal(a: Graph, b: Graph) -> bool:
    """True when `a` and `b` apply the same primitives, with equal attributes and types, to
    corresponding operands, with the same inputs and outputs in the same positions. Node ids
    and names do not matter; graphs held in attributes (fused bodies) compare the same way.

    >>> import graphc
    >>> x, y = graphc.placeholder((3,), name="x"), graphc.placeholder((3,), name="y")
    >>> structurally_equal(graphc.Graph([x, y], x - y), graphc.Graph([y, x], y - x))
    True
    >>> structurally_equal(graphc.Graph([x, y], x - y), graphc.Graph([x, y], y - x))
    False
    """
    if len(a.inputs) != len(b.inputs) or len(a.outputs) != len(b.outputs):
        return False
    if a.single_output != b.single_output:
        return False
    return nx.is_isomorphic(
        _labelled(a),
        _labelled(b),
        node_match=_same_node,
        edge_match=lambda e1, e2: set(e1) == set(e2),  # parallel edges keyed by operand slot
    )


def _labelled(graph: Graph) -> nx.MultiDiGraph:
    labelled = nx.MultiDiGraph(graph.nx)
    for n in labelled.nodes:
        labelled.nodes[n]["role"] = ()
    for i, n in enumerate(graph.inputs):
        labelled.nodes[n]["role"] += (("input", i),)
    for i, n in enumerate(graph.outputs):
        labelled.nodes[n]["role"] += (("output", i),)
    return labelled


def _same_node(x: dict, y: dict) -> bool:
    if x["primitive"] is not y["primitive"] or x["type"] != y["type"] or x["role"] != y["role"]:
        return False
    if x["attrs"].keys() != y["attrs"].keys():
        return False
    for key, value in x["attrs"].items():
        other = y["attrs"][key]
        if isinstance(value, Graph) and isinstance(other, Graph):
            if not structurally_equal(value, other):
                return False
        elif _freeze(value) != _freeze(other):
            return False
    return True
