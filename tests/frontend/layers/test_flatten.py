import numpy as np
from layer_test_utils import run_layer_test

from graphc.frontend import Input, layers


def test_flatten_keeps_the_batch_axis():
    run_layer_test(
        layers.Flatten,
        {},
        input_shape=(2, 3, 4),
        expected_output_shape=(2, 12),
        reference=lambda x, w: x.reshape(2, -1),
    )


def test_flatten_channels_first_moves_channels_last():
    run_layer_test(
        layers.Flatten,
        {"data_format": "channels_first"},
        input_shape=(2, 3, 4, 5),
        expected_output_shape=(2, 60),
        reference=lambda x, w: np.transpose(x, (0, 2, 3, 1)).reshape(2, -1),
    )


def test_flatten_of_a_batch_of_scalars():
    assert layers.Flatten()(Input(batch_shape=(None,))).shape == (None, 1)
