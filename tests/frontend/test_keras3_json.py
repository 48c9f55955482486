"""Models written by Keras 3 itself load with `models.model_from_json`.

The JSON below is `keras.Model.to_json()` of four small models, generated once with Keras
3.15.1 (KERAS_BACKEND=jax) by a scratch script; this test does not import keras. EXPECTED
holds what Keras reported for each: parameter counts, output_shape, and `predict` on
`deterministic_input` after `set_weights(deterministic_weights(model))` (rounded to 6
places), so the weight layouts are checked too. The models were:

    tiny_cnn = Sequential([Input((8, 8, 1)), Conv2D(4, 3, activation="relu"),
                           MaxPooling2D(2), Flatten(), Dropout(0.25),
                           Dense(10, activation="softmax")], name="tiny_cnn")
    f = Input((6,), name="features")
    h = Dense(8, activation="relu", kernel_regularizer="l2", name="hidden")(f)
    h = Dropout(0.1, name="drop")(BatchNormalization(name="bn")(h))
    scorer = Model(f, Dense(1, activation="sigmoid", name="score")(h), name="scorer")
    a, b = Input((3,), name="a"), Input((2,), name="b")
    m = Dense(4, activation="tanh", name="mix")(Concatenate(name="cat")([a, b]))
    two_heads = Model([a, b], [Dense(2, name="left")(m), Dense(1, name="right")(m)],
                      name="two_heads")
    i = Input((5,), name="x")
    listy = Model([i], [Dense(3, name="proj")(i)], name="listy")
"""

import json

import numpy as np
import pytest

from graphc.frontend import Input, layers, models
from graphc.frontend.models.keras_config import from_keras_config

TINY_CNN = """\
{"module": "keras", "class_name": "Sequential", "config": {"name": "tiny_cnn", "trainable":
true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name":
"float32"}, "registered_name": null}, "layers": [{"module": "keras.layers", "class_name":
"InputLayer", "config": {"batch_shape": [null, 8, 8, 1], "dtype": "float32", "sparse":
false, "ragged": false, "name": "input_layer", "optional": false}, "registered_name": null},
{"module": "keras.layers", "class_name": "Conv2D", "config": {"name": "conv2d", "trainable":
true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name":
"float32"}, "registered_name": null}, "filters": 4, "kernel_size": [3, 3], "strides": [1,
1], "padding": "valid", "data_format": "channels_last", "dilation_rate": [1, 1], "groups":
1, "activation": "relu", "use_bias": true, "kernel_initializer": {"module":
"keras.initializers", "class_name": "GlorotUniform", "config": {"seed": null, "input_axes":
null, "output_axes": null}, "registered_name": null}, "bias_initializer": {"module":
"keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": null},
"kernel_regularizer": null, "bias_regularizer": null, "activity_regularizer": null,
"kernel_constraint": null, "bias_constraint": null}, "registered_name": null,
"build_config": {"input_shape": [null, 8, 8, 1]}}, {"module": "keras.layers", "class_name":
"MaxPooling2D", "config": {"name": "max_pooling2d", "trainable": true, "dtype": {"module":
"keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name":
null}, "pool_size": [2, 2], "padding": "valid", "strides": [2, 2], "data_format":
"channels_last"}, "registered_name": null}, {"module": "keras.layers", "class_name":
"Flatten", "config": {"name": "flatten", "trainable": true, "dtype": {"module": "keras",
"class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null},
"data_format": "channels_last"}, "registered_name": null, "build_config": {"input_shape":
[null, 3, 3, 4]}}, {"module": "keras.layers", "class_name": "Dropout", "config": {"name":
"dropout", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy",
"config": {"name": "float32"}, "registered_name": null}, "rate": 0.25, "seed": null,
"noise_shape": null}, "registered_name": null}, {"module": "keras.layers", "class_name":
"Dense", "config": {"name": "dense", "trainable": true, "dtype": {"module": "keras",
"class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null},
"units": 10, "activation": "softmax", "use_bias": true, "kernel_initializer": {"module":
"keras.initializers", "class_name": "GlorotUniform", "config": {"seed": null, "input_axes":
null, "output_axes": null}, "registered_name": null}, "bias_initializer": {"module":
"keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": null},
"kernel_regularizer": null, "bias_regularizer": null, "kernel_constraint": null,
"bias_constraint": null, "quantization_config": null}, "registered_name": null,
"build_config": {"input_shape": [null, 36]}}], "build_input_shape": [null, 8, 8, 1]},
"registered_name": null, "build_config": {"input_shape": [null, 8, 8, 1]}, "compile_config":
{}}
"""

