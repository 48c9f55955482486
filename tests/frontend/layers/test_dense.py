import numpy as np
import pytest
from layer_test_utils import run_layer_test

import graphc
from graphc.frontend import Input, layers, regularizers


def dense_reference(activation=lambda z: z):
    def reference(x, weights):
        kernel, *bias = weights
        return activation(x @ kernel + (bias[0] if bias else 0.0))

    return reference


def test_dense_matches_numpy():
    run_layer_test(
        layers.Dense,
        {"units": 4},
        input_shape=(2, 3),
        expected_output_shape=(2, 4),
        expected_num_trainable_weights=2,
        expected_num_non_trainable_weights=0,
        reference=dense_reference(),
    )


def test_dense_relu_without_bias():
    run_layer_test(
        layers.Dense,
        {"units": 5, "activation": "relu", "use_bias": False},
        input_shape=(3, 2),
        expected_output_shape=(3, 5),
        expected_num_trainable_weights=1,
        reference=dense_reference(lambda z: np.maximum(z, 0)),
    )


def test_dense_on_rank_3_inputs_applies_to_last_axis():
    run_layer_test(
        layers.Dense,
        {"units": 2},
        input_shape=(2, 5, 3),
        expected_output_shape=(2, 5, 2),
        reference=dense_reference(),
    )


def test_dense_parameter_count_as_keras():
    layer = layers.Dense(64)
    layer(Input((784,)))
    assert layer.count_params() == 50240
    assert [w.name for w in layer.weights] == ["dense/kernel", "dense/bias"]
    assert layer.kernel.shape == (784, 64) and layer.bias.shape == (64,)


def test_dense_default_initializers():
    layer = layers.Dense(8)
    layer(Input((100,)))
    limit = np.sqrt(6 / (100 + 8))
    assert np.abs(layer.kernel.numpy()).max() <= limit
    assert not np.all(layer.kernel.numpy() == 0)
    np.testing.assert_array_equal(layer.bias.numpy(), 0)


def test_incompatible_input_names_layer_and_shapes():
    layer = layers.Dense(3, name="dense_2")
    layer(Input((128,)))
    with pytest.raises(
        graphc.ShapeError, match="Dense 'dense_2' expected last dimension 128, got 64"
    ):
        layer(Input((64,)))


def test_invalid_units():
    with pytest.raises(ValueError, match="expected a positive integer. Received: units=0"):
        layers.Dense(0)


def test_unknown_activation_lists_valid_names():
    with pytest.raises(ValueError, match="Could not locate activation 'rleu'.*relu"):
        layers.Dense(2, activation="rleu")


def test_unknown_keyword_argument():
    with pytest.raises(TypeError, match="Unrecognized keyword arguments passed to Dense.*foo"):
        layers.Dense(2, foo=1)


def test_kernel_regularizer_adds_a_loss():
    layer = layers.Dense(2, kernel_regularizer=regularizers.L2(0.5), kernel_initializer="ones")
    layer(Input((3,)))
    (loss,) = layer.losses
    assert float(graphc.Graph([layer.kernel.symbol], loss)(layer.kernel.numpy())) == 3.0
