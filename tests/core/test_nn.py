"""graphc.nn composites against numpy formulas, at the extremes and through autodiff."""

from __future__ import annotations

import math

import numpy as np
import pytest

import graphc
from graphc import nn
from graphc.testing import check_grads

RNG = np.random.default_rng(0)
_erf = np.vectorize(math.erf, otypes=[np.float64])
SELU_ALPHA, SELU_SCALE = 1.6732632423543772, 1.0507009873554805


def np_elu(x, alpha=1.0):
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


# (name, graphc function, numpy reference computed in float64)
ACTIVATIONS = [
    ("softplus", nn.softplus, lambda x: np.logaddexp(0, x)),
    ("softsign", nn.softsign, lambda x: x / (1 + np.abs(x))),
    ("elu", nn.elu, np_elu),
    ("elu_alpha", lambda x: nn.elu(x, alpha=0.5), lambda x: np_elu(x, 0.5)),
    ("selu", nn.selu, lambda x: SELU_SCALE * np_elu(x, SELU_ALPHA)),
    ("leaky_relu", nn.leaky_relu, lambda x: np.where(x >= 0, x, 0.2 * x)),
    ("leaky_relu_slope", lambda x: nn.leaky_relu(x, 0.01), lambda x: np.where(x >= 0, x, 0.01 * x)),
    ("relu", nn.relu, lambda x: np.maximum(x, 0)),
    ("relu6", nn.relu6, lambda x: np.clip(x, 0, 6)),
    ("sigmoid", nn.sigmoid, lambda x: 0.5 * (1 + np.tanh(x / 2))),
    ("tanh", nn.tanh, np.tanh),
    ("gelu", nn.gelu, lambda x: 0.5 * x * (1 + _erf(x / math.sqrt(2)))),
    (
        "gelu_tanh",
        lambda x: nn.gelu(x, approximate=True),
        lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3))),
    ),
    ("silu", nn.silu, lambda x: x * 0.5 * (1 + np.tanh(x / 2))),
    ("swish", nn.swish, lambda x: x * 0.5 * (1 + np.tanh(x / 2))),
    ("hard_sigmoid", nn.hard_sigmoid, lambda x: np.clip(x / 6 + 0.5, 0, 1)),
    ("hard_silu", nn.hard_silu, lambda x: x * np.clip(x / 6 + 0.5, 0, 1)),
    ("hard_swish", nn.hard_swish, lambda x: x * np.clip(x / 6 + 0.5, 0, 1)),
    ("exponential", nn.exponential, np.exp),
    ("linear", nn.linear, lambda x: x),
]
SPECIAL_POINTS = np.array([0.0, -3.0, 3.0, 6.0, -6.0, 1e-3, -1e-3, 0.5])
NAMES = [a[0] for a in ACTIVATIONS]


def tolerance(dtype: str) -> dict:
    return dict(rtol=2e-6, atol=2e-6) if dtype == "float32" else dict(rtol=1e-12, atol=1e-13)


def run(fn, x: np.ndarray, batched: bool = True) -> np.ndarray:
    value = graphc.placeholder((None, *x.shape[1:]) if batched else x.shape, x.dtype)
    return graphc.Graph([value], fn(value))(x)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("batch", [0, 1, 3])
@pytest.mark.parametrize("name, fn, reference", ACTIVATIONS, ids=NAMES)
def test_activation_matches_numpy(name, fn, reference, batch, dtype):
    x = RNG.uniform(-8, 8, (batch, 8)).astype(dtype)
    if batch:
        x[0] = SPECIAL_POINTS
    result = run(fn, x)
    assert result.dtype == x.dtype
    np.testing.assert_allclose(result, reference(x.astype(np.float64)), **tolerance(dtype))


@pytest.mark.parametrize(
    "name, fn, reference",
    [a for a in ACTIVATIONS if a[0] != "exponential"],
    ids=[n for n in NAMES if n != "exponential"],
)
def test_activation_is_finite_at_extreme_inputs(name, fn, reference):
    x = np.array([[-1e4, -1000.0, -80.0, 80.0, 1000.0, 1e4]], np.float32)
    result = run(fn, x)
    assert np.all(np.isfinite(result)), result
    np.testing.assert_allclose(result, reference(x.astype(np.float64)), rtol=1e-6, atol=1e-30)


