import numpy as np
import pytest
from layer_test_utils import run_layer_test

from graphc.frontend import layers


def test_permute_dims_are_one_based():
    run_layer_test(
        layers.Permute,
        {"dims": (2, 1)},
        input_shape=(2, 3, 4),
        expected_output_shape=(2, 4, 3),
        reference=lambda x, w: np.transpose(x, (0, 2, 1)),
    )


def test_permute_three_axes():
    run_layer_test(
        layers.Permute,
        {"dims": (3, 1, 2)},
        input_shape=(2, 3, 4, 5),
        expected_output_shape=(2, 5, 3, 4),
        reference=lambda x, w: np.transpose(x, (0, 3, 1, 2)),
    )


def test_permute_rejects_non_permutations():
    with pytest.raises(ValueError, match="consecutive and start from 1"):
        layers.Permute((0, 1))
