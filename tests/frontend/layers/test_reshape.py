import pytest
from layer_test_utils import run_layer_test

from graphc.frontend import Input, layers


def test_reshape_excludes_the_batch_axis():
    run_layer_test(
        layers.Reshape,
        {"target_shape": (3, 4)},
        input_shape=(2, 12),
        expected_output_shape=(2, 3, 4),
        reference=lambda x, w: x.reshape(2, 3, 4),
    )


def test_reshape_infers_minus_one():
    run_layer_test(
        layers.Reshape,
        {"target_shape": (-1, 2)},
        input_shape=(3, 2, 4),
        expected_output_shape=(3, 4, 2),
        reference=lambda x, w: x.reshape(3, 4, 2),
    )


def test_reshape_size_mismatch_names_the_shapes():
    with pytest.raises(ValueError, match=r"input_shape = \[12\], target_shape = \[5, -1\]"):
        layers.Reshape((5, -1))(Input((12,)))


def test_reshape_rejects_bad_targets():
    with pytest.raises(ValueError, match="at most one"):
        layers.Reshape((-1, -1))
