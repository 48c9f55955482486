"""Graph verification catches what a broken pass would leave behind."""

from __future__ import annotations

import pytest

import graphc
from graphc.errors import GraphError
from graphc.passes import verify_graph
from graphc.passes.verify import verify_signature
from graphc.types import TensorType


def small() -> graphc.Graph:
    x = graphc.placeholder((None, 3), name="x")
    return graphc.Graph([x], graphc.exp(x) + 1.0)


def copy_of(graph: graphc.Graph, inputs=None, outputs=None) -> graphc.Graph:
    """A copy to break: its nx graph and node attribute dicts are new."""
    return graphc.Graph.from_nx(
        graph.nx.copy(),
        graph.inputs if inputs is None else inputs,
        graph.outputs if outputs is None else outputs,
        single_output=True,
    )


def test_a_sound_graph_passes():
    verify_graph(small())


def test_a_cycle_is_reported():
    g = copy_of(small())
    g.nx.add_edge(g.outputs[0], 1, key=1)
    with pytest.raises(GraphError, match="cycle"):
        verify_graph(g)


def test_a_changed_type_is_reported():
    g = copy_of(small())
    g.nx.nodes[g.outputs[0]]["type"] = TensorType((None, 3), "float64")
    with pytest.raises(GraphError, match="operands and attributes give f32"):
        verify_graph(g)


def test_operand_slots_must_be_contiguous():
    g = copy_of(small())
    (src, dst, key), *_ = list(g.nx.in_edges(g.outputs[0], keys=True))
    g.nx.remove_edge(src, dst, key=key)
    g.nx.add_edge(src, dst, key=5)
    with pytest.raises(GraphError, match="operand slots"):
        verify_graph(g)


def test_inputs_must_be_exactly_the_input_nodes():
    g = copy_of(small(), inputs=())
    with pytest.raises(GraphError, match="not exactly its input nodes"):
        verify_graph(g)


def test_outputs_must_exist():
    g = copy_of(small(), outputs=(99,))
    with pytest.raises(GraphError, match="output %99"):
        verify_graph(g)


def test_a_changed_signature_is_reported():
    x = graphc.placeholder((None, 3), name="x")
    y = graphc.placeholder((3,), name="y")
    verify_signature(small(), graphc.Graph([x], graphc.sin(x)))  # same types: fine
    with pytest.raises(GraphError, match=r"outputs were \(f32\[None,3\]\), now \(f32\[3\]\)"):
        verify_signature(small(), graphc.Graph([x], graphc.sum(x, axis=0)))
    with pytest.raises(
        GraphError, match=r"inputs were \(f32\[None,3\]\), now \(f32\[None,3\], f32"
    ):
        verify_signature(small(), graphc.Graph([x, y], x + y))
    with pytest.raises(GraphError, match="returned one array, now a list"):
        verify_signature(small(), graphc.Graph([x], [x]))