SCORER = """\
{"module": "keras.src.models.functional", "class_name": "Functional", "config": {"name":
"scorer", "trainable": true, "layers": [{"module": "keras.layers", "class_name":
"InputLayer", "config": {"batch_shape": [null, 6], "dtype": "float32", "sparse": false,
"ragged": false, "name": "features", "optional": false}, "registered_name": null, "name":
"features", "inbound_nodes": []}, {"module": "keras.layers", "class_name": "Dense",
"config": {"name": "hidden", "trainable": true, "dtype": {"module": "keras", "class_name":
"DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "units": 8,
"activation": "relu", "use_bias": true, "kernel_initializer": {"module":
"keras.initializers", "class_name": "GlorotUniform", "config": {"seed": null, "input_axes":
null, "output_axes": null}, "registered_name": null}, "bias_initializer": {"module":
"keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": null},
"kernel_regularizer": {"module": "keras.regularizers", "class_name": "L2", "config": {"l2":
0.01}, "registered_name": null}, "bias_regularizer": null, "kernel_constraint": null,
"bias_constraint": null, "quantization_config": null}, "registered_name": null,
"build_config": {"input_shape": [null, 6]}, "name": "hidden", "inbound_nodes": [{"args":
[{"class_name": "__keras_tensor__", "config": {"shape": [null, 6], "dtype": "float32",
"keras_history": ["features", 0, 0]}}], "kwargs": {}}]}, {"module": "keras.layers",
"class_name": "BatchNormalization", "config": {"name": "bn", "trainable": true, "dtype":
{"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
"registered_name": null}, "axis": -1, "momentum": 0.99, "epsilon": 0.001, "center": true,
"scale": true, "beta_initializer": {"module": "keras.initializers", "class_name": "Zeros",
"config": {}, "registered_name": null}, "gamma_initializer": {"module":
"keras.initializers", "class_name": "Ones", "config": {}, "registered_name": null},
"moving_mean_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config":
{}, "registered_name": null}, "moving_variance_initializer": {"module":
"keras.initializers", "class_name": "Ones", "config": {}, "registered_name": null},
"beta_regularizer": null, "gamma_regularizer": null, "beta_constraint": null,
"gamma_constraint": null, "synchronized": false, "renorm": false, "renorm_clipping": null,
"renorm_momentum": 0.99}, "registered_name": null, "build_config": {"input_shape": [null,
8]}, "name": "bn", "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config":
{"shape": [null, 8], "dtype": "float32", "keras_history": ["hidden", 0, 0]}}], "kwargs":
{"mask": null}}]}, {"module": "keras.layers", "class_name": "Dropout", "config": {"name":
"drop", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy",
"config": {"name": "float32"}, "registered_name": null}, "rate": 0.1, "seed": null,
"noise_shape": null}, "registered_name": null, "name": "drop", "inbound_nodes": [{"args":
[{"class_name": "__keras_tensor__", "config": {"shape": [null, 8], "dtype": "float32",
"keras_history": ["bn", 0, 0]}}], "kwargs": {"training": false}}]}, {"module":
"keras.layers", "class_name": "Dense", "config": {"name": "score", "trainable": true,
"dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
"registered_name": null}, "units": 1, "activation": "sigmoid", "use_bias": true,
"kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform",
"config": {"seed": null, "input_axes": null, "output_axes": null}, "registered_name": null},
"bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {},
"registered_name": null}, "kernel_regularizer": null, "bias_regularizer": null,
"kernel_constraint": null, "bias_constraint": null, "quantization_config": null},
"registered_name": null, "build_config": {"input_shape": [null, 8]}, "name": "score",
"inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {"shape": [null,
8], "dtype": "float32", "keras_history": ["drop", 0, 0]}}], "kwargs": {}}]}],
"input_layers": ["features", 0, 0], "output_layers": ["score", 0, 0]}, "registered_name":
"Functional", "build_config": {"input_shape": null}, "compile_config": {}}
"""

