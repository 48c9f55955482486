import numpy as np
from layer_test_utils import run_layer_test

import graphc
from graphc.frontend import Input, layers


def masking_reference(x, weights):
    keep = np.any(x != 0.0, axis=-1, keepdims=True)
    return x * keep


def test_masking_zeroes_masked_steps():
    data = np.random.default_rng(1).standard_normal((2, 5, 3)).astype("float32")
    data[:, 2, :] = 0.0
    data[0, 4, :] = 0.0
    run_layer_test(
        layers.Masking,
        {"mask_value": 0.0},
        input_shape=(2, 5, 3),
        expected_output_shape=(2, 5, 3),
        reference=masking_reference,
        input_data=data,
    )


def test_masking_produces_the_step_mask():
    x = Input((3, 2))
    out = layers.Masking(mask_value=-1.0)(x)
    mask = graphc.Graph([x], out.origin.mask)(np.array([[[1, 2], [-1, -1], [-1, 0]]], "float32"))
    assert mask.tolist() == [[True, False, True]]
