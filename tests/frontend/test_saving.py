"""Saving and loading models: model files (architecture, weights, Lambda graphs), weights
files (by order, by name, skipping mismatches), and what a reloaded model can do."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import warnings
import zipfile

import numpy as np
import pytest

import graphc
from graphc.errors import SerializationError, ShapeError
from graphc.frontend import Input, Model, Sequential, backend, layers, models, optimizers, utils
from graphc.frontend.saving import load_weights, save_model, save_weights
from graphc.frontend.saving.lambda_graphs import GraphFunction


def reload(model, tmp_path, name="model.graphc", **kwargs):
    path = tmp_path / name
    model.save(path)
    return models.load_model(path, **kwargs)


def assert_same_predictions(model, again, data):
    expected, got = model.predict(data, verbose=0), again.predict(data, verbose=0)
    for e, g in zip(_leaves(expected), _leaves(got)):
        np.testing.assert_array_equal(e, g)


def _leaves(x):
    if isinstance(x, dict):
        return [x[k] for k in sorted(x)]
    return list(x) if isinstance(x, list) else [x]


def document_of(path):
    with zipfile.ZipFile(path) as zf:
        return json.loads(zf.read("document.json"))


@pytest.fixture
def data(rng):
    return rng.normal(size=(7, 4)).astype("float32")


# --- architectures -----------------------------------------------------------------------------


def test_sequential_round_trip(tmp_path, data):
    utils.set_random_seed(1)
    model = Sequential(
        [
            layers.Input((4,), name="x"),
            layers.Dense(8, activation="relu"),
            layers.BatchNormalization(),
            layers.Dropout(0.3),
            layers.Dense(3, activation="softmax", name="probs"),
        ],
        name="classifier",
    )
    model.layers[1].set_weights([w + 0.5 for w in model.layers[1].get_weights()])  # not init
    again = reload(model, tmp_path)
    assert type(again) is Sequential and again.name == "classifier"
    assert again.get_config() == model.get_config()
    assert [w.name for w in again.weights] == [w.name for w in model.weights]
    for a, b in zip(again.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert_same_predictions(model, again, data)


def test_functional_multi_io_shared_and_residual(tmp_path, rng):
    a, b = Input((4,), name="a"), Input((4,), name="b")
    shared = layers.Dense(4, activation="tanh", name="shared")
    h = layers.Add(name="residual")([shared(a), a])
    merged = layers.Concatenate(name="merge")([h, shared(b)])
    outputs = {"score": layers.Dense(1, name="score")(merged), "code": layers.Dense(2)(h)}
    model = Model({"a": a, "b": b}, outputs, name="multi")
    again = reload(model, tmp_path)
    assert again.count_params() == model.count_params()
    inputs = {"a": rng.normal(size=(5, 4)), "b": rng.normal(size=(5, 4))}
    assert_same_predictions(model, again, inputs)
    assert sorted(again.predict(inputs, verbose=0)) == ["code", "score"]


def test_nested_models_round_trip(tmp_path, data):
    base = Sequential([layers.Input((4,)), layers.Dense(6, activation="relu")], name="base")
    x = Input((4,))
    model = Model(x, layers.Dense(2, name="head")(base(x)), name="outer")
    again = reload(model, tmp_path)
    assert isinstance(again.get_layer("base"), Sequential)
    assert_same_predictions(model, again, data)


def test_deferred_sequential_saved_unbuilt_builds_on_first_use(tmp_path, data):
    model = Sequential([layers.Dense(3, name="d")], name="later")
    again = reload(model, tmp_path)
    assert not again.built and again.weights == []
    assert again.predict(data, verbose=0).shape == (7, 3)


def test_sequential_built_from_data_keeps_its_input_type(tmp_path, data):
    model = Sequential([layers.Dense(3)])
    model.predict(data, verbose=0)
    again = reload(model, tmp_path)
    assert again.built and again.input_signature().types == model.input_signature().types
    assert_same_predictions(model, again, data)


@utils.register_keras_serializable(package="TestSaving")
class Scale(layers.Layer):
    def __init__(self, init=1.0, **kwargs):
        super().__init__(**kwargs)
        self.init = init

    def build(self, input_shape):
        self.gamma = self.add_weight(
            shape=(input_shape[-1],), initializer="random_normal", name="gamma"
        )

    def call(self, x):
        return x * self.gamma + self.init

    def get_config(self):
        return {**super().get_config(), "init": self.init}


class Offset(layers.Layer):  # not registered: needs custom_objects
    def call(self, x):
        return x + 1.0


def test_registered_custom_layer_round_trip(tmp_path, data):
    model = Sequential([layers.Input((4,)), Scale(2.0, name="scale")])
    again = reload(model, tmp_path)
    assert type(again.get_layer("scale")) is Scale and again.get_layer("scale").init == 2.0
    assert_same_predictions(model, again, data)


def test_custom_objects_for_unregistered_layers(tmp_path, data):
    model = Sequential([layers.Input((4,)), Offset(name="offset")])
    path = tmp_path / "m.graphc"
    model.save(path)
    with pytest.raises(SerializationError, match="'Offset'.*custom_objects"):
        models.load_model(path)
    again = models.load_model(path, custom_objects={"Offset": Offset})
    assert_same_predictions(model, again, data)
    with utils.custom_object_scope({"Offset": Offset}):
        assert type(models.load_model(path).layers[0]) is Offset


@utils.register_keras_serializable(package="TestSaving")
class MLP(Model):
    def __init__(self, hidden=5, classes=3, **kwargs):
        super().__init__(**kwargs)
        self.hidden_units = hidden
        self.classes = classes
        self.hidden = layers.Dense(hidden, activation="relu")
        self.out = layers.Dense(classes)

    def call(self, x):
        return self.out(self.hidden(x))

    def get_config(self):
        return {**super().get_config(), "hidden": self.hidden_units, "classes": self.classes}


class Unregistered(Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = layers.Dense(2)

    def call(self, x):
        return self.dense(x)


def test_subclassed_model_with_config_reloads(tmp_path, data):
    model = MLP(hidden=6, name="mlp")
    model.predict(data, verbose=0)  # builds it
    again = reload(model, tmp_path)
    assert type(again) is MLP and again.built and again.hidden_units == 6
    assert_same_predictions(model, again, data)


def test_unregistered_subclassed_model_is_refused_clearly(tmp_path, data):
    model = Unregistered(name="plain")
    model.predict(data, verbose=0)
    path = tmp_path / "m.graphc"
    model.save(path)
    with pytest.raises(SerializationError, match="Could not locate.*'Unregistered'.*custom_obj"):
        models.load_model(path)
    again = models.load_model(path, custom_objects={"Unregistered": Unregistered})
    assert_same_predictions(model, again, data)


def test_json_config_and_weights_round_trip(tmp_path, data):
    model = Sequential([layers.Input((4,)), layers.Dense(2)])
    model.save_weights(tmp_path / "w.weights.graphc")
    copy = models.model_from_json(model.to_json())
    copy.load_weights(tmp_path / "w.weights.graphc")
    assert_same_predictions(model, copy, data)


# --- Lambda layers ----------------------------------------------------------------------------


@utils.register_keras_serializable(package="TestSaving")
def squash(x, scale=1.0):
    return graphc.tanh(x) * scale


@utils.register_keras_serializable(package="TestSaving")
def noisy(x, training=None):
    return x * 3.0 if training else x - 1.0


@utils.register_keras_serializable(package="TestSaving")
def with_mask(x, mask=None):
    return x


def test_lambda_replays_its_saved_graph(tmp_path, data):
    x = Input((4,))
    y = layers.Lambda(squash, arguments={"scale": 2.0}, name="squash")(x)
    z = layers.Lambda(graphc.exp, name="exp")(layers.Dense(3)(y))
    model = Model(x, z)
    again = reload(model, tmp_path)
    lam = again.get_layer("squash")
    assert isinstance(lam.function, GraphFunction) and lam.function.__name__ == "TestSaving>squash"
    assert lam.get_config() == model.get_layer("squash").get_config()
    assert_same_predictions(model, again, data)
    traces = document_of(tmp_path / "model.graphc")["lambdas"]["squash"]["traces"]
    assert [n["op"] for n in traces[0]["graph"]["nodes"]][1:] == ["tanh", "constant", "mul"]


def test_lambda_with_several_inputs_and_outputs(tmp_path, rng):
    a, b = Input((3,)), Input((3,))
    pair = layers.Lambda(lambda_pair, name="pair")([a, b])
    model = Model([a, b], [pair[0], layers.Dense(2)(pair[1])])
    again = reload(model, tmp_path)
    inputs = [rng.normal(size=(4, 3)), rng.normal(size=(4, 3))]
    assert_same_predictions(model, again, inputs)


@utils.register_keras_serializable(package="TestSaving")
def lambda_pair(xs):
    return [xs[0] + xs[1], xs[0] * xs[1]]


def test_lambda_taking_training_keeps_both_modes(tmp_path, data):
    model = Sequential([layers.Input((4,)), layers.Lambda(noisy, name="noisy")])
    again = reload(model, tmp_path)
    for training in (False, True):
        np.testing.assert_array_equal(
            again(data, training=training), model(data, training=training)
        )
    np.testing.assert_allclose(again(data, training=True), data * 3.0)


def test_reloaded_lambda_refuses_other_input_types(tmp_path):
    model = Sequential([layers.Input((4,)), layers.Lambda(graphc.exp, name="exp")])
    lam = reload(model, tmp_path).get_layer("exp")
    with pytest.raises(ShapeError, match=r"Lambda 'exp'.*takes inputs \(f32\[None,4\]\).*5"):
        lam(np.ones((2, 5), "float32"))


def test_reloaded_lambda_saves_again(tmp_path, data):
    model = Sequential([layers.Input((4,)), layers.Lambda(squash, name="sq")])
    once = reload(model, tmp_path, "once.graphc")
    twice = reload(once, tmp_path, "twice.graphc")
    assert_same_predictions(model, twice, data)


def test_lambda_reading_a_weight_cannot_be_saved(tmp_path):
    weight = graphc.frontend.Variable(np.ones(4, "float32"), name="outside")
    uses_weight.weight = weight
    model = Sequential([layers.Input((4,)), layers.Lambda(uses_weight, name="w")])
    with pytest.raises(SerializationError, match="Lambda 'w'.*more than its inputs.*outside"):
        model.save(tmp_path / "m.graphc")
    assert not os.listdir(tmp_path)


@utils.register_keras_serializable(package="TestSaving")
def uses_weight(x):
    return x * uses_weight.weight


def test_lambda_taking_mask_cannot_be_saved(tmp_path):
    model = Sequential([layers.Input((4,)), layers.Lambda(with_mask, name="m")])
    with pytest.raises(SerializationError, match="Lambda 'm'.*mask"):
        model.save(tmp_path / "m.graphc")


def test_loading_runs_no_python_from_the_file(tmp_path, data):
    """A fresh process loads a Lambda model whose function it has never seen."""
    model = Sequential([layers.Input((4,)), layers.Lambda(squash, name="sq"), layers.Dense(2)])
    model.save(tmp_path / "m.graphc")
    np.save(tmp_path / "x.npy", data)
    np.save(tmp_path / "expected.npy", model.predict(data, verbose=0))
    script = textwrap.dedent(
        """
        import sys, numpy as np
        from graphc.frontend import models
        from graphc.frontend.utils.serialization import get_registered_object
        assert get_registered_object("TestSaving>squash") is None
        model = models.load_model(sys.argv[1] + "/m.graphc")
        got = model.predict(np.load(sys.argv[1] + "/x.npy"), verbose=0)
        np.testing.assert_array_equal(got, np.load(sys.argv[1] + "/expected.npy"))
        print("ok", model.get_layer("sq").function)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok <GraphFunction 'TestSaving>squash'")


