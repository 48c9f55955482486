"""Inference rewrites: batch normalization folds into matmul and conv weights; dropout goes."""

from __future__ import annotations

import numpy as np
import pytest

import graphc
from graphc.frontend import Sequential, layers
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


# --- dropout ------------------------------------------------------------------------------------


def frozen_trace(model, training: bool) -> graphc.Graph:
    """The model's trace with its weights as constants (a frozen model), in or out of training."""
    x = graphc.placeholder(model.input_signature().placeholders()[0].shape, name="x")
    (out,) = model.trace([x], training=training)
    traced = graphc.Graph([x] + [w.symbol for w in model.weights], out)
    frozen_x = graphc.placeholder(x.shape, name="x")
    weights = [graphc.constant(w.numpy(), name=w.name) for w in model.weights]
    return graphc.Graph([frozen_x], traced.to_values([frozen_x, *weights])[0])


def primitives(graph: graphc.Graph) -> set[str]:
    return {graph.primitive(n).name for n in graph.order}


@pytest.mark.parametrize("noise_shape", [None, (None, 1, 8)])
def test_dropout_in_a_training_trace_becomes_the_inference_graph(noise_shape):
    model = Sequential(
        [
            layers.Input((5, 4)),
            layers.Dense(8, activation="relu"),
            layers.Dropout(0.3, noise_shape=noise_shape),
            layers.Dense(3),
        ]
    )
    training, inference = frozen_trace(model, True), frozen_trace(model, False)
    assert "random_uniform" in primitives(training)
    assert "random_uniform" in primitives(optimize(training, 1))  # training graphs keep it
    result = optimize(training, 1, inference=True, verify=True)
    assert structurally_equal(result, optimize(inference, 1, inference=True)), result.dump()
    batch = RNG.normal(size=(6, 5, 4)).astype("float32")
    np.testing.assert_array_equal(result(batch), inference(batch))
    np.testing.assert_array_equal(result(batch), model.graph(batch))


def test_rnn_dropout_masks_are_removed():
    model = Sequential(
        [layers.Input((5, 3)), layers.SimpleRNN(4, dropout=0.3, recurrent_dropout=0.2)]
    )
    training, inference = frozen_trace(model, True), frozen_trace(model, False)
    result = specialize_for_inference(training)
    assert "random_uniform" not in primitives(result)
    assert structurally_equal(optimize(result, 1), optimize(inference, 1))


def test_float64_dropout_is_removed():
    x = dense_input()
    mask = graphc.random_uniform(3, (None, 4), "float64") >= 0.1
    g = graphc.Graph([x], graphc.where(mask, x * (1.0 / (1.0 - 0.1)), 0.0))
    assert structurally_equal(specialize_for_inference(g), graphc.Graph([x], x))


def _uniform(shape=(None, 4)):
    return graphc.random_uniform(11, shape, "float64")


LOOK_ALIKES = {  # x and y are f64[None,4] inputs; none of these is a dropout mask
    "wrong scale": lambda x, y: graphc.where(_uniform() >= 0.25, x * 3.0, 0.0),
    "no scale": lambda x, y: graphc.where(_uniform() >= 0.25, x, 0.0),
    "scale by a non-constant": lambda x, y: graphc.where(_uniform() >= 0.25, x * y, 0.0),
    "nonzero otherwise": lambda x, y: graphc.where(_uniform() >= 0.25, x * (4 / 3), 1.0),
    "y otherwise": lambda x, y: graphc.where(_uniform() >= 0.25, x * (4 / 3), y),
    "compared the other way": lambda x, y: graphc.where(_uniform() < 0.25, x * (4 / 3), 0.0),
    "branches swapped": lambda x, y: graphc.where(_uniform() >= 0.25, 0.0, x * (4 / 3)),
    "rate outside (0, 1)": lambda x, y: graphc.where(_uniform() >= 1.5, x * -2.0, 0.0),
    "rate not a constant": lambda x, y: graphc.where(
        _uniform() >= graphc.tanh(y), x * (4 / 3), 0.0
    ),
    "not uniform on [0, 1)": lambda x, y: graphc.where(
        graphc.random_normal(11, (None, 4), "float64") >= 0.25, x * (4 / 3), 0.0
    ),
    "a shifted uniform": lambda x, y: graphc.where(
        graphc.random_uniform(11, (None, 4), "float64", -1.0, 1.0) >= 0.25, x * (4 / 3), 0.0
    ),
    "a mask that widens x": lambda x, y: graphc.where(
        _uniform((2, None, 4)) >= 0.25, x * (4 / 3), 0.0
    ),
    "a mask with a wrong scale": lambda x, y: (
        x * graphc.where(_uniform() >= 0.25, np.float64(2.0), np.float64(0.0))
    ),
}


@pytest.mark.parametrize("name", LOOK_ALIKES)
def test_random_selects_that_are_not_dropout_stay(name):
    x, y = dense_input(), graphc.placeholder((None, 4), "float64", name="y")
    g = graphc.Graph([x, y], LOOK_ALIKES[name](x, y))
    assert specialize_for_inference(g) is g
