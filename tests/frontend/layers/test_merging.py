import numpy as np
import pytest
from layer_test_utils import run_layer_test

import graphc
from graphc.frontend import Input, layers

SHAPES = [(2, 3), (2, 3), (2, 3)]


@pytest.mark.parametrize(
    ("cls", "reference"),
    [
        (layers.Add, lambda xs: xs[0] + xs[1] + xs[2]),
        (layers.Multiply, lambda xs: xs[0] * xs[1] * xs[2]),
        (layers.Average, lambda xs: (xs[0] + xs[1] + xs[2]) / 3),
        (layers.Maximum, lambda xs: np.maximum(np.maximum(xs[0], xs[1]), xs[2])),
        (layers.Minimum, lambda xs: np.minimum(np.minimum(xs[0], xs[1]), xs[2])),
    ],
)
def test_elementwise_merges(cls, reference):
    run_layer_test(
        cls,
        {},
        input_shape=SHAPES,
        expected_output_shape=(2, 3),
        expected_num_trainable_weights=0,
        reference=lambda xs, w: reference(xs),
    )


def test_subtract_takes_exactly_two_inputs():
    run_layer_test(
        layers.Subtract,
        {},
        input_shape=[(2, 3), (2, 3)],
        expected_output_shape=(2, 3),
        reference=lambda xs, w: xs[0] - xs[1],
    )
    with pytest.raises(ValueError, match="exactly 2 inputs"):
        layers.Subtract()([Input((3,)), Input((3,)), Input((3,))])


def test_merge_broadcasts():
    assert layers.Add()([Input((4, 3)), Input((1, 3))]).shape == (None, 4, 3)


def test_incompatible_shapes_are_named():
    with pytest.raises(graphc.ShapeError, match=r"incompatible shapes.*\(None, 3\), \(None, 4\)"):
        layers.Add()([Input((3,)), Input((4,))])


def test_merge_needs_a_list():
    with pytest.raises(ValueError, match="list of inputs"):
        layers.Add()(Input((3,)))


def test_concatenate():
    run_layer_test(
        layers.Concatenate,
        {"axis": -1},
        input_shape=[(2, 3), (2, 5)],
        expected_output_shape=(2, 8),
        reference=lambda xs, w: np.concatenate(xs, -1),
    )
    run_layer_test(
        layers.Concatenate,
        {"axis": 1},
        input_shape=[(2, 3, 4), (2, 1, 4)],
        expected_output_shape=(2, 4, 4),
        reference=lambda xs, w: np.concatenate(xs, 1),
    )


def test_concatenate_mismatch():
    with pytest.raises(graphc.ShapeError, match="matching shapes except for the concatenation"):
        layers.Concatenate()([Input((3, 2)), Input((4, 2))])


def test_concatenate_masks():
    ids = Input((4,), dtype="int32")
    emb = layers.Embedding(5, 2, mask_zero=True)(ids)
    other = Input((4, 3))
    along_features = layers.Concatenate()([emb, other])
    along_time = layers.Concatenate(axis=1)([emb, other[:, :, :2]])
    data = np.array([[1, 0, 2, 0]], "int32")
    features = graphc.Graph([ids], along_features.origin.mask)(data)
    assert features.tolist() == [[True, False, True, False]]
    time = graphc.Graph([ids, other], along_time.origin.mask)(data, np.zeros((1, 4, 3)))
    assert time.tolist() == [[True, False, True, False, True, True, True, True]]


def test_dot_vectors_and_matrices():
    run_layer_test(
        layers.Dot,
        {"axes": 1},
        input_shape=[(3, 4), (3, 4)],
        expected_output_shape=(3, 1),
        reference=lambda xs, w: (xs[0] * xs[1]).sum(-1, keepdims=True),
    )
    run_layer_test(
        layers.Dot,
        {"axes": (2, 1)},
        input_shape=[(2, 3, 4), (2, 4, 5)],
        expected_output_shape=(2, 3, 5),
        reference=lambda xs, w: xs[0] @ xs[1],
    )
    run_layer_test(
        layers.Dot,
        {"axes": [1, 1]},
        input_shape=[(2, 4, 3), (2, 4, 5)],
        expected_output_shape=(2, 3, 5),
        reference=lambda xs, w: xs[0].transpose(0, 2, 1) @ xs[1],
    )


def test_dot_normalize_is_cosine_similarity():
    def cosine(xs, w):
        a, b = xs
        return ((a * b).sum(-1) / np.linalg.norm(a, axis=-1) / np.linalg.norm(b, axis=-1))[:, None]

    run_layer_test(
        layers.Dot,
        {"axes": -1, "normalize": True},
        input_shape=[(3, 4), (3, 4)],
        expected_output_shape=(3, 1),
        reference=cosine,
    )


def test_functional_forms():
    a, b = Input((3,)), Input((3,))
    assert layers.add([a, b]).origin.layer.__class__ is layers.Add
    assert layers.concatenate([a, b]).shape == (None, 6)
    assert layers.dot([a, b], axes=1).shape == (None, 1)
    for fn in (layers.subtract, layers.multiply, layers.average, layers.maximum, layers.minimum):
        assert fn([a, b]).shape == (None, 3)
