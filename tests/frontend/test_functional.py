import numpy as np
import pytest

import graphc
from graphc.frontend import Input, Model, Sequential, layers


def relu(x):
    return np.maximum(x, 0)


def test_residual_two_input_model_matches_numpy():
    a, b = Input((4,), name="a"), Input((4,), name="b")
    hidden = layers.Dense(4, activation="relu", name="hidden")(a)
    merged = layers.Add(name="residual")([hidden, a])
    out = layers.Dense(2, name="head")(layers.Concatenate()([merged, b]))
    model = Model([a, b], out, name="two_inputs")

    rng = np.random.default_rng(0)
    xa, xb = rng.standard_normal((5, 4)), rng.standard_normal((5, 4))
    w1, b1, w2, b2 = model.get_weights()
    expected = np.concatenate([relu(xa @ w1 + b1) + xa, xb], -1) @ w2 + b2
    np.testing.assert_allclose(model.predict([xa, xb], verbose=0), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model([xa, xb]), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        model.predict({"a": xa, "b": xb}, verbose=0), expected, rtol=1e-5, atol=1e-6
    )
    assert [layer.name for layer in model.layers] == [
        "a",
        "hidden",
        "residual",
        "b",
        "concatenate",
        "head",
    ]


def test_shared_layer_shares_weights():
    a, b = Input((3,)), Input((3,))
    shared = layers.Dense(2)
    model = Model([a, b], [shared(a), shared(b)])
    assert len(model.weights) == 2 and model.count_params() == 8
    x = np.ones((1, 3), "float32")
    left, right = model.predict([x, x], verbose=0)
    np.testing.assert_array_equal(left, right)
    assert len(shared._inbound_nodes) == 2


def test_multi_branch_dict_outputs():
    x = Input((6,), name="features")
    trunk = layers.Dense(8, activation="relu")(x)
    outputs = {
        "score": layers.Dense(1, activation="sigmoid", name="score")(trunk),
        "classes": layers.Dense(3, activation="softmax", name="classes")(trunk),
    }
    model = Model({"features": x}, outputs)
    result = model.predict({"features": np.ones((4, 6))}, verbose=0)
    assert set(result) == {"score", "classes"}
    assert result["score"].shape == (4, 1) and result["classes"].shape == (4, 3)
    np.testing.assert_allclose(result["classes"].sum(-1), 1.0, rtol=1e-6)
    eager = model({"features": np.ones((4, 6))})
    np.testing.assert_allclose(eager["score"], result["score"], rtol=1e-6)


def test_graphc_ops_between_layers():
    x = Input((3,))
    h = layers.Dense(3, kernel_initializer="identity", use_bias=False)(x)
    out = layers.Dense(1, kernel_initializer="ones", use_bias=False)(graphc.exp(h) * 2.0)
    model = Model(x, out[:, 0])
    data = np.array([[0.0, 1.0, 2.0]], "float32")
    np.testing.assert_allclose(model.predict(data, verbose=0), [2 * np.exp(data).sum()], rtol=1e-5)


def test_nested_models_are_layers():
    inner = Sequential([layers.Input((4,)), layers.Dense(3, activation="relu")], name="inner")
    x = Input((4,))
    model = Model(x, layers.Dense(1)(inner(x)))
    assert model.layers[1] is inner and model.count_params() == 15 + 4
    data = np.ones((2, 4), "float32")
    np.testing.assert_allclose(
        model.predict(data, verbose=0), model.layers[2](inner(data)), rtol=1e-6
    )


def test_model_called_on_new_symbolic_inputs():
    x = Input((2,))
    model = Model(x, layers.Dense(2)(x))
    y = model(Input((2,)))
    assert y.shape == (None, 2) and y.origin.layer is model


def test_trace_replays_on_new_values():
    x = Input((3,))
    model = Model(x, layers.Dense(2, activation="relu")(layers.Dropout(0.5)(x)))
    new = graphc.placeholder((None, 3))
    (inference,) = model.trace([new])
    (training,) = model.trace([new], training=True)
    graph = graphc.Graph([new] + [w.symbol for w in model.weights], training)
    assert "random_uniform" in {graph.primitive(n).name for n in graph.order}
    assert inference.shape == training.shape == (None, 2)


def test_disconnected_graph_names_the_input():
    a, b = Input((2,), name="a"), Input((2,), name="b")
    out = layers.Add()([a, b])
    with pytest.raises(graphc.GraphError, match="graph disconnected.*'b'"):
        Model(a, out)


def test_duplicate_layer_names_are_refused():
    x = Input((2,))
    y = layers.Dense(2, name="same")(layers.Dense(2, name="same")(x))
    with pytest.raises(ValueError, match="'same' is used 2 times"):
        Model(x, y)


def test_wrong_input_shape_is_named():
    x = Input((3,), name="x")
    model = Model(x, layers.Dense(1)(x))
    with pytest.raises(graphc.InputError, match=r"input 0 \('x'\) expected shape \(None,3\)"):
        model.predict(np.ones((2, 4)), verbose=0)
    with pytest.raises(graphc.ShapeError, match="input 'x' expected shape"):
        model(Input((5,)))
    with pytest.raises(graphc.InputError, match="expects 1 input"):
        model.predict([np.ones((2, 3)), np.ones((2, 3))], verbose=0)


