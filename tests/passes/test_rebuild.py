"""Rebuilding graphs node by node, the way passes produce new graphs."""

from __future__ import annotations

import numpy as np

import graphc
from graphc.passes.rebuild import input_values, node_value, rebuild


def test_an_identity_rebuild_keeps_inputs_outputs_names_and_values():
    x = graphc.placeholder((None, 2), "float64", name="x")
    unused = graphc.placeholder((), "float64", name="unused")
    named = graphc.primitives.elementwise.exp_p.bind(x, name="e")
    g = graphc.Graph([x, unused], [named, named * 2.0], name="g")
    copy = rebuild(g, lambda node, env: node_value(g, node, env))
    assert copy is not g and copy.name == "g" and not copy.single_output
    assert copy.input_names == ["x", "unused"]
    assert copy.dump() == g.dump()
    args = (np.ones((3, 2)), 0.0)
    for a, b in zip(copy(*args), g(*args)):
        np.testing.assert_array_equal(a, b)


def test_emit_may_replace_nodes_and_unreached_ones_disappear():
    x = graphc.placeholder((3,), "float64", name="x")
    g = graphc.Graph([x], graphc.sin(graphc.exp(x)))
    sin_node = g.outputs[0]

    def emit(node, env):
        if node == sin_node:
            return graphc.cos(env[g.inputs[0]])
        return node_value(g, node, env)

    result = rebuild(g, emit)
    assert [result.primitive(n).name for n in result.order] == ["input", "cos"]


def test_input_values_are_fresh():
    x = graphc.placeholder((3,), name="x")
    g = graphc.Graph([x], graphc.exp(x))
    (fresh,) = input_values(g)
    assert fresh is not x and fresh.type == x.type and fresh.name == "x"
