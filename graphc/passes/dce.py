"""Dead-code elimination: drop the nodes no output depends on.

A graph built from Values has no dead nodes (materialization starts at the outputs), but graphs
assembled with `Graph.from_nx` (loaders, nx-level passes) can. The graph's inputs always stay,
even unused ones: they are part of its calling convention.
"""

from __future__ import annotations

import networkx as nx

from graphc.graph import Graph
from graphc.passes.manager import register_pass


def eliminate_dead_code(graph: Graph) -> Graph:
    """The graph without nodes that no output reaches; `graph` itself when there are none.

    >>> import graphc
    >>> x = graphc.placeholder((3,), name="x")
    >>> g = graphc.Graph([x], [graphc.exp(x), graphc.sin(x)])
    >>> live = graphc.Graph.from_nx(g.nx, g.inputs, g.outputs[:1], single_output=True)
    >>> len(live), len(eliminate_dead_code(live))
    (3, 2)
    """
    keep = set(graph.inputs) | set(graph.outputs)
    for output in graph.outputs:
        keep |= nx.ancestors(graph.nx, output)
    if len(keep) == graph.nx.number_of_nodes():
        return graph
    return Graph.from_nx(
        graph.nx.subgraph(keep).copy(),
        graph.inputs,
        graph.outputs,
        single_output=graph.single_output,
        name=graph.name,
    )


register_pass("dce", eliminate_dead_code, "drop nodes no output depends on")