def test_inputs_outputs_and_get_layer():
    x = Input((3,), name="x")
    y = layers.Dense(2, name="d")(x)
    model = Model(inputs=x, outputs=y)
    assert model.inputs == [x] and model.outputs == [y]
    assert model.input is x and model.output is y
    assert model.get_layer("d") is model.get_layer(index=1)
    with pytest.raises(ValueError, match="No such layer: e. Existing layers are"):
        model.get_layer("e")
    with pytest.raises(ValueError, match="only has 2 layers"):
        model.get_layer(index=5)
    with pytest.raises(ValueError, match="Provide either"):
        model.get_layer()


def test_integer_inputs_are_cast_to_the_input_dtype():
    ids = Input((3,), dtype="int32")
    model = Model(ids, layers.Embedding(4, 2, embeddings_initializer="identity")(ids))
    out = model.predict(np.array([[0, 1, 3]], dtype=np.int64), verbose=0)
    assert out.shape == (1, 3, 2)


def test_keras_guide_mnist_model_counts_and_shapes():
    inputs = Input(shape=(784,))
    x = layers.Dense(64, activation="relu")(inputs)
    x = layers.Dense(64, activation="relu")(x)
    outputs = layers.Dense(10)(x)
    model = Model(inputs=inputs, outputs=outputs, name="mnist_model")
    assert model.count_params() == 55050
    assert [layer.count_params() for layer in model.layers] == [0, 50240, 4160, 650]
    assert [layer.output.shape for layer in model.layers[1:]] == [
        (None, 64),
        (None, 64),
        (None, 10),
    ]


def test_keras_guide_shared_embedding_counts():
    shared = layers.Embedding(1000, 128)
    text_a, text_b = Input((10,), dtype="int32"), Input((20,), dtype="int32")
    model = Model([text_a, text_b], [shared(text_a), shared(text_b)])
    assert model.count_params() == 128000
    assert [o.shape for o in model.outputs] == [(None, 10, 128), (None, 20, 128)]


def test_one_element_lists_unwrap_as_in_keras():
    # Keras 3 (`unpack_singleton`): Model([x], [y]) returns single results; inputs/outputs
    # stay lists.
    x = Input((4,), name="x")
    model = Model([x], [layers.Dense(2, name="head")(x)])
    data = np.ones((3, 4), "float32")
    assert isinstance(model.predict(data, verbose=0), np.ndarray)
    assert isinstance(model.predict_on_batch(data), np.ndarray)
    assert model(data).shape == (3, 2)
    assert model(Input((4,))).shape == (None, 2)
    assert model.output_shape == (None, 2) and model.input_shape == (None, 4)
    assert isinstance(model.inputs, list) and isinstance(model.outputs, list)
    assert isinstance(model.input, list) and isinstance(model.output, list)
    tupled = Model((x,), (layers.Dense(2)(x),))
    assert tupled.predict(data, verbose=0).shape == (3, 2)
    assert tupled.output_shape == (None, 2)
    rebuilt = Model.from_config(model.get_config())
    assert rebuilt.output_shape == (None, 2) and rebuilt(data).shape == (3, 2)


def test_one_element_lists_train_with_y_as_array_or_list():
    x = Input((4,))
    model = Model([x], [layers.Dense(2)(x)])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    data, target = np.ones((8, 4), "float32"), np.zeros((8, 2), "float32")
    for y in (target, [target]):
        history = model.fit(data, y, epochs=1, batch_size=4, verbose=0)
        assert set(history.history) == {"loss", "mae"}
    assert model.evaluate(data, target, verbose=0) == model.evaluate([data], [target], verbose=0)
    assert set(model.evaluate(data, [target], verbose=0, return_dict=True)) == {"loss", "mae"}


def test_shapes_are_flat_lists_for_several_inputs_or_outputs():
    a, b = Input((4,), name="a"), Input((3,), name="b")
    model = Model({"a": a, "b": b}, [layers.Dense(2)(a), layers.Dense(1)(b)])
    assert model.input_shape == [(None, 4), (None, 3)]
    assert model.output_shape == [(None, 2), (None, 1)]
    single_dict = Model([a], {"out": layers.Dense(2)(a)})
    assert single_dict.output_shape == (None, 2)
    assert set(single_dict(np.ones((1, 4)))) == {"out"}


def test_output_names_are_the_output_layers_names():
    a, b = Input((4,), name="a"), Input((3,), name="b")
    head = layers.Dense(2, name="head")
    model = Model([a, b], [head(a), layers.Dense(1, name="aux")(b), head(a)])
    assert model.output_names == ["head", "aux", "head"]  # Keras 3 does not deduplicate
    assert Model(a, a).output_names == ["a"]
    assert not hasattr(model, "input_names")  # Keras 3's Functional has none either
    rebuilt = Model.from_config(model.get_config())
    assert rebuilt.output_names == ["head", "aux", "head"]


def test_renamed_output_names_name_the_losses_and_metrics():
    x = Input((3,), name="x")
    model = Model(x, [layers.Dense(1, name="d1")(x), layers.Dense(1, name="d2")(x)])
    model.output_names = ["price", "volume"]  # Keras lets the user rename the outputs
    model.compile(
        optimizer="sgd",
        loss={"price": "mse", "volume": "mae"},
        metrics={"price": ["mae"], "volume": ["mae"]},
    )
    data = np.ones((8, 3), "float32")
    history = model.fit(data, [np.ones((8, 1)), np.zeros((8, 1))], epochs=1, verbose=0)
    assert {"price_loss", "volume_loss", "price_mae", "volume_mae"} <= set(history.history)
