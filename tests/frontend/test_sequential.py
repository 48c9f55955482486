import numpy as np
import pytest

import graphc
from graphc.frontend import Input, Sequential, layers


def mnist_model():
    return Sequential(
        [
            layers.Flatten(input_shape=(28, 28)),
            layers.Dense(128, activation="relu"),
            layers.Dropout(0.2),
            layers.Dense(10),
        ]
    )


def test_mnist_notes_model_parameter_counts_and_shapes():
    model = mnist_model()
    assert model.count_params() == 101770
    assert [layer.count_params() for layer in model.layers] == [0, 100480, 0, 1290]
    assert [layer.output.shape for layer in model.layers] == [
        (None, 784),
        (None, 128),
        (None, 128),
        (None, 10),
    ]
    assert [layer.name for layer in model.layers] == ["flatten", "dense", "dropout", "dense_1"]


def test_predict_batches_and_matches_numpy():
    model = mnist_model()
    x = np.random.default_rng(0).random((70, 28, 28)).astype("float32")
    w1, b1, w2, b2 = model.get_weights()
    expected = np.maximum(x.reshape(70, -1) @ w1 + b1, 0) @ w2 + b2
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(
        model.predict(x, batch_size=16, verbose=0), expected, rtol=1e-4, atol=1e-5
    )
    np.testing.assert_allclose(model(x), expected, rtol=1e-4, atol=1e-5)


def test_predict_shows_keras_progress(capsys):
    model = Sequential([layers.Input((2,)), layers.Dense(1)])
    model.predict(np.ones((70, 2)), batch_size=32)  # verbose="auto": the bar, as Keras 3
    assert capsys.readouterr().out.startswith("3/3 ━━━")
    model.predict(np.ones((70, 2)), batch_size=32, verbose=2)
    assert capsys.readouterr().out.startswith("3/3 - ")
    model.predict(np.ones((70, 2)), batch_size=32, verbose=0)
    assert capsys.readouterr().out == ""


def test_add_and_pop():
    model = Sequential()
    model.add(Input((4,)))
    model.add(layers.Dense(3))
    model.add(layers.Dense(2))
    assert model.built and model.count_params() == 15 + 8
    popped = model.pop()
    assert isinstance(popped, layers.Dense) and model.outputs[0].shape == (None, 3)
    assert model.predict(np.ones((1, 4)), verbose=0).shape == (1, 3)
    model.pop()
    with pytest.raises(TypeError, match="no layers to pop"):
        model.pop()


def test_deferred_build_on_first_call():
    model = Sequential([layers.Dense(5, activation="relu"), layers.Dense(2)])
    assert not model.built
    with pytest.raises(ValueError, match="has not yet been built"):
        model.summary()
    out = model(np.ones((3, 7), "float32"))
    assert out.shape == (3, 2) and model.built
    assert model.inputs[0].shape == (None, 7) and model.count_params() == 40 + 12


def test_deferred_build_from_predict():
    model = Sequential([layers.Dense(2)])
    assert model.predict(np.ones((4, 3)), verbose=0).shape == (4, 2)


def test_build_with_input_shape():
    model = Sequential([layers.Dense(2)])
    model.build((None, 6))
    assert model.count_params() == 14


def test_input_dim_legacy_argument():
    model = Sequential([layers.Dense(4, input_dim=3), layers.Dense(1)])
    assert model.inputs[0].shape == (None, 3) and model.count_params() == 16 + 5


def test_shape_errors_surface_when_adding():
    model = Sequential([layers.Input((3, 4)), layers.Flatten()])
    model.add(layers.RepeatVector(2))
    with pytest.raises(graphc.ShapeError, match="RepeatVector 'repeat_vector_1' expected an input"):
        model.add(layers.RepeatVector(2))
    assert len(model.layers) == 2 and model.outputs[0].shape == (None, 2, 12)


def test_only_layers_can_be_added():
    with pytest.raises(TypeError, match="Only instances of `Layer`"):
        Sequential([3])
    with pytest.raises(ValueError, match="can only be the first layer"):
        Sequential([layers.Dense(2), layers.InputLayer(shape=(2,))])


def test_graph_reflects_weights_when_read():
    model = Sequential([layers.Input((2,)), layers.Dense(1, use_bias=False)])
    model.set_weights([np.ones((2, 1))])
    first = model.graph
    assert model.graph is first
    model.set_weights([np.full((2, 1), 2.0)])
    np.testing.assert_allclose(first(np.ones((1, 2), "float32")), [[2.0]])
    np.testing.assert_allclose(model.graph(np.ones((1, 2), "float32")), [[4.0]])
    np.testing.assert_allclose(model.predict(np.ones((1, 2)), verbose=0), [[4.0]])


def test_structure_changes_retrace_eager_calls():
    model = Sequential([layers.Input((2,)), layers.Dense(3)])
    assert model(np.ones((1, 2))).shape == (1, 3)
    model.add(layers.Dense(1))
    assert model(np.ones((1, 2))).shape == (1, 1)
