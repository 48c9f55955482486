import numpy as np
import pytest
from layer_test_utils import run_layer_test

import graphc
from graphc.frontend import Input, Model, layers, models
from graphc.frontend.utils import register_keras_serializable


@register_keras_serializable(package="Tests")
def cube(x):
    return x * x * x


def test_lambda_with_a_registered_function():
    run_layer_test(
        layers.Lambda,
        {"function": cube},
        input_shape=(2, 3),
        expected_output_shape=(2, 3),
        reference=lambda x, w: x**3,
        rtol=1e-4,
    )


def test_lambda_with_a_graphc_op_and_arguments():
    run_layer_test(
        layers.Lambda,
        {"function": graphc.sum, "arguments": {"axis": -1, "keepdims": True}},
        input_shape=(2, 5),
        expected_output_shape=(2, 1),
        reference=lambda x, w: x.sum(-1, keepdims=True),
    )


def test_lambda_is_traced_into_graph_ops():
    x = Input((3,), name="x")
    model = Model(x, layers.Lambda(lambda v: graphc.exp(v) + 1.0)(x))
    ops = [model.graph.primitive(n).name for n in model.graph.order]
    assert ops == ["input", "exp", "constant", "add"]


def test_anonymous_lambda_has_no_config_but_saves_as_a_graph(tmp_path):
    with pytest.raises(ValueError, match="the `function` is an anonymous function") as info:
        layers.Lambda(lambda v: v).get_config()
    assert "model.save()" in str(info.value)
    x = Input((3,), name="x")
    model = Model(x, layers.Lambda(lambda v: v * 2.0 + 1.0, output_shape=lambda s: s)(x))
    with pytest.raises(ValueError, match="anonymous function"):
        model.to_json()
    model.save(tmp_path / "lambda.graphc")
    again = models.load_model(tmp_path / "lambda.graphc")
    data = np.array([[1.0, 2.0, 3.0]], "float32")
    np.testing.assert_array_equal(again.predict(data, verbose=0), [[3.0, 5.0, 7.0]])


def test_lambda_output_shape_and_mask():
    layer = layers.Lambda(cube, output_shape=(7,), mask=lambda inputs, mask: inputs > 0)
    assert layer.compute_output_shape((None, 3)) == (None, 7)
    out = layer(Input((3,)))
    assert out.origin.mask.dtype == np.dtype(bool)


def test_lambda_model_round_trips_through_json():
    x = Input((2,))
    model = Model(x, layers.Lambda(cube)(x))
    copy = models.model_from_json(model.to_json())
    data = np.array([[1.0, 2.0]], "float32")
    np.testing.assert_allclose(copy.predict(data, verbose=0), [[1.0, 8.0]])
