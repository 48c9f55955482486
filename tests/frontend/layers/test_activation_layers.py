"""ReLU, LeakyReLU, ELU and Softmax layers against numpy, with Keras 3's defaults."""

import numpy as np
import pytest
from layer_test_utils import run_layer_test

from graphc.frontend import Input, Model, layers


def test_relu_with_every_option():
    def reference(x, weights):
        out = np.where(x >= 0.5, x, 0.1 * (x - 0.5))
        return np.minimum(out, 2.0)

    run_layer_test(
        layers.ReLU,
        {"max_value": 2.0, "negative_slope": 0.1, "threshold": 0.5},
        input_shape=(3, 4),
        expected_output_shape=(3, 4),
        reference=reference,
    )
    plain = layers.ReLU()(np.array([-2.0, 0.0, 3.0], "float32"))
    assert plain.tolist() == [0.0, 0.0, 3.0] and not np.signbit(plain).any()


@pytest.mark.parametrize("name", ["max_value", "negative_slope", "threshold"])
def test_relu_refuses_negative_arguments(name):
    with pytest.raises(ValueError, match=f"{name} of a ReLU layer cannot be a negative value"):
        layers.ReLU(**{name: -1.0})


def test_leaky_relu_has_keras_layer_default():
    layer = run_layer_test(
        layers.LeakyReLU,
        {},
        input_shape=(2, 5),
        expected_output_shape=(2, 5),
        reference=lambda x, w: np.where(x >= 0, x, 0.3 * x),
    )
    assert layer.get_config()["negative_slope"] == 0.3
    with pytest.warns(UserWarning, match="alpha"):
        assert layers.LeakyReLU(alpha=0.1).negative_slope == 0.1
    with pytest.raises(ValueError, match="Received: negative_slope=-1"):
        layers.LeakyReLU(negative_slope=-1)


def test_elu():
    run_layer_test(
        layers.ELU,
        {"alpha": 0.5},
        input_shape=(2, 5),
        expected_output_shape=(2, 5),
        reference=lambda x, w: np.where(x > 0, x, 0.5 * np.expm1(x)),
    )


def softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("axis", [-1, 1, (1, 2)])
def test_softmax_over_axes(axis):
    run_layer_test(
        layers.Softmax,
        {"axis": axis},
        input_shape=(2, 3, 4),
        expected_output_shape=(2, 3, 4),
        reference=lambda x, w: softmax(x, axis),
    )


def test_softmax_gives_masked_positions_no_probability():
    logits = np.array([[1.0, 2.0, 3.0, 4.0]], "float32")
    keep = np.array([[True, True, False, False]])
    out = layers.Softmax()(logits, mask=keep)
    assert out[0, 2:].tolist() == [0.0, 0.0]
    np.testing.assert_allclose(out[0, :2], softmax(logits[:, :2], -1)[0], rtol=1e-6)
    x = Input((4,))
    mask = Input((4,), dtype="bool")
    model = Model([x, mask], layers.Softmax()(x, mask=mask))
    np.testing.assert_allclose(model.predict([logits, keep], verbose=0), out, rtol=1e-6)
