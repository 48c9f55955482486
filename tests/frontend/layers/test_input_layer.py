import numpy as np
import pytest

import graphc
from graphc.frontend import Input, layers


def test_input_is_a_placeholder_with_a_history():
    x = Input((28, 28), name="image")
    assert x.shape == (None, 28, 28) and x.dtype == np.float32 and x.name == "image"
    assert isinstance(x.origin.layer, layers.InputLayer) and x.origin.node_index == 0


def test_default_names_are_unique():
    assert [Input((1,)).name for _ in range(2)] == ["input_layer", "input_layer_1"]


def test_batch_size_and_dtype():
    x = Input((3,), batch_size=8, dtype="int32")
    assert x.shape == (8, 3) and x.dtype == np.int32


def test_batch_shape():
    assert Input(batch_shape=(None, 5)).shape == (None, 5)


def test_none_outside_the_batch_axis_is_refused():
    with pytest.raises(graphc.ShapeError, match="one symbolic dimension, the batch"):
        Input((None, 10))


def test_shape_and_batch_shape_are_exclusive():
    with pytest.raises(ValueError, match="either `shape` or `batch_shape`"):
        layers.InputLayer(shape=(2,), batch_shape=(None, 2))


def test_input_layer_config_round_trip():
    layer = layers.InputLayer(shape=(4,), name="x")
    clone = layers.InputLayer.from_config(layer.get_config())
    assert clone.output.shape == (None, 4) and clone.name == "x"


def test_wrapping_an_existing_placeholder():
    p = graphc.placeholder((None, 2), name="p")
    assert Input(tensor=p) is p