# --- files -------------------------------------------------------------------------------------


def test_file_layout_is_json_and_npy(tmp_path):
    model = Sequential([layers.Input((4,)), layers.Dense(2, name="d")], name="s")
    model.save(tmp_path / "m.graphc")
    with zipfile.ZipFile(tmp_path / "m.graphc") as zf:
        assert sorted(zf.namelist()) == [
            "arrays/weights/0.npy",
            "arrays/weights/1.npy",
            "document.json",
        ]
    document = document_of(tmp_path / "m.graphc")
    assert document["format"] == "graphc.model" and document["version"] == 1
    assert document["model_config"]["class_name"] == "Sequential"
    assert document["weights"][0] == {
        "name": "d/kernel",
        "layer": "d",
        "shape": [4, 2],
        "dtype": "float32",
        "key": "weights/0",
    }
    assert document["build"] == {"inputs": 0, "types": [{"shape": [None, 4], "dtype": "float32"}]}


def test_keras_file_names_work_with_a_warning_and_overwrite_is_respected(tmp_path):
    model = Sequential([layers.Input((4,)), layers.Dense(2)])
    x = np.ones((3, 4), "float32")
    for name in ("m.keras", "m.h5"):
        with pytest.warns(UserWarning, match="graphc writes its own file format"):
            model.save(tmp_path / name)
        np.testing.assert_array_equal(
            models.load_model(tmp_path / name).predict(x, verbose=0), model.predict(x, verbose=0)
        )
    with pytest.warns(UserWarning, match="prefer a .graphc name"):
        model.save_weights(tmp_path / "m.weights.h5")
    model.load_weights(tmp_path / "m.weights.h5")
    model.save(tmp_path / "m.graphc")
    with pytest.raises(FileExistsError, match="overwrite=False"):
        model.save(tmp_path / "m.graphc", overwrite=False)
    with pytest.raises(FileExistsError):
        model.save_weights(tmp_path / "m.graphc", overwrite=False)