TWO_HEADS = """\
{"module": "keras.src.models.functional", "class_name": "Functional", "config": {"name":
"two_heads", "trainable": true, "layers": [{"module": "keras.layers", "class_name":
"InputLayer", "config": {"batch_shape": [null, 3], "dtype": "float32", "sparse": false,
"ragged": false, "name": "a", "optional": false}, "registered_name": null, "name": "a",
"inbound_nodes": []}, {"module": "keras.layers", "class_name": "InputLayer", "config":
{"batch_shape": [null, 2], "dtype": "float32", "sparse": false, "ragged": false, "name":
"b", "optional": false}, "registered_name": null, "name": "b", "inbound_nodes": []},
{"module": "keras.layers", "class_name": "Concatenate", "config": {"name": "cat",
"trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config":
{"name": "float32"}, "registered_name": null}, "axis": -1}, "registered_name": null,
"build_config": {"input_shape": [[null, 3], [null, 2]]}, "name": "cat", "inbound_nodes":
[{"args": [[{"class_name": "__keras_tensor__", "config": {"shape": [null, 3], "dtype":
"float32", "keras_history": ["a", 0, 0]}}, {"class_name": "__keras_tensor__", "config":
{"shape": [null, 2], "dtype": "float32", "keras_history": ["b", 0, 0]}}]], "kwargs": {}}]},
{"module": "keras.layers", "class_name": "Dense", "config": {"name": "mix", "trainable":
true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name":
"float32"}, "registered_name": null}, "units": 4, "activation": "tanh", "use_bias": true,
"kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform",
"config": {"seed": null, "input_axes": null, "output_axes": null}, "registered_name": null},
"bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {},
"registered_name": null}, "kernel_regularizer": null, "bias_regularizer": null,
"kernel_constraint": null, "bias_constraint": null, "quantization_config": null},
"registered_name": null, "build_config": {"input_shape": [null, 5]}, "name": "mix",
"inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {"shape": [null,
5], "dtype": "float32", "keras_history": ["cat", 0, 0]}}], "kwargs": {}}]}, {"module":
"keras.layers", "class_name": "Dense", "config": {"name": "left", "trainable": true,
"dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
"registered_name": null}, "units": 2, "activation": "linear", "use_bias": true,
"kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform",
"config": {"seed": null, "input_axes": null, "output_axes": null}, "registered_name": null},
"bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {},
"registered_name": null}, "kernel_regularizer": null, "bias_regularizer": null,
"kernel_constraint": null, "bias_constraint": null, "quantization_config": null},
"registered_name": null, "build_config": {"input_shape": [null, 4]}, "name": "left",
"inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {"shape": [null,
4], "dtype": "float32", "keras_history": ["mix", 0, 0]}}], "kwargs": {}}]}, {"module":
"keras.layers", "class_name": "Dense", "config": {"name": "right", "trainable": true,
"dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
"registered_name": null}, "units": 1, "activation": "linear", "use_bias": true,
"kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform",
"config": {"seed": null, "input_axes": null, "output_axes": null}, "registered_name": null},
"bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {},
"registered_name": null}, "kernel_regularizer": null, "bias_regularizer": null,
"kernel_constraint": null, "bias_constraint": null, "quantization_config": null},
"registered_name": null, "build_config": {"input_shape": [null, 4]}, "name": "right",
"inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {"shape": [null,
4], "dtype": "float32", "keras_history": ["mix", 0, 0]}}], "kwargs": {}}]}], "input_layers":
[["a", 0, 0], ["b", 0, 0]], "output_layers": [["left", 0, 0], ["right", 0, 0]]},
"registered_name": "Functional", "build_config": {"input_shape": null}, "compile_config":
{}}
"""

LISTY = """\
{"module": "keras.src.models.functional", "class_name": "Functional", "config": {"name":
"listy", "trainable": true, "layers": [{"module": "keras.layers", "class_name":
"InputLayer", "config": {"batch_shape": [null, 5], "dtype": "float32", "sparse": false,
"ragged": false, "name": "x", "optional": false}, "registered_name": null, "name": "x",
"inbound_nodes": []}, {"module": "keras.layers", "class_name": "Dense", "config": {"name":
"proj", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy",
"config": {"name": "float32"}, "registered_name": null}, "units": 3, "activation": "linear",
"use_bias": true, "kernel_initializer": {"module": "keras.initializers", "class_name":
"GlorotUniform", "config": {"seed": null, "input_axes": null, "output_axes": null},
"registered_name": null}, "bias_initializer": {"module": "keras.initializers", "class_name":
"Zeros", "config": {}, "registered_name": null}, "kernel_regularizer": null,
"bias_regularizer": null, "kernel_constraint": null, "bias_constraint": null,
"quantization_config": null}, "registered_name": null, "build_config": {"input_shape":
[null, 5]}, "name": "proj", "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__",
"config": {"shape": [null, 5], "dtype": "float32", "keras_history": ["x", 0, 0]}}],
"kwargs": {}}]}], "input_layers": [["x", 0, 0]], "output_layers": [["proj", 0, 0]]},
"registered_name": "Functional", "build_config": {"input_shape": null}, "compile_config":
{}}
"""
# fmt: off
EXPECTED = {
    "tiny_cnn": {
        "params": 410, "trainable": 410, "output_shape": (None, 10),
        "predictions": [
            [
                [0.050761, 0.020422, 0.014027, 0.019624, 0.047757,
                 0.133056, 0.262113, 0.26541, 0.13733, 0.049501],
                [0.019673, 0.01456, 0.021912, 0.055329, 0.151628,
                 0.280701, 0.262754, 0.128291, 0.045774, 0.019378],
            ],
        ],
    },
    "scorer": {
        "params": 97, "trainable": 81, "output_shape": (None, 1),
        "predictions": [
            [[0.999137], [0.95648]],
        ],
    },
    "two_heads": {
        "params": 39, "trainable": 39, "output_shape": [(None, 2), (None, 1)],
        "predictions": [
            [[1.773327, 1.956887], [1.980859, 2.175182]],
            [[2.744052], [2.99001]],
        ],
    },
    "listy": {
        "params": 18, "trainable": 18, "output_shape": (None, 3),
        "predictions": [
            [[2.125977, 1.718801, 1.426824], [2.085732, 1.744487, 1.352968]],
        ],
    },
}
# fmt: on

