"""ZeroPadding2D: numpy's constant padding, Keras' three padding spellings."""

import numpy as np
import pytest
from layer_test_utils import run_layer_test

from graphc.frontend import Input, layers


@pytest.mark.parametrize(
    "padding, pads",
    [
        (None, ((1, 1), (1, 1))),
        (2, ((2, 2), (2, 2))),
        ((1, 3), ((1, 1), (3, 3))),
        (((0, 2), (1, 0)), ((0, 2), (1, 0))),
    ],
)
def test_zero_padding_matches_numpy(padding, pads):
    kwargs = {} if padding is None else {"padding": padding}
    (top, bottom), (left, right) = pads
    run_layer_test(
        layers.ZeroPadding2D,
        kwargs,
        input_shape=(2, 3, 4, 2),
        expected_output_shape=(2, 3 + top + bottom, 4 + left + right, 2),
        expected_num_trainable_weights=0,
        reference=lambda x, w: np.pad(x, ((0, 0), *pads, (0, 0))),
    )


def test_config_and_symbolic_shape():
    layer = layers.ZeroPadding2D(((1, 0), (2, 3)))
    assert layer(Input((4, 4, 3))).shape == (None, 5, 9, 3)
    assert layer.get_config()["padding"] == [[1, 0], [2, 3]]
    assert layers.ZeroPadding2D.from_config(layer.get_config()).padding == ((1, 0), (2, 3))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"padding": (1, 2, 3)}, "two elements"),
        ({"padding": ((1, 2), (3,))}, "2nd entry of padding"),
        ({"padding": -1}, ">= 0"),
        ({"padding": "same"}, "two elements"),
        ({"padding": 1.5}, "should be either an int"),
        ({"data_format": "channels_first"}, "channels_last"),
    ],
)
def test_bad_arguments_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        layers.ZeroPadding2D(**kwargs)


def test_rank_is_checked():
    with pytest.raises(ValueError, match="rank 4"):
        layers.ZeroPadding2D()(Input((4, 4)))
