import numpy as np
import pytest

import graphc
from graphc.frontend import activations

X = np.array([[-3.0, -0.5, 0.0, 0.7, 4.0]])


def evaluate(fn, **kwargs):
    x = graphc.placeholder((None, 5), "float64")
    return graphc.Graph([x], fn(x, **kwargs))(X)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


REFERENCES = {
    "relu": lambda x: np.maximum(x, 0),
    "leaky_relu": lambda x: np.where(x >= 0, x, 0.2 * x),
    "relu6": lambda x: np.clip(x, 0, 6),
    "softmax": lambda x: np.exp(x) / np.exp(x).sum(-1, keepdims=True),
    "log_softmax": lambda x: x - np.log(np.exp(x).sum(-1, keepdims=True)),
    "elu": lambda x: np.where(x > 0, x, np.expm1(x)),
    "selu": lambda x: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * np.expm1(x)),
    "softplus": lambda x: np.log1p(np.exp(x)),
    "softsign": lambda x: x / (1 + np.abs(x)),
    "silu": lambda x: x * sigmoid(x),
    "swish": lambda x: x * sigmoid(x),
    "gelu": lambda x: 0.5 * x * (1 + np.vectorize(__import__("math").erf)(x / np.sqrt(2))),
    "tanh": np.tanh,
    "sigmoid": sigmoid,
    "hard_sigmoid": lambda x: np.clip(x + 3, 0, 6) / 6,
    "hard_silu": lambda x: x * np.clip(x + 3, 0, 6) / 6,
    "exponential": np.exp,
    "mish": lambda x: x * np.tanh(np.log1p(np.exp(x))),
    "linear": lambda x: x,
}


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_activation_by_name_matches_numpy(name):
    np.testing.assert_allclose(evaluate(activations.get(name)), REFERENCES[name](X), rtol=1e-6)


def test_every_registered_name_is_tested():
    assert set(activations.ALL_OBJECTS) - {"hard_swish"} <= set(REFERENCES)


def test_relu_options():
    out = evaluate(activations.relu, negative_slope=0.1, max_value=3.0, threshold=0.5)
    expected = np.where(X >= 0.5, np.minimum(X, 3.0), 0.1 * (X - 0.5))
    np.testing.assert_allclose(out, expected)


def test_gelu_approximate_and_softmax_axis():
    approx = evaluate(activations.gelu, approximate=True)
    tanh_form = 0.5 * X * (1 + np.tanh(np.sqrt(2 / np.pi) * (X + 0.044715 * X**3)))
    np.testing.assert_allclose(approx, tanh_form, rtol=1e-6)
    np.testing.assert_allclose(evaluate(activations.softmax, axis=0), np.ones_like(X))


def test_get_and_serialize():
    assert activations.get(None) is activations.linear
    assert activations.get(np.tanh) is np.tanh
    assert activations.serialize(activations.swish) == "silu"
    assert activations.get("hard_swish") is activations.hard_silu
    with pytest.raises(ValueError, match="Could not interpret activation"):
        activations.get(3)


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match="Known names: .*gelu.*softmax"):
        activations.get("softmaxx")
