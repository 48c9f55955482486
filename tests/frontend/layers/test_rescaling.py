import numpy as np
from layer_test_utils import run_layer_test

from graphc.frontend import layers


def test_rescaling():
    run_layer_test(
        layers.Rescaling,
        {"scale": 1 / 255.0, "offset": 0.5},
        input_shape=(2, 3),
        expected_output_shape=(2, 3),
        reference=lambda x, w: x / 255.0 + 0.5,
    )


def test_rescaling_per_channel():
    run_layer_test(
        layers.Rescaling,
        {"scale": [1.0, 2.0, 3.0]},
        input_shape=(2, 4, 3),
        expected_output_shape=(2, 4, 3),
        reference=lambda x, w: x * np.array([1.0, 2.0, 3.0]),
    )


def test_integer_pixels_become_floats():
    out = layers.Rescaling(1 / 255.0)(np.array([[0, 255]], "uint8"))
    assert out.dtype == np.float32 and out.tolist() == [[0.0, 1.0]]
