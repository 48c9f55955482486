import numpy as np
import pytest
from layer_test_utils import run_layer_test

import graphc
from graphc.frontend import Input, layers
from graphc.frontend.engine.trace import TraceContext


def test_dropout_is_identity_at_inference():
    run_layer_test(
        layers.Dropout,
        {"rate": 0.5},
        input_shape=(4, 6),
        expected_output_shape=(4, 6),
        expected_num_trainable_weights=0,
        reference=lambda x, w: x,
    )


def test_training_drops_at_rate_and_scales_kept_units():
    x = np.ones((200, 100), "float32")
    out = layers.Dropout(0.3)(x, training=True)
    kept = out != 0
    assert abs(kept.mean() - 0.7) < 0.02
    np.testing.assert_allclose(out[kept], 1 / 0.7, rtol=1e-6)


def test_masks_differ_between_steps_and_follow_the_seed():
    x = graphc.placeholder((None, 50))
    seed = graphc.placeholder((), "int64")
    with TraceContext(training=True, seed=seed):
        y = layers.Dropout(0.5)(x)
    step = graphc.Graph([x, seed], y)
    ones = np.ones((4, 50), "float32")
    np.testing.assert_array_equal(step(ones, 1), step(ones, 1))
    assert not np.array_equal(step(ones, 1), step(ones, 2))


def test_noise_shape_shares_the_mask_along_broadcast_axes():
    out = layers.Dropout(0.5, noise_shape=(None, 1, 8))(np.ones((3, 5, 8)), training=True)
    assert np.all(out == out[:, :1, :])


def test_rate_validation():
    with pytest.raises(ValueError, match="between 0 and 1. Received: rate=1.5"):
        layers.Dropout(1.5)


def test_symbolic_training_flag_selects_the_graph():
    x = Input((4,))
    assert layers.Dropout(0.5)(x, training=False).primitive.name == "cast"