def test_a_failed_save_keeps_the_old_file(tmp_path, data):
    good = Sequential([layers.Input((4,)), layers.Dense(2)], name="good")
    good.save(tmp_path / "m.graphc")
    bad = Sequential([layers.Input((4,)), layers.Lambda(uses_weight, name="bad")])
    uses_weight.weight = graphc.frontend.Variable(np.ones(4, "float32"), name="w")
    with pytest.raises(SerializationError):
        bad.save(tmp_path / "m.graphc")
    assert os.listdir(tmp_path) == ["m.graphc"]
    assert models.load_model(tmp_path / "m.graphc").name == "good"


def test_function_api_and_exports(tmp_path, data):
    model = Sequential([layers.Input((4,)), layers.Dense(2)])
    save_model(model, str(tmp_path / "m.graphc"))
    assert_same_predictions(model, models.load_model(str(tmp_path / "m.graphc")), data)
    assert models.save_model is save_model


# --- weights files ------------------------------------------------------------------------------


def two_dense(first=3, name="net"):
    return Sequential(
        [layers.Input((4,)), layers.Dense(first, name="a"), layers.Dense(2, name="b")], name=name
    )


def test_weights_by_order(tmp_path, data):
    source, target = two_dense(), two_dense()
    source.save_weights(tmp_path / "w.weights.graphc")
    target.load_weights(tmp_path / "w.weights.graphc")
    assert_same_predictions(source, target, data)
    assert document_of(tmp_path / "w.weights.graphc")["format"] == "graphc.weights"