@pytest.mark.parametrize("name, fn, reference", ACTIVATIONS, ids=NAMES)
def test_activation_of_integers_is_float64(name, fn, reference):
    # Except the piecewise-linear relu and the identity, which keep integers integers.
    x = np.array([-2, 0, 3], np.int32)
    result = run(fn, x, batched=False)
    assert result.dtype == (np.int32 if name in ("relu", "linear") else np.float64)
    np.testing.assert_allclose(result, reference(x.astype(np.float64)), rtol=1e-12)


@pytest.mark.parametrize(
    "fn",
    [
        nn.softplus,
        nn.softsign,
        nn.elu,
        nn.selu,
        nn.leaky_relu,
        nn.relu6,
        nn.gelu,
        lambda x: nn.gelu(x, approximate=True),
        nn.silu,
        nn.hard_sigmoid,
        nn.hard_silu,
    ],
)
def test_activation_derivatives(fn):
    # Points away from the kinks (0, +-3, 6), where the derivative is defined.
    x = graphc.placeholder((7,), "float64")
    check_grads(graphc.Graph([x], fn(x)), [[-7.5, -2.5, -0.7, 0.3, 1.7, 4.5, 8.0]])


@pytest.mark.parametrize(
    "fn, points, expected",
    [
        (nn.softplus, [0.0, 1000.0, -1000.0], [0.5, 1.0, 0.0]),  # sigmoid(x)
        (nn.elu, [0.0, 1000.0, -1000.0], [1.0, 1.0, 0.0]),
        (nn.leaky_relu, [0.0, -1.0, 2.0], [1.0, 0.2, 1.0]),
        (nn.relu6, [0.0, 3.0, 6.0, 7.0, -1.0], [0.0, 1.0, 0.0, 0.0, 0.0]),
        (nn.gelu, [0.0, 1000.0, -1000.0], [0.5, 1.0, 0.0]),
        (nn.silu, [0.0, 1000.0, -1000.0], [0.5, 1.0, 0.0]),
    ],
)
def test_activation_gradients_at_corners_and_extremes(fn, points, expected):
    x = graphc.placeholder((), "float64")
    gradient = graphc.grad(graphc.Graph([x], fn(x)))
    assert [float(gradient(p)[0]) for p in points] == pytest.approx(expected, abs=1e-12)


def test_gelu_default_is_exact_and_forms_differ_slightly():
    x = np.linspace(-4, 4, 41)
    exact = run(nn.gelu, x, batched=False)
    approx = run(lambda v: nn.gelu(v, approximate=True), x, batched=False)
    np.testing.assert_allclose(exact, x * 0.5 * (1 + _erf(x / math.sqrt(2))), rtol=1e-12)
    assert 0 < np.max(np.abs(exact - approx)) < 1e-3


def test_linear_adds_no_node():
    x = graphc.placeholder((3,))
    assert nn.linear(x) is x
    assert nn.linear(2.0).primitive.name == "constant"


# --- softmax family ----------------------------------------------------------------------------


