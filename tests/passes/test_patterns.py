"""Multi-node patterns: subgraph matching with networkx, and rewriting the matches."""

from __future__ import annotations

import numpy as np
import pytest

import graphc
from graphc.core import constant_p
from graphc.errors import GraphError
from graphc.passes.patterns import (
    Pattern,
    PatternRule,
    constant_array,
    match_pattern,
    rewrite_matches,
    single_user,
)
from graphc.primitives.elementwise import add_p, exp_p, mul_p, neg_p, sub_p
from graphc.primitives.reduce import reduce_sum_p
from graphc.primitives.shape import concatenate_p


def x_input() -> graphc.Value:
    return graphc.placeholder((None, 3), "float64", name="x")


def names(graph: graphc.Graph, match: dict[str, int]) -> dict[str, str]:
    """A match as pattern name -> primitive name, to compare with expectations."""
    return {k: graph.primitive(n).name for k, n in match.items()}


def neg_of_exp() -> Pattern:
    p = Pattern("neg_of_exp")
    p.op("root", neg_p, p.leaf("e", exp_p))
    return p


def test_a_pattern_is_found_where_it_occurs():
    x = x_input()
    g = graphc.Graph([x], [-graphc.exp(x), graphc.sin(-graphc.exp(x * 2.0))])
    matches = match_pattern(g, neg_of_exp())
    assert [names(g, m) for m in matches] == [{"root": "neg", "e": "exp"}] * 2
    roots = [m["root"] for m in matches]
    assert roots == sorted(roots, key=g.order.index)  # in topological order


def test_a_pattern_is_not_found_where_it_does_not_occur():
    x = x_input()
    assert match_pattern(graphc.Graph([x], graphc.exp(-x)), neg_of_exp()) == []
    assert match_pattern(graphc.Graph([x], -graphc.sin(x)), neg_of_exp()) == []


def constant_subtracted() -> Pattern:  # x - c, not c - x
    p = Pattern("sub_constant")
    p.op("root", sub_p, p.leaf("x"), p.leaf("c", constant_p))
    return p


def test_operand_order_is_respected_through_the_edge_keys():
    x = x_input()
    assert len(match_pattern(graphc.Graph([x], x - 1.0), constant_subtracted())) == 1
    assert match_pattern(graphc.Graph([x], 1.0 - x), constant_subtracted()) == []


def test_any_order_matches_both_operand_orders_with_the_right_binding():
    p = Pattern("add_constant")
    p.op("root", add_p, p.leaf("x", exp_p), p.leaf("c", constant_p), any_order=True)
    x = x_input()
    for expr in (graphc.exp(x) + 1.0, 1.0 + graphc.exp(x)):
        g = graphc.Graph([x], expr)
        (match,) = match_pattern(g, p)
        assert names(g, match) == {"root": "add", "x": "exp", "c": "constant"}


def test_a_node_read_in_two_slots_needs_two_pattern_edges():
    x = x_input()
    square = Pattern("square")
    e = square.leaf("e", exp_p)
    square.op("root", mul_p, e, e)
    product = Pattern("product")
    product.op("root", mul_p, product.leaf("a", exp_p), product.leaf("b"))
    e = graphc.exp(x)
    g = graphc.Graph([x], e * e)  # one exp node, read twice
    assert len(match_pattern(g, square)) == 1
    assert match_pattern(g, product) == []  # distinct pattern nodes bind distinct graph nodes
    assert match_pattern(graphc.Graph([x], e * graphc.exp(x)), square) == []


def test_ops_match_their_exact_number_of_operands():
    p = Pattern("concat2")
    p.op("root", concatenate_p, p.leaf("a"), p.leaf("b"))
    x = x_input()
    assert len(match_pattern(graphc.Graph([x], graphc.concatenate([x, -x], axis=1)), p)) == 1
    assert match_pattern(graphc.Graph([x], graphc.concatenate([x, -x, x], axis=1)), p) == []


def test_attributes_and_predicates_narrow_the_match():
    p = Pattern("row_sum")
    p.op("root", reduce_sum_p, p.leaf("x"), attrs={"axes": (1,)})
    x = x_input()
    assert len(match_pattern(graphc.Graph([x], graphc.sum(x, axis=1)), p)) == 1
    assert match_pattern(graphc.Graph([x], graphc.sum(x, axis=0)), p) == []

    def is_two(graph, node):
        array = constant_array(graph, node)
        return array is not None and float(array) == 2.0

    twice = Pattern("twice")
    twice.op("root", mul_p, twice.leaf("x"), twice.leaf("c", where=is_two), any_order=True)
    assert len(match_pattern(graphc.Graph([x], x * 2.0), twice)) == 1
    assert match_pattern(graphc.Graph([x], x * 3.0), twice) == []


def test_patterns_refuse_malformed_definitions():
    p = Pattern("bad")
    p.leaf("a")
    with pytest.raises(GraphError, match="'a' is already defined"):
        p.leaf("a")
    with pytest.raises(GraphError, match="reads 'b', not yet defined"):
        p.op("root", neg_p, "b")
    g = graphc.Graph([x_input()], graphc.constant(1.0))
    with pytest.raises(GraphError, match="no root"):
        match_pattern(g, Pattern("empty"))
    p.op("root", neg_p, "a")
    p.leaf("stray")
    with pytest.raises(GraphError, match=r"\['stray'\] do not feed the root"):
        match_pattern(g, p)


def exp_neg_rule() -> PatternRule:  # -exp(x) -> exp(x) * -1, a rewrite for the tests
    def build(match):
        return match["e"] * -1.0 if single_user(match.graph, match.nodes["e"]) else None

    return PatternRule("negate_by_multiplying", neg_of_exp(), build)


def test_rewrite_matches_replaces_the_roots_and_keeps_names():
    x = x_input()
    g = graphc.Graph([x], graphc.sin(neg_p.bind(graphc.exp(x), name="y")))
    result = rewrite_matches(g, [exp_neg_rule()], pass_name="test")
    assert [result.primitive(n).name for n in result.order[1:]] == ["exp", "constant", "mul", "sin"]
    assert "y" in [result.node_name(n) for n in result.order]
    args = np.linspace(-1, 1, 6).reshape(2, 3)
    np.testing.assert_array_equal(result(args), g(args))


def test_rewrite_matches_returns_the_graph_itself_when_nothing_fires():
    x = x_input()
    e = graphc.exp(x)
    g = graphc.Graph([x], [-e, e])  # the exp has a second user: the rule declines
    assert rewrite_matches(g, [exp_neg_rule()], pass_name="test") is g
    h = graphc.Graph([x], graphc.exp(-x))  # no match at all
    assert rewrite_matches(h, [exp_neg_rule()], pass_name="test") is h


def test_a_replacement_of_another_type_is_an_error_naming_the_rule():
    rule = PatternRule("retype", neg_of_exp(), lambda m: graphc.cast(m["e"], "float32"))
    x = x_input()
    with pytest.raises(GraphError, match="rule retype changed the type of a neg node"):
        rewrite_matches(graphc.Graph([x], -graphc.exp(x)), [rule], pass_name="test")
