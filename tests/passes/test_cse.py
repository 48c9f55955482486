"""Common-subexpression elimination."""

from __future__ import annotations

import numpy as np

import graphc
from graphc.passes import eliminate_common_subexpressions as cse
from graphc.passes.equality import structurally_equal


def names(graph: graphc.Graph) -> list[str]:
    return [graph.primitive(n).name for n in graph.order]


def test_merges_equal_expressions_and_keeps_results():
    x = graphc.placeholder((None, 3), "float64", name="x")
    y = graphc.placeholder((3,), "float64", name="y")
    g = graphc.Graph([x, y], graphc.sin(x + y) * graphc.sin(x + y))
    result = cse(g)
    assert names(result) == ["input", "input", "add", "sin", "mul"]
    s = graphc.sin(x + y)
    assert structurally_equal(result, graphc.Graph([x, y], s * s))
    assert not structurally_equal(result, g)
    a, b = np.random.default_rng(0).normal(size=(4, 3)), np.arange(3.0)
    np.testing.assert_array_equal(result(a, b), g(a, b))


def test_commutative_operands_merge_in_either_order():
    x, y = graphc.scalars("x y")
    g = graphc.Graph([x, y], [x * y, y * x, graphc.maximum(x, y), graphc.maximum(y, x)])
    result = cse(g)
    assert result.outputs[0] == result.outputs[1] and result.outputs[2] == result.outputs[3]


def test_non_commutative_operands_stay_apart():
    x, y = graphc.scalars("x y")
    g = graphc.Graph([x, y], [x - y, y - x, x / y, y / x])
    assert cse(g) is g


def test_constants_merge_by_content_but_not_across_signed_zero():
    x = graphc.placeholder((2,), "float64", name="x")
    a = x + graphc.constant([1.0, 2.0])
    b = x + graphc.constant([1.0, 2.0])
    assert len(set(cse(graphc.Graph([x], [a, b])).outputs)) == 1
    signed = graphc.Graph([x], [x * graphc.constant(0.0), x * graphc.constant(-0.0)])
    assert cse(signed) is signed


def test_inputs_with_equal_types_are_not_merged():
    x, y = graphc.scalars("x y")
    g = graphc.Graph([x, y], graphc.exp(x) + graphc.exp(y))
    assert cse(g) is g


def test_attributes_must_match():
    x = graphc.placeholder((2,), "int32", name="x")
    g = graphc.Graph([x], [graphc.cast(x, "float32"), graphc.cast(x, "float64")])
    assert cse(g) is g


def test_a_merged_node_keeps_a_user_facing_name():
    x = graphc.placeholder((2,), "float64", name="x")
    first = graphc.exp(x)
    second = graphc.primitives.elementwise.exp_p.bind(x, name="activation")
    result = cse(graphc.Graph([x], first + second))
    (node,) = [n for n in result.order if result.primitive(n).name == "exp"]
    assert result.node_name(node) == "activation"
