import numpy as np
from layer_test_utils import run_layer_test

from graphc.frontend import Input, Sequential, layers


def test_embedding_looks_up_rows():
    run_layer_test(
        layers.Embedding,
        {"input_dim": 10, "output_dim": 4},
        input_shape=(2, 5),
        expected_output_shape=(2, 5, 4),
        input_dtype="int32",
        expected_num_trainable_weights=1,
        reference=lambda x, w: w[0][x],
    )


def test_default_initializer_is_uniform_005():
    layer = layers.Embedding(1000, 8)
    layer(Input((3,), dtype="int32"))
    table = layer.embeddings.numpy()
    assert np.abs(table).max() <= 0.05 and table.std() > 0.02


def test_mask_zero_marks_padding():
    ids = Input((4,), dtype="int32")
    out = layers.Embedding(5, 3, mask_zero=True)(ids)
    mask = out.origin.mask
    assert mask.shape == (None, 4) and mask.dtype == np.dtype(bool)
    import graphc

    values = graphc.Graph([ids], mask)(np.array([[1, 0, 3, 0]], "int32"))
    assert values.tolist() == [[True, False, True, False]]


def test_no_mask_without_mask_zero():
    out = layers.Embedding(5, 3)(Input((4,), dtype="int32"))
    assert out.origin.mask is None


def test_mask_flows_through_mask_aware_layers():
    model = Sequential(
        [
            layers.Input((4,), dtype="int32"),
            layers.Embedding(5, 3, mask_zero=True),
            layers.Dropout(0.1),
            layers.Dense(2),
        ]
    )
    assert model.layers[-1].output.origin.mask is not None


def test_input_length_sets_the_sequential_input_shape():
    model = Sequential([layers.Embedding(100, 8, input_length=12)])
    assert model.inputs[0].shape == (None, 12)
    assert model.count_params() == 800


def test_float_indices_are_cast():
    layer = layers.Embedding(3, 2, embeddings_initializer="identity")
    assert layer(np.array([[2.0]])).tolist() == [[[0.0, 0.0]]]
