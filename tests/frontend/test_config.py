import json

import numpy as np
import pytest

import graphc
from graphc.frontend import Input, Model, Sequential, layers, models
from graphc.frontend.utils import custom_object_scope, register_keras_serializable


@register_keras_serializable(package="Tests")
class Scale(layers.Layer):
    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def build(self, input_shape):
        self.alpha = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="alpha")

    def call(self, x):
        return x * self.alpha * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


class AutoConfig(layers.Layer):
    def __init__(self, units, note="x", **kwargs):
        super().__init__(**kwargs)
        self.units, self.note = units, note

    def call(self, x):
        return x[:, : self.units]


def same_predictions(a, b, x):
    b.set_weights(a.get_weights())
    np.testing.assert_allclose(a.predict(x, verbose=0), b.predict(x, verbose=0), rtol=1e-6)


def test_sequential_round_trip_through_json():
    model = Sequential(
        [
            layers.Input((6,)),
            layers.Dense(4, activation="tanh"),
            Scale(3.0),
            layers.Dropout(0.1),
            layers.Dense(2),
        ],
        name="seq",
    )
    text = model.to_json()
    config = json.loads(text)
    assert config["class_name"] == "Sequential"
    assert [entry["class_name"] for entry in config["config"]["layers"]] == [
        "InputLayer",
        "Dense",
        "Scale",
        "Dropout",
        "Dense",
    ]
    copy = models.model_from_json(text)
    assert copy.name == "seq" and copy.get_config() == model.get_config()
    same_predictions(model, copy, np.ones((3, 6), "float32"))


def test_functional_round_trip_with_shared_layers_and_merges():
    a, b = Input((4,), name="a"), Input((4,), name="b")
    shared = layers.Dense(3, name="shared")
    merged = layers.Concatenate(name="cat")([shared(a), shared(b)])
    outputs = {"main": layers.Dense(1, name="main")(merged), "aux": Scale(name="aux")(merged)}
    model = Model({"a": a, "b": b}, outputs, name="fn")
    config = model.get_config()
    assert json.loads(json.dumps(config)) == config
    shared_entry = next(e for e in config["layers"] if e["name"] == "shared")
    assert len(shared_entry["inbound_nodes"]) == 2

    copy = Model.from_config(config)
    assert copy.get_config() == config
    assert copy.get_layer("shared")._inbound_nodes[1].outputs is not None
    x = {"a": np.ones((2, 4), "float32"), "b": np.full((2, 4), 2.0, "float32")}
    copy.set_weights(model.get_weights())
    want, got = model.predict(x, verbose=0), copy.predict(x, verbose=0)
    for key in ("main", "aux"):
        np.testing.assert_allclose(got[key], want[key], rtol=1e-6)


def test_custom_objects_instead_of_registration():
    x = Input((3,))
    model = Model(x, AutoConfig(2)(x))
    with pytest.raises(ValueError, match="Could not locate layer 'AutoConfig'"):
        models.model_from_json(model.to_json())
    copy = models.model_from_json(model.to_json(), custom_objects={"AutoConfig": AutoConfig})
    assert copy.layers[1].units == 2
    with custom_object_scope({"AutoConfig": AutoConfig}):
        assert Model.from_config(model.get_config()).layers[1].note == "x"


def test_automatic_config_of_custom_layers():
    layer = AutoConfig(5, note="y", name="auto")
    assert layer.get_config() == {
        "name": "auto",
        "trainable": True,
        "dtype": "float32",
        "units": 5,
        "note": "y",
    }
    assert AutoConfig.from_config(layer.get_config()).units == 5


def test_non_json_constructor_arguments_need_get_config():
    class Holder(layers.Layer):
        def __init__(self, thing, **kwargs):
            super().__init__(**kwargs)
            self.thing = thing

    with pytest.raises(TypeError, match="not plain JSON data.*define get_config"):
        Holder(object()).get_config()


def test_subclassed_model_config():
    @register_keras_serializable(package="Tests")
    class Head(Model):
        def __init__(self, units=2, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.dense = layers.Dense(units)

        def call(self, x):
            return self.dense(x)

    model = Head(units=3, name="head")
    copy = models.model_from_json(model.to_json())
    assert isinstance(copy, Head) and copy.units == 3 and copy.name == "head"


def test_raw_graphc_ops_cannot_be_serialized():
    x = Input((2,))
    model = Model(x, graphc.exp(layers.Dense(2)(x)))
    with pytest.raises(ValueError, match="graphc op 'exp'.*Lambda"):
        model.get_config()


def test_initializer_regularizer_and_constraint_configs():
    layer = layers.Dense(
        2,
        kernel_initializer="he_normal",
        kernel_regularizer="l2",
        bias_constraint="non_neg",
        activity_regularizer={"class_name": "L1", "config": {"l1": 0.5}},
    )
    clone = layers.Dense.from_config(json.loads(json.dumps(layer.get_config())))
    assert type(clone.kernel_initializer).__name__ == "HeNormal"
    assert clone.kernel_regularizer.l2 == 0.01 and clone.activity_regularizer.l1 == 0.5
    assert type(clone.bias_constraint).__name__ == "NonNeg"


def test_clone_model_has_new_weights():
    model = Sequential([layers.Input((3,)), layers.Dense(4)])
    clone = models.clone_model(model)
    assert clone.get_config()["layers"][1]["config"]["units"] == 4
    assert clone.layers[0] is not model.layers[0]
    assert not np.array_equal(clone.get_weights()[0], model.get_weights()[0])


def test_deferred_sequential_config():
    model = Sequential([layers.Dense(2)])
    copy = Sequential.from_config(model.get_config())
    assert not copy.built and copy.predict(np.ones((1, 5)), verbose=0).shape == (1, 2)


def test_nested_model_round_trip():
    inner = Sequential([layers.Input((4,)), layers.Dense(3)], name="inner")
    x = Input((4,))
    model = Model(x, layers.Dense(1)(inner(x)))
    copy = models.model_from_json(model.to_json())
    assert [layer.name for layer in copy.layers] == [layer.name for layer in model.layers]
    same_predictions(model, copy, np.ones((2, 4), "float32"))
