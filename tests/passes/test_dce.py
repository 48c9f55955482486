"""Dead-code elimination."""

from __future__ import annotations

import numpy as np

import graphc
from graphc.passes import eliminate_dead_code


def with_dead_nodes() -> tuple[graphc.Graph, graphc.Graph]:
    """A graph whose nx also holds a node no output reads (as loaders can produce)."""
    x = graphc.placeholder((None, 3), "float64", name="x")
    unused = graphc.placeholder((2,), "float64", name="unused")
    full = graphc.Graph([x, unused], [graphc.exp(x), graphc.sin(x) * 2.0])
    live = graphc.Graph.from_nx(full.nx, full.inputs, full.outputs[:1], single_output=True)
    return full, live


def test_removes_nodes_no_output_reaches():
    _, live = with_dead_nodes()
    result = eliminate_dead_code(live)
    assert len(live) == 6 and len(result) == 3
    assert [result.primitive(n).name for n in result.order] == ["input", "input", "exp"]
    x = np.linspace(-1, 1, 6).reshape(2, 3)
    np.testing.assert_array_equal(result(x, np.zeros(2)), live(x, np.zeros(2)))


def test_keeps_unused_inputs_and_leaves_input_untouched():
    _, live = with_dead_nodes()
    before = sorted(live.nx.nodes)
    result = eliminate_dead_code(live)
    assert result.inputs == live.inputs and result.input_names == ["x", "unused"]
    assert sorted(live.nx.nodes) == before


def test_returns_the_same_graph_when_nothing_is_dead():
    full, _ = with_dead_nodes()
    assert eliminate_dead_code(full) is full