def np_softmax(x, axis):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def np_logsumexp(x, axis, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


# (axis, batch): an empty batch only along axes that keep it (a max over nothing is undefined).
SOFTMAX_CASES = [
    (axis, batch)
    for axis in [-1, 1, 0, (1, 2), None]
    for batch in [0, 1, 3]
    if batch or axis not in (0, None)
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("axis, batch", SOFTMAX_CASES)
def test_softmax_family_matches_numpy(axis, batch, dtype):
    x = RNG.normal(0, 5, (batch, 4, 3)).astype(dtype)
    x64 = x.astype(np.float64)
    tol = tolerance(dtype) | dict(atol=1e-5 if dtype == "float32" else 1e-12)
    np.testing.assert_allclose(run(lambda v: nn.softmax(v, axis), x), np_softmax(x64, axis), **tol)
    log_ref = np.log(np_softmax(x64, axis))
    np.testing.assert_allclose(run(lambda v: nn.log_softmax(v, axis), x), log_ref, **tol)
    for keepdims in (False, True):
        result = run(lambda v, keep=keepdims: nn.logsumexp(v, axis, keep), x)
        np.testing.assert_allclose(result, np_logsumexp(x64, axis, keepdims), **tol)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_softmax_is_stable_at_large_magnitudes(dtype):
    x = np.array(
        [[1000.0, -1000.0, 0.0], [1000.0, 1000.0, 1000.0], [-1000.0, -1000.0, -999.0]], dtype
    )
    soft = run(nn.softmax, x)
    log_soft = run(nn.log_softmax, x)
    assert np.all(np.isfinite(soft)) and np.all(np.isfinite(log_soft))
    np.testing.assert_allclose(soft[0], [1, 0, 0], atol=1e-30)
    np.testing.assert_allclose(soft[1], [1 / 3] * 3, rtol=1e-6)
    np.testing.assert_allclose(soft.sum(axis=-1), 1, rtol=1e-6)
    # log_softmax keeps what softmax loses to underflow.
    np.testing.assert_allclose(log_soft[0], [0, -2000, -1000], rtol=1e-6)
    np.testing.assert_allclose(log_soft[2], np.array([-1, -1, 0]) - np.log(1 + 2 / np.e), rtol=1e-6)


def test_logsumexp_is_stable_and_handles_infinities():
    x = np.array(
        [[1000.0, 1000.0], [-1000.0, -1000.0], [-np.inf, -np.inf], [np.inf, 0.0], [-np.inf, 1.0]]
    )
    result = run(lambda v: nn.logsumexp(v, axis=1), x)
    expected = [1000 + np.log(2), -1000 + np.log(2), -np.inf, np.inf, 1.0]
    np.testing.assert_allclose(result, expected, rtol=1e-12)


def test_softmax_family_of_integers_is_float64():
    x = np.array([[1, 2, 3]], np.int64)
    for fn in (nn.softmax, nn.log_softmax, nn.logsumexp):
        result = run(fn, x, batched=False)
        assert result.dtype == np.float64
    np.testing.assert_allclose(run(nn.softmax, x, batched=False), np_softmax(x.astype(float), -1))


# --- one_hot -----------------------------------------------------------------------------------


@pytest.mark.parametrize("index_dtype", ["int32", "int64"])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "bool"])
@pytest.mark.parametrize("batch", [0, 1, 3])
def test_one_hot_matches_numpy(index_dtype, dtype, batch):
    indices = RNG.integers(0, 5, (batch, 2)).astype(index_dtype)
    result = run(lambda v: nn.one_hot(v, 5, dtype=dtype), indices)
    assert result.dtype == np.dtype(dtype) and result.shape == (batch, 2, 5)
    np.testing.assert_array_equal(result, np.eye(5, dtype=dtype)[indices])


def test_one_hot_out_of_range_indices_give_zero_rows():
    result = run(lambda v: nn.one_hot(v, 3), np.array([0, 2, 3, -1, 99]), batched=False)
    assert result.dtype == np.float32
    np.testing.assert_array_equal(result, [[1, 0, 0], [0, 0, 1], [0, 0, 0], [0, 0, 0], [0, 0, 0]])


def test_one_hot_of_a_scalar_and_of_constants():
    i = graphc.placeholder((), "int32")
    np.testing.assert_array_equal(graphc.Graph([i], nn.one_hot(i, 4))(2), [0, 0, 1, 0])
    assert nn.one_hot([1, 0], 2).shape == (2, 2)


def test_one_hot_errors():
    with pytest.raises(graphc.DTypeError, match=r"one_hot: expected integer indices, got f32\[3\]"):
        nn.one_hot(graphc.placeholder((3,)), 4)
    with pytest.raises(graphc.ShapeError, match="one_hot: num_classes must be >= 0, got -1"):
        nn.one_hot(graphc.placeholder((3,), "int32"), -1)
    with pytest.raises(graphc.ShapeError, match="one_hot: num_classes must be an int, got 2.5"):
        nn.one_hot(graphc.placeholder((3,), "int32"), 2.5)


def test_all_lists_the_public_functions():
    assert set(nn.__all__) >= {"softmax", "log_softmax", "logsumexp", "gelu", "one_hot", "relu6"}
    for name in nn.__all__:
        assert getattr(graphc, name) is getattr(nn, name)
    assert nn.relu is graphc.primitives.elementwise.relu  # reused, not redefined