KERAS_JSON = {"tiny_cnn": TINY_CNN, "scorer": SCORER, "two_heads": TWO_HEADS, "listy": LISTY}


def deterministic_weights(model):
    return [
        0.5 + 0.4 * np.cos(np.arange(w.size) * 0.7 + i).reshape(w.shape).astype("float32")
        for i, w in enumerate(model.get_weights())
    ]


def deterministic_input(shape):
    return np.sin(np.arange(int(np.prod(shape))) * 0.37).reshape(shape).astype("float32")


INPUTS = {
    "tiny_cnn": lambda: deterministic_input((2, 8, 8, 1)),
    "scorer": lambda: deterministic_input((2, 6)),
    "two_heads": lambda: [deterministic_input((2, 3)), deterministic_input((2, 2)) * 2],
    "listy": lambda: deterministic_input((2, 5)),
}


@pytest.mark.parametrize("name", sorted(KERAS_JSON))
def test_keras3_json_loads_with_keras_counts_shapes_and_numbers(name):
    model = models.model_from_json(KERAS_JSON[name])
    expected = EXPECTED[name]
    assert model.name == name
    assert model.count_params() == expected["params"]
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == expected["trainable"]
    assert model.output_shape == expected["output_shape"]
    model.set_weights(deterministic_weights(model))
    predictions = model.predict(INPUTS[name](), verbose=0)
    flat = predictions if isinstance(predictions, list) else [predictions]
    assert len(flat) == len(expected["predictions"])
    for got, want in zip(flat, expected["predictions"]):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=2e-6)


def test_keras3_json_keeps_the_layers_and_names():
    cnn = models.model_from_json(TINY_CNN)
    assert [type(layer).__name__ for layer in cnn.layers] == [
        "Conv2D",
        "MaxPooling2D",
        "Flatten",
        "Dropout",
        "Dense",
    ]
    assert cnn.layers[0].kernel_size == (3, 3) and cnn.layers[-1].units == 10
    scorer = models.model_from_json(SCORER)
    assert scorer.output_names == ["score"]
    assert scorer.get_layer("hidden").kernel_regularizer is not None
    assert models.model_from_json(TWO_HEADS).output_names == ["left", "right"]


def test_keras3_input_layer_config_loads_without_translation():
    config = json.loads(TINY_CNN)["config"]["layers"][0]
    layer = layers.deserialize(config)
    assert layer.batch_shape == (None, 8, 8, 1) and layer.name == "input_layer"


def test_input_accepts_keras_false_flags_and_refuses_true():
    assert Input((3,), sparse=False, ragged=False, optional=False).shape == (None, 3)
    assert layers.InputLayer(shape=(3,), sparse=None, ragged=None).batch_shape == (None, 3)
    with pytest.raises(ValueError, match="`sparse=True` is not supported: graphc has no sparse"):
        Input((3,), sparse=True)
    with pytest.raises(ValueError, match="`ragged=True` is not supported: graphc has no ragged"):
        layers.InputLayer(shape=(3,), ragged=True)
    with pytest.raises(ValueError, match="`optional=True`.*no optional inputs"):
        Input((3,), optional=True)


def test_keras_only_feature_turned_on_is_refused_by_name():
    config = json.loads(SCORER)
    hidden = config["config"]["layers"][1]
    hidden["config"]["lora_rank"] = 4
    with pytest.raises(
        ValueError, match="Dense 'hidden': graphc does not support LoRA.*lora_rank=4"
    ):
        models.model_from_config(config)


def test_keras_function_form_resolves_through_custom_objects():
    def doubled(x):
        return x * 2

    config = json.loads(LISTY)
    proj = config["config"]["layers"][1]["config"]
    proj["activation"] = {
        "module": "builtins",
        "class_name": "function",
        "config": "doubled",
        "registered_name": "function",
    }
    model = models.model_from_config(config, custom_objects={"doubled": doubled})
    assert model.get_layer("proj").activation is doubled


def test_graphc_configs_are_not_translated():
    model = models.model_from_json(TINY_CNN)
    config = json.loads(model.to_json())
    assert from_keras_config(config) == config