def test_weights_by_order_ignore_layer_names(tmp_path, data):
    source = two_dense()
    target = Sequential([layers.Input((4,)), layers.Dense(3), layers.Dense(2)])
    save_weights(source, tmp_path / "w.graphc")
    load_weights(target, tmp_path / "w.graphc")
    assert_same_predictions(source, target, data)


def test_weights_by_order_mismatch_names_layer_and_shapes(tmp_path):
    two_dense(first=3).save_weights(tmp_path / "w.graphc")
    target = two_dense(first=5)
    before = target.get_weights()
    with pytest.raises(SerializationError, match=r"layer 'a'.*\(4, 5\).*\(4, 3\)"):
        target.load_weights(tmp_path / "w.graphc")
    for a, b in zip(before, target.get_weights()):  # nothing changed
        np.testing.assert_array_equal(a, b)
    one = Sequential([layers.Input((4,)), layers.Dense(2)])
    with pytest.raises(SerializationError, match="2 layer.*'a', 'b'.*1 layer"):
        one.load_weights(tmp_path / "w.graphc")


def test_weights_skip_mismatch_by_order(tmp_path, data):
    source = two_dense(first=3)
    source.save_weights(tmp_path / "w.graphc")
    target = Sequential([layers.Input((4,)), layers.Dense(3, name="a"), layers.Dense(5, name="b")])
    kept = target.get_layer("b").get_weights()
    with pytest.warns(UserWarning, match="layer 'b'.*skipping"):
        target.load_weights(tmp_path / "w.graphc", skip_mismatch=True)
    np.testing.assert_array_equal(target.get_layer("a").get_weights()[0], source.layers[0].kernel)
    np.testing.assert_array_equal(target.get_layer("b").get_weights()[0], kept[0])


