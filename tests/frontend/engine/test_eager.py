import numpy as np

from graphc.frontend import layers
from graphc.frontend.engine.eager import as_array_leaves, eager_call


def test_as_array_leaves():
    assert as_array_leaves(3.0).shape == ()
    converted = as_array_leaves({"a": [1, 2], "b": [np.ones(2), np.ones(3)]})
    assert converted["a"].shape == (2,) and isinstance(converted["b"], list)
    assert as_array_leaves("text") == "text"


def test_batch_size_changes_reuse_one_trace():
    layer = layers.Dense(2)
    for batch in (1, 4, 9):
        assert eager_call(layer, (np.ones((batch, 3)),), {}).shape == (batch, 2)
    assert len([k for k in layer._eager_cache if k != "epoch"]) == 1


def test_dtype_and_training_are_part_of_the_signature():
    layer = layers.Dropout(0.5)
    layer(np.ones((2, 2), "float32"))
    layer(np.ones((2, 2), "float32"), training=True)
    layer(np.ones((2, 2), "int32"))
    assert len([k for k in layer._eager_cache if k != "epoch"]) == 3


def test_small_integer_and_half_arrays_are_widened():
    out = layers.Lambda(lambda x: x)(np.ones((1, 2), "uint8"))
    assert out.dtype == np.int32
    assert layers.Activation("relu")(np.ones((1, 2), "float16")).dtype == np.float32
