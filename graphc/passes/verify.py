"""Graph verification: the invariants every pass must keep, checked between passes in debug mode.

A graph is well formed when it is acyclic; every node has a registered primitive and operand
slots numbered 0..k-1; the inputs are exactly the graph's `input` nodes; every node's type is
what its primitive's shape rule gives for its operands and attributes (so no pass changed a
type); each output exists and depends only on the inputs and constants; and graphs held in
attributes (fused bodies) are well formed too.

`verify_signature(before, after)` checks what a pass must keep between two graphs: the number
and types of the inputs and of the outputs, and whether the graph returns one array or a list.
"""

from __future__ import annotations

import networkx as nx

from graphc.core import PRIMITIVES, input_p
from graphc.errors import GraphcError, GraphError
from graphc.graph import Graph
from graphc.types import TensorType


def verify_graph(graph: Graph) -> None:
    """Raise `GraphError` naming the first broken invariant; return None for a sound graph.

    >>> import graphc
    >>> x = graphc.placeholder((3,), name="x")
    >>> verify_graph(graphc.Graph([x], graphc.exp(x)))
    """
    g = graph.nx
    if not nx.is_directed_acyclic_graph(g):
        cycle = nx.find_cycle(g)
        raise GraphError(f"the graph has a cycle through nodes {[edge[0] for edge in cycle]}")
    _check_inputs_and_outputs(graph)
    for node in graph.order:
        _check_node(graph, node)


def verify_signature(before: Graph, after: Graph) -> None:
    """Raise `GraphError` when `after` is not called and does not return like `before`: the
    same number and types of inputs, the same number and types of outputs, and one output or a
    list of them alike. Names may change.

    >>> import graphc
    >>> x = graphc.placeholder((3,), name="x")
    >>> verify_signature(graphc.Graph([x], graphc.exp(x)), graphc.Graph([x], -x))
    >>> verify_signature(graphc.Graph([x], graphc.exp(x)), graphc.Graph([x], [x, x]))
    Traceback (most recent call last):
    ...
    graphc.errors.GraphError: the outputs were (f32[3]), now (f32[3], f32[3])
    """
    for what, old, new in [
        ("inputs", before.input_types, after.input_types),
        ("outputs", before.output_types, after.output_types),
    ]:
        if old != new:
            raise GraphError(f"the {what} were ({_types(old)}), now ({_types(new)})")
    if before.single_output != after.single_output:
        shapes = {True: "one array", False: "a list of arrays"}
        raise GraphError(
            f"the graph returned {shapes[before.single_output]}, now {shapes[after.single_output]}"
        )


def _types(types: list[TensorType]) -> str:
    return ", ".join(str(t) for t in types)


def _check_inputs_and_outputs(graph: Graph) -> None:
    g = graph.nx
    input_nodes = {n for n in g.nodes if g.nodes[n].get("primitive") is input_p}
    if set(graph.inputs) != input_nodes or len(set(graph.inputs)) != len(graph.inputs):
        raise GraphError(
            f"the graph's inputs {list(graph.inputs)} are not exactly its input nodes "
            f"{sorted(input_nodes)}"
        )
    for output in graph.outputs:
        if output not in g:
            raise GraphError(f"output %{output} is not a node of the graph")
    if any(graph.type(n).is_batched for n in g.nodes) and not graph.is_batched:
        raise GraphError("a node has the batch dimension (None) but no input has it")


def _check_node(graph: Graph, node: int) -> None:
    data = graph.nx.nodes[node]
    missing = {"primitive", "attrs", "type", "name"} - set(data)
    if missing:
        raise GraphError(f"node %{node} lacks the attribute(s) {sorted(missing)}")
    prim = data["primitive"]
    if PRIMITIVES.get(prim.name) is not prim:
        raise GraphError(f"node %{node}: primitive {prim.name!r} is not registered")
    keys = sorted(key for _, _, key in graph.nx.in_edges(node, keys=True))
    if keys != list(range(len(keys))):
        raise GraphError(f"node %{node} ({prim.name}): operand slots {keys} are not 0..k-1")
    if prim is input_p:
        return
    operand_types = [graph.type(o) for o in graph.operands(node)]
    try:
        expected = prim.shape_rule(*operand_types, **data["attrs"])
    except GraphcError as exc:
        raise GraphError(f"node %{node} ({prim.name}) is ill-typed: {exc}") from exc
    if expected != data["type"]:
        raise GraphError(
            f"node %{node} ({prim.name}) has type {data['type']}, but its operands and "
            f"attributes give {expected}"
        )
    for value in data["attrs"].values():
        if isinstance(value, Graph):
            try:
                verify_graph(value)
            except GraphError as exc:
                raise GraphError(f"node %{node} ({prim.name}): its body: {exc}") from exc
