"""Constant folding through the interpreter's rules, with its limits."""

from __future__ import annotations

import numpy as np

import graphc
from graphc.passes import fold_constants


def names(graph: graphc.Graph) -> list[str]:
    return [graph.primitive(n).name for n in graph.order]


def test_folds_subgraphs_of_constants_with_the_interpreters_result():
    x = graphc.placeholder((None, 3), "float32", name="x")
    c = graphc.constant(np.array([0.5, 1.5, 2.5], np.float32))
    g = graphc.Graph([x], x * graphc.exp(c) + graphc.sin(c) / 3.0)
    result = fold_constants(g)
    assert names(result) == ["input", "constant", "mul", "constant", "add"]
    batch = np.ones((2, 3), np.float32)
    np.testing.assert_array_equal(result(batch), g(batch))


def test_respects_the_size_limit():
    x = graphc.placeholder((), "float64", name="x")
    big = graphc.constant(np.ones(100))
    g = graphc.Graph([x], x * graphc.exp(big))
    assert fold_constants(g, fold_limit=99) is g
    assert len(fold_constants(g, fold_limit=100)) == 3


def test_keeps_broadcasts_of_constants_lazy():
    x = graphc.placeholder((1000, 1000), "float64", name="x")
    zeros = graphc.broadcast_to(graphc.constant(0.0), (1000, 1000))
    g = graphc.Graph([x], x + zeros)
    assert fold_constants(g) is g


def test_folds_nothing_without_constant_operands():
    x = graphc.placeholder((3,), name="x")
    g = graphc.Graph([x], graphc.exp(x) + 1.0)
    assert fold_constants(g) is g


def test_folded_nan_and_inf_match_the_interpreter():
    x = graphc.placeholder((), "float64", name="x")
    g = graphc.Graph([x], x + graphc.log(graphc.constant([0.0, -1.0, 1.0])))
    result = fold_constants(g)
    assert len(result) == 3
    np.testing.assert_array_equal(result(1.0), g(1.0))
