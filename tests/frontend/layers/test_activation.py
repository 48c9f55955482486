import numpy as np
import pytest
from layer_test_utils import run_layer_test

from graphc.frontend import layers


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


@pytest.mark.parametrize(
    ("name", "reference"),
    [
        ("relu", lambda x: np.maximum(x, 0)),
        ("tanh", np.tanh),
        ("sigmoid", lambda x: 1 / (1 + np.exp(-x))),
        ("softmax", softmax),
        ("linear", lambda x: x),
    ],
)
def test_activation_layer(name, reference):
    run_layer_test(
        layers.Activation,
        {"activation": name},
        input_shape=(3, 4),
        expected_output_shape=(3, 4),
        expected_num_trainable_weights=0,
        reference=lambda x, w: reference(x),
    )


def test_activation_accepts_a_function():
    layer = layers.Activation(lambda x: x * 3.0)
    np.testing.assert_allclose(layer(np.ones((1, 2), "float32")), [[3.0, 3.0]])
