"""Rebuilding a graph node by node: how passes produce a new graph without touching the old one.

A pass walks the old graph in topological order and emits a `Value` for each node from the
Values already emitted for its operands; `graphc.Graph` then materializes the outputs. The old
graph is only read, so every pass built on `rebuild` is pure, and materialization keeps only
what the outputs reach.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from graphc.core import Value, input_p
from graphc.graph import Graph

#: emit(node, env) -> the Value that stands for `node` in the new graph, where `env` maps the
#: nodes before it (in topological order) to the Values already emitted for them.
Emit = Callable[[int, Mapping[int, Value]], Value]


def input_values(graph: Graph) -> list[Value]:
    """Fresh input Values with the types and names of `graph`'s inputs.

    >>> import graphc
    >>> input_values(graphc.Graph([graphc.placeholder((2,), name="x")], graphc.constant(1.0)))
    [<Value 'x' input : f32[2]>]
    """
    return [
        Value(input_p, (), graph.attrs(n), graph.type(n), name=graph.node_name(n))
        for n in graph.inputs
    ]


def node_value(graph: Graph, node: int, env: Mapping[int, Value]) -> Value:
    """`node` applied to its operands' new Values in `env`: same primitive, attributes and name
    (the type is computed again, so a changed operand type is checked).

    >>> import graphc
    >>> x = graphc.placeholder((3,), name="x")
    >>> g = graphc.Graph([x], graphc.exp(x))
    >>> node_value(g, g.outputs[0], {g.inputs[0]: graphc.placeholder((None, 3))})
    <Value exp : f32[None,3]>
    """
    operands = [env[o] for o in graph.operands(node)]
    return graph.primitive(node).bind(*operands, name=graph.node_name(node), **graph.attrs(node))


def rebuild(graph: Graph, emit: Emit) -> Graph:
    """A new graph with the same inputs (in order) and outputs, each node replaced by `emit`.

    >>> import graphc
    >>> x = graphc.placeholder((3,), name="x")
    >>> g = graphc.Graph([x], graphc.exp(x))
    >>> len(rebuild(g, lambda node, env: node_value(g, node, env)))
    2
    """
    inputs = input_values(graph)
    env: dict[int, Value] = dict(zip(graph.inputs, inputs))
    for node in graph.order:
        if node not in env:
            env[node] = emit(node, env)
    outputs = [env[n] for n in graph.outputs]
    return Graph(inputs, outputs[0] if graph.single_output else outputs, name=graph.name)