def test_weights_by_name(tmp_path, data):
    source = two_dense()
    source.save_weights(tmp_path / "w.graphc")
    x = Input((4,))
    h = layers.Dense(3, name="a")(x)
    target = Model(x, [layers.Dense(2, name="b")(h), layers.Dense(7, name="extra")(h)])
    extra = target.get_layer("extra").get_weights()
    target.load_weights(tmp_path / "w.graphc", by_name=True)
    for name in ("a", "b"):
        for got, want in zip(target.get_layer(name).get_weights(), source.get_layer(name).weights):
            np.testing.assert_array_equal(got, want.numpy())
    np.testing.assert_array_equal(target.get_layer("extra").get_weights()[0], extra[0])


def test_weights_by_name_mismatch_and_skip(tmp_path):
    two_dense(first=3).save_weights(tmp_path / "w.graphc")
    target = two_dense(first=6)
    with pytest.raises(SerializationError, match="layer 'a'"):
        target.load_weights(tmp_path / "w.graphc", by_name=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        target.load_weights(tmp_path / "w.graphc", by_name=True, skip_mismatch=True)
    assert len(caught) == 2 and all("skip_mismatch" in str(w.message) for w in caught)


def test_load_weights_from_a_model_file(tmp_path, data):
    source = two_dense()
    source.save(tmp_path / "m.graphc")
    target = two_dense()
    target.load_weights(tmp_path / "m.graphc")
    assert_same_predictions(source, target, data)


def test_weights_need_a_built_model(tmp_path):
    model = Sequential([layers.Dense(2)])
    with pytest.raises(ValueError, match="needs a built model"):
        model.save_weights(tmp_path / "w.graphc")
    with pytest.raises(ValueError, match="needs a built model"):
        model.load_weights(tmp_path / "w.graphc")


def test_weights_of_frozen_and_non_trainable_layers(tmp_path, data):
    source = Sequential([layers.Input((4,)), layers.BatchNormalization(), layers.Dense(2)])
    source.layers[0].set_weights([np.full(4, v, "float32") for v in (2.0, 0.5, 0.1, 3.0)])
    source.layers[0].trainable = False
    source.save_weights(tmp_path / "w.graphc")
    target = Sequential([layers.Input((4,)), layers.BatchNormalization(), layers.Dense(2)])
    target.load_weights(tmp_path / "w.graphc")
    assert_same_predictions(source, target, data)


# --- training state ----------------------------------------------------------------------------


def compiled_classifier(optimizer="adam", **compile_kwargs):
    backend.clear_session()
    utils.set_random_seed(0)
    model = Sequential(
        [
            layers.Input((4,)),
            layers.Dense(16, activation="relu"),
            layers.Dropout(0.3),
            layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=optimizer,
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        **compile_kwargs,
    )
    return model


@pytest.fixture
def labelled(rng):
    return rng.normal(size=(48, 4)).astype("float32"), rng.integers(0, 3, 48)


def test_training_resumes_exactly_where_it_stopped(tmp_path, labelled):
    x, y = labelled
    fit = dict(batch_size=16, shuffle=False, verbose=0)
    first = compiled_classifier()
    first.fit(x, y, epochs=1, **fit)
    first.save(tmp_path / "epoch1.graphc")
    resumed = models.load_model(tmp_path / "epoch1.graphc")
    assert resumed.compiled and resumed.optimizer.iterations == 3
    resumed_history = resumed.fit(x, y, epochs=1, **fit).history
    straight = compiled_classifier()
    straight_history = straight.fit(x, y, epochs=2, **fit).history
    assert resumed_history["loss"][0] == straight_history["loss"][1]  # same dropout masks
    for a, b in zip(resumed.get_weights(), straight.get_weights()):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(resumed.optimizer.variables, straight.optimizer.variables):
        np.testing.assert_array_equal(a, b)


def test_compile_settings_round_trip(tmp_path, labelled):
    x, y = labelled
    model = compiled_classifier(optimizer=optimizers.SGD(learning_rate=0.05, momentum=0.9))
    model.fit(x, y, epochs=1, verbose=0)
    model.optimizer.learning_rate = 0.01  # changed after compile, as a callback would
    again = reload(model, tmp_path)
    assert again.get_compile_config()["loss"] == "sparse_categorical_crossentropy"
    assert type(again.optimizer) is optimizers.SGD and again.optimizer.momentum == 0.9
    assert again.optimizer.learning_rate == pytest.approx(0.01)
    assert again.evaluate(x, y, verbose=0) == model.evaluate(x, y, verbose=0)
    document = document_of(tmp_path / "model.graphc")
    assert [v["name"] for v in document["optimizer"]["variables"]][:2] == [
        "SGD/iteration",
        "SGD/learning_rate",
    ]


def test_compiled_but_untrained_model(tmp_path):
    model = compiled_classifier(optimizer="rmsprop")
    again = reload(model, tmp_path)
    assert again.compiled and not again.optimizer.built and again.optimizer.iterations == 0


def test_load_without_compile_and_save_without_optimizer(tmp_path, labelled):
    model = compiled_classifier()
    model.fit(*labelled, epochs=1, verbose=0)
    assert not reload(model, tmp_path, compile=False).compiled
    model.save(tmp_path / "bare.graphc", include_optimizer=False)
    document = document_of(tmp_path / "bare.graphc")
    assert "compile" not in document and "optimizer" not in document
    assert not models.load_model(tmp_path / "bare.graphc").compiled


@utils.register_keras_serializable(package="TestSaving")
def doubled_mse(y_true, y_pred):
    return graphc.mean((y_true - y_pred) ** 2, axis=-1) * 2.0


def test_custom_loss_is_found_again(tmp_path, rng):
    model = Sequential([layers.Input((3,)), layers.Dense(1)])
    model.compile(optimizer="sgd", loss=doubled_mse)
    x, y = rng.normal(size=(8, 3)), rng.normal(size=(8, 1))
    model.fit(x, y, epochs=1, verbose=0)
    again = reload(model, tmp_path)
    assert again.evaluate(x, y, verbose=0) == pytest.approx(model.evaluate(x, y, verbose=0))


def test_schedule_round_trip(tmp_path, labelled):
    schedule = optimizers.schedules.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5)
    model = compiled_classifier(optimizer=optimizers.Adam(learning_rate=schedule))
    model.fit(*labelled, epochs=1, batch_size=16, verbose=0)
    again = reload(model, tmp_path)
    assert again.optimizer.learning_rate == pytest.approx(model.optimizer.learning_rate)
    assert again.optimizer.iterations == 3
