"""Inference rewrites: batch normalization folds into matmul and conv weights."""

from __future__ import annotations

import numpy as np

import graphc
from graphc.passes import optimize, specialize_for_inference
from graphc.passes.equality import structurally_equal

RNG = np.random.default_rng(0)


def const(*shape):
    return graphc.constant(RNG.normal(size=shape))


def ops(graph: graphc.Graph) -> list[str]:
    return [graph.primitive(n).name for n in graph.order if n not in graph.inputs]


def dense_input():
    return graphc.placeholder((None, 4), "float64", name="x")


def test_dense_then_batch_norm_becomes_one_matmul_and_one_add():
    x = dense_input()
    w, b1, s, b2 = const(4, 3), const(3), const(3), const(3)
    g = graphc.Graph([x], (x @ w + b1) * s + b2)
    result = specialize_for_inference(g)
    assert ops(result) == ["constant", "matmul", "constant", "add"]
    batch = RNG.normal(size=(5, 4))
    np.testing.assert_allclose(result(batch), g(batch), rtol=1e-12)


def test_operands_of_commutative_ops_match_in_either_order():
    x = dense_input()
    w, b1, s, b2 = const(4, 3), const(3), const(3), const(3)
    g = graphc.Graph([x], b2 + s * (b1 + x @ w))
    result = specialize_for_inference(g)
    assert ops(result) == ["constant", "matmul", "constant", "add"]
    batch = RNG.normal(size=(5, 4))
    np.testing.assert_allclose(result(batch), g(batch), rtol=1e-12)


def test_matmul_scale_and_shift_without_a_bias():
    x = dense_input()
    w, s, b = const(4, 3), const(1, 3), const(3)
    g = graphc.Graph([x], (x @ w) * s + b)
    result = specialize_for_inference(g)
    folded_w = graphc.constant(_array(w) * _array(s))
    assert structurally_equal(result, graphc.Graph([x], x @ folded_w + b)), result.dump()
    batch = RNG.normal(size=(2, 4))
    np.testing.assert_allclose(result(batch), g(batch), rtol=1e-12)


def test_conv_with_normalization_by_mean_and_std():
    x = graphc.placeholder((None, 5, 5, 2), "float64", name="x")
    k, mean, std, beta = const(3, 3, 2, 4), const(4), graphc.constant(np.full(4, 2.0)), const(4)
    g = graphc.Graph([x], (graphc.conv2d(x, k) - mean) / std + beta)
    result = specialize_for_inference(g)
    assert ops(result) == ["constant", "conv", "constant", "add"]
    batch = RNG.normal(size=(2, 5, 5, 2))
    np.testing.assert_allclose(result(batch), g(batch), rtol=1e-12)


def test_weights_that_are_inputs_do_not_fold():
    x, w = dense_input(), graphc.placeholder((4, 3), "float64", name="w")
    g = graphc.Graph([x, w], (x @ w) * const(3) + const(3))
    assert specialize_for_inference(g) is g


def test_a_matmul_read_elsewhere_is_not_recomputed():
    x = dense_input()
    h = x @ const(4, 3)
    g = graphc.Graph([x], [h * const(3) + const(3), h])
    assert specialize_for_inference(g) is g


def test_a_scale_varying_along_the_batch_does_not_fold():
    x = graphc.placeholder((5, 4), "float64", name="x")
    g = graphc.Graph([x], (x @ const(4, 3)) * const(5, 1))
    assert specialize_for_inference(g) is g


def test_optimize_folds_only_for_inference():
    x = dense_input()
    g = graphc.Graph([x], (x @ const(4, 3) + const(3)) * const(3) + const(3))
    assert ops(optimize(g)).count("mul") == 1
    assert ops(optimize(g, inference=True)).count("mul") == 0


def _array(value: graphc.Value) -> np.ndarray:
    return value.attrs["value"].array
