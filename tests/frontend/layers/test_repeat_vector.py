import numpy as np
import pytest
from layer_test_utils import run_layer_test

import graphc
from graphc.frontend import Input, layers


def test_repeat_vector():
    run_layer_test(
        layers.RepeatVector,
        {"n": 3},
        input_shape=(2, 4),
        expected_output_shape=(2, 3, 4),
        reference=lambda x, w: np.repeat(x[:, None, :], 3, axis=1),
    )


def test_repeat_vector_needs_rank_2():
    with pytest.raises(
        graphc.ShapeError, match="RepeatVector 'repeat_vector' expected an input of rank 2"
    ):
        layers.RepeatVector(2)(Input((3, 4)))
