"""Losses: Keras 3 formulas, reductions and sample weights, gradients, registry."""

from __future__ import annotations

import numpy as np
import pytest

import graphc
from graphc.frontend import losses

EPS = 1e-7


# --- numpy references, written from Keras' documented formulas ---------------------------------


def _softmax_log(x: np.ndarray, axis: int = -1) -> np.ndarray:
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def ref_bce(t, p, from_logits=False, label_smoothing=0.0):
    if label_smoothing:
        t = t * (1 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        p = 1 / (1 + np.exp(-p))
    p = np.clip(p, EPS, 1 - EPS)
    return np.mean(-(t * np.log(p) + (1 - t) * np.log(1 - p)), axis=-1)


def ref_cce(t, p, from_logits=False, label_smoothing=0.0):
    if label_smoothing:
        t = t * (1 - label_smoothing) + label_smoothing / t.shape[-1]
    if from_logits:
        log_p = _softmax_log(p)
    else:
        log_p = np.log(np.clip(p / p.sum(axis=-1, keepdims=True), EPS, 1 - EPS))
    return -np.sum(t * log_p, axis=-1)


def ref_huber(t, p, delta=1.0):
    x = p - t
    return np.mean(
        np.where(np.abs(x) <= delta, 0.5 * x**2, delta * (np.abs(x) - 0.5 * delta)), axis=-1
    )


def ref_kld(t, p):
    t, p = np.clip(t, EPS, 1), np.clip(p, EPS, 1)
    return np.sum(t * np.log(t / p), axis=-1)


def ref_cosine(t, p):
    def unit(v):
        return v / np.linalg.norm(v, axis=-1, keepdims=True)

    return -np.sum(unit(t) * unit(p), axis=-1)


def ref_hinge(t, p, squared=False):
    if np.all((t == 0) | (t == 1)):
        t = 2 * t - 1
    margin = np.maximum(1 - t * p, 0)
    return np.mean(margin**2 if squared else margin, axis=-1)


def ref_categorical_hinge(t, p):
    pos = np.sum(t * p, axis=-1)
    neg = np.max((1 - t) * p, axis=-1)
    return np.maximum(neg - pos + 1, 0)


def _data(rng, kind: str, n: int = 4, k: int = 3):
    """(y_true, y_pred) of the kind a loss expects, float64, away from kinks."""
    if kind == "regression":
        return rng.normal(size=(n, k)), rng.normal(size=(n, k))
    if kind == "binary":
        return rng.integers(0, 2, size=(n, k)).astype(float), rng.uniform(0.05, 0.95, (n, k))
    if kind == "logits":
        return rng.integers(0, 2, size=(n, k)).astype(float), rng.normal(size=(n, k)) * 2
    if kind == "onehot":
        return np.eye(k)[rng.integers(0, k, n)], rng.uniform(0.1, 1.0, (n, k))
    if kind == "distribution":
        t = rng.uniform(0.1, 1.0, (n, k))
        return t / t.sum(-1, keepdims=True), rng.uniform(0.1, 1.0, (n, k))
    if kind == "positive":
        return rng.poisson(2.0, size=(n, k)).astype(float), rng.uniform(0.5, 3.0, (n, k))
    raise ValueError(kind)


CASES = [
    ("mse", losses.MeanSquaredError(), "regression", lambda t, p: np.mean((t - p) ** 2, -1)),
    ("mae", losses.MeanAbsoluteError(), "regression", lambda t, p: np.mean(np.abs(t - p), -1)),
    (
        "mape",
        losses.MeanAbsolutePercentageError(),
        "positive_true",
        lambda t, p: 100 * np.mean(np.abs((t - p) / np.maximum(np.abs(t), EPS)), -1),
    ),
    (
        "msle",
        losses.MeanSquaredLogarithmicError(),
        "positive",
        lambda t, p: np.mean(
            (np.log(np.maximum(p, EPS) + 1) - np.log(np.maximum(t, EPS) + 1)) ** 2, -1
        ),
    ),
    ("bce", losses.BinaryCrossentropy(), "binary", ref_bce),
    (
        "bce_logits_smooth",
        losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.2),
        "logits",
        lambda t, p: ref_bce(t, p, from_logits=True, label_smoothing=0.2),
    ),
    ("cce", losses.CategoricalCrossentropy(), "onehot", ref_cce),
    (
        "cce_logits_smooth",
        losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1),
        "onehot_logits",
        lambda t, p: ref_cce(t, p, from_logits=True, label_smoothing=0.1),
    ),
    ("huber", losses.Huber(), "regression", ref_huber),
    ("huber_delta", losses.Huber(delta=0.5), "regression", lambda t, p: ref_huber(t, p, 0.5)),
    ("log_cosh", losses.LogCosh(), "regression", lambda t, p: np.mean(np.log(np.cosh(p - t)), -1)),
    ("kld", losses.KLDivergence(), "distribution", ref_kld),
    (
        "poisson",
        losses.Poisson(),
        "positive",
        lambda t, p: np.mean(p - t * np.log(p + EPS), -1),
    ),
    ("cosine", losses.CosineSimilarity(), "regression", ref_cosine),
    ("hinge", losses.Hinge(), "binary_margin", ref_hinge),
    ("hinge_pm1", losses.Hinge(), "pm1_margin", ref_hinge),
    (
        "squared_hinge",
        losses.SquaredHinge(),
        "binary_margin",
        lambda t, p: ref_hinge(t, p, squared=True),
    ),
    ("categorical_hinge", losses.CategoricalHinge(), "onehot_margin", ref_categorical_hinge),
]


def _case_data(rng, kind: str):
    if kind == "positive_true":
        return rng.uniform(0.5, 2.0, (4, 3)), rng.normal(size=(4, 3))
    if kind == "onehot_logits":
        t, _ = _data(rng, "onehot")
        return t, rng.normal(size=t.shape) * 3
    if kind in ("binary_margin", "pm1_margin", "onehot_margin"):
        base = {"binary_margin": "binary", "pm1_margin": "binary", "onehot_margin": "onehot"}
        t, _ = _data(rng, base[kind])
        if kind == "pm1_margin":
            t = 2 * t - 1
        return t, rng.normal(size=t.shape)
    return _data(rng, kind)


@pytest.mark.parametrize("label, loss, kind, reference", CASES, ids=[c[0] for c in CASES])
def test_values_match_keras_formulas(rng, label, loss, kind, reference):
    y_true, y_pred = _case_data(rng, kind)
    expected = reference(y_true, y_pred)
    per_sample = losses.deserialize(serialize_none(loss))
    np.testing.assert_allclose(per_sample(y_true, y_pred), expected, rtol=1e-10, atol=1e-12)
    assert loss(y_true, y_pred) == pytest.approx(expected.mean(), rel=1e-10, abs=1e-12)


def serialize_none(loss: losses.Loss) -> dict:
    """The config of `loss` with reduction None, for rebuilding it through `get`."""
    config = losses.serialize(loss)
    config["config"]["reduction"] = None
    return config


@pytest.mark.parametrize("label, loss, kind, reference", CASES, ids=[c[0] for c in CASES])
def test_gradient_matches_finite_differences(rng, label, loss, kind, reference):
    y_true, y_pred = _case_data(rng, kind)
    yp = graphc.placeholder(y_pred.shape, "float64", name="y_pred")
    f = graphc.Graph([yp], loss(graphc.constant(y_true), yp))
    analytic = graphc.grad(f, wrt=0)(y_pred)
    numeric = graphc.numeric_grad(f, [y_pred], wrt=0)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-7)


# --- Keras' documented examples ----------------------------------------------------------------


def test_binary_crossentropy_keras_examples():
    y_true = np.array([[0.0, 1.0], [0.0, 0.0]])
    y_pred = np.array([[-18.6, 0.51], [2.94, -12.8]])
    bce = losses.BinaryCrossentropy(from_logits=True)
    assert bce(y_true, y_pred) == pytest.approx(0.8654, abs=1e-4)
    assert bce(y_true, y_pred, sample_weight=np.array([0.8, 0.2])) == pytest.approx(0.243, abs=1e-3)
    summed = losses.BinaryCrossentropy(from_logits=True, reduction="sum")
    assert summed(y_true, y_pred) == pytest.approx(1.730, abs=1e-3)
    none = losses.BinaryCrossentropy(from_logits=True, reduction=None)
    np.testing.assert_allclose(none(y_true, y_pred), [0.235, 1.496], atol=1e-3)


@pytest.mark.parametrize("sparse", [False, True])
def test_categorical_crossentropy_keras_examples(sparse):
    y_pred = np.array([[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]])
    if sparse:
        y_true, cls = np.array([1, 2]), losses.SparseCategoricalCrossentropy
    else:
        y_true, cls = np.array([[0, 1, 0], [0, 0, 1]]), losses.CategoricalCrossentropy
    assert cls()(y_true, y_pred) == pytest.approx(1.177, abs=1e-3)
    assert cls()(y_true, y_pred, sample_weight=np.array([0.3, 0.7])) == pytest.approx(
        0.814, abs=1e-3
    )
    assert cls(reduction="sum")(y_true, y_pred) == pytest.approx(2.354, abs=1e-3)


# --- reductions and sample weights -------------------------------------------------------------


def test_sum_over_batch_size_divides_by_the_number_of_elements_not_the_weights(rng):
    y_true, y_pred = _data(rng, "regression", n=5)
    weights = np.array([0.0, 1.0, 2.0, 0.5, 0.0])
    per_sample = np.mean((y_true - y_pred) ** 2, -1)
    mse = losses.MeanSquaredError()
    assert mse(y_true, y_pred, sample_weight=weights) == pytest.approx(
        np.sum(per_sample * weights) / 5
    )
    with_weights = losses.MeanSquaredError(reduction="mean_with_sample_weight")
    assert with_weights(y_true, y_pred, weights) == pytest.approx(
        np.sum(per_sample * weights) / weights.sum()
    )
    assert losses.MeanSquaredError(reduction="sum")(y_true, y_pred, weights) == pytest.approx(
        np.sum(per_sample * weights)
    )
    np.testing.assert_allclose(
        losses.MeanSquaredError(reduction="none")(y_true, y_pred, weights), per_sample * weights
    )


def test_column_weights_line_up_with_per_sample_values(rng):
    y_true, y_pred = _data(rng, "regression", n=3)
    weights = np.array([[1.0], [2.0], [3.0]])
    per_sample = np.mean((y_true - y_pred) ** 2, -1)
    mse = losses.MeanSquaredError()
    assert mse(y_true, y_pred, weights) == pytest.approx(np.sum(per_sample * weights[:, 0]) / 3)
    assert mse(y_true, y_pred, sample_weight=2.0) == pytest.approx(2 * per_sample.mean())


def test_symbolic_loss_follows_the_batch_size(rng):
    y_true = graphc.placeholder((None, 3), "float32", name="y_true")
    y_pred = graphc.placeholder((None, 3), "float32", name="y_pred")
    weights = graphc.placeholder((None,), "float32", name="w")
    value = losses.MeanSquaredError()(y_true, y_pred, weights)
    assert value.shape == () and value.dtype == np.float32
    f = graphc.Graph([y_true, y_pred, weights], value)
    for n in (1, 5):
        t, p = (a.astype(np.float32) for a in _data(rng, "regression", n=n))
        w = np.linspace(0.5, 1.5, n).astype(np.float32)
        expected = np.sum(np.mean((t - p) ** 2, -1) * w) / n
        assert float(f(t, p, w)) == pytest.approx(expected, rel=1e-5)
    assert float(f(np.zeros((0, 3)), np.zeros((0, 3)), np.zeros(0))) == 0.0


def test_call_gives_per_sample_values():
    mse = losses.MeanSquaredError()
    out = mse.call(graphc.placeholder((None, 4)), graphc.placeholder((None, 4)))
    assert out.shape == (None,)


def test_dtype_argument_sets_the_computation_dtype():
    loss = losses.MeanSquaredError(dtype="float32")
    value = loss(graphc.placeholder((None, 2), "float64"), graphc.placeholder((None, 2), "float64"))
    assert value.dtype == np.float32 and loss.dtype == "float32"


def test_invalid_reduction_is_refused():
    with pytest.raises(ValueError, match="reduction"):
        losses.MeanSquaredError(reduction="average")


# --- cross-entropy details ---------------------------------------------------------------------


def test_binary_crossentropy_labels_of_rank_one_meet_column_predictions():
    y_true = np.array([0.0, 1.0, 1.0])
    y_pred = np.array([[0.2], [0.7], [0.9]])
    expected = ref_bce(y_true[:, None], y_pred)
    np.testing.assert_allclose(losses.BinaryCrossentropy(reduction=None)(y_true, y_pred), expected)


def test_probability_crossentropies_clip_to_epsilon():
    bce = losses.BinaryCrossentropy()
    assert bce(np.array([[1.0]]), np.array([[0.0]])) == pytest.approx(-np.log(EPS), rel=1e-6)
    cce = losses.CategoricalCrossentropy()
    assert cce(np.array([[0.0, 1.0]]), np.array([[1.0, 0.0]])) == pytest.approx(
        -np.log(EPS), rel=1e-6
    )


def test_crossentropies_from_large_logits_stay_finite():
    bce = losses.BinaryCrossentropy(from_logits=True, reduction=None)
    out = bce(np.array([[1.0, 0.0]]), np.array([[-500.0, -500.0]]))
    np.testing.assert_allclose(out, [250.0])
    cce = losses.CategoricalCrossentropy(from_logits=True, reduction=None)
    np.testing.assert_allclose(cce(np.array([[0.0, 1.0]]), np.array([[800.0, 0.0]])), [800.0])


def test_categorical_crossentropy_normalizes_probabilities_along_axis(rng):
    y_true, y_pred = _data(rng, "onehot")
    scaled = losses.CategoricalCrossentropy(reduction=None)(y_true, 3.0 * y_pred)
    np.testing.assert_allclose(scaled, ref_cce(y_true, y_pred), rtol=1e-12)
    moved = losses.CategoricalCrossentropy(axis=0, reduction=None)(y_true.T, y_pred.T)
    np.testing.assert_allclose(moved, ref_cce(y_true, y_pred), rtol=1e-12)


def test_categorical_crossentropy_needs_matching_shapes():
    with pytest.raises(graphc.ShapeError, match="same shape"):
        losses.categorical_crossentropy(
            graphc.placeholder((None, 3)), graphc.placeholder((None, 4))
        )
    with pytest.raises(ValueError, match="axis"):
        losses.categorical_crossentropy(np.eye(2), np.eye(2), axis=True)


@pytest.mark.parametrize("from_logits", [False, True])
def test_sparse_matches_categorical_on_one_hot_labels(rng, from_logits):
    labels = rng.integers(0, 4, 6)
    y_pred = rng.uniform(0.1, 1.0, (6, 4)) if not from_logits else rng.normal(size=(6, 4))
    sparse = losses.SparseCategoricalCrossentropy(from_logits=from_logits, reduction=None)
    dense = losses.CategoricalCrossentropy(from_logits=from_logits, reduction=None)
    expected = dense(np.eye(4)[labels], y_pred)
    np.testing.assert_allclose(sparse(labels, y_pred), expected, rtol=1e-12)
    np.testing.assert_allclose(sparse(labels[:, None], y_pred), expected, rtol=1e-12)
    np.testing.assert_allclose(sparse(labels.astype(float), y_pred), expected, rtol=1e-12)
    moved = losses.sparse_categorical_crossentropy(labels, y_pred.T, from_logits, axis=0)
    np.testing.assert_allclose(graphc.Graph([], moved)(), expected, rtol=1e-12)


def test_sparse_crossentropy_ignore_class_is_masked_out_of_the_mean(rng):
    labels = np.array([0, -1, 2, -1, 1])
    y_pred = rng.uniform(0.1, 1.0, (5, 3))
    keep = labels != -1
    per_sample = np.where(keep, ref_cce(np.eye(3)[np.where(keep, labels, 0)], y_pred), 0.0)
    loss = losses.SparseCategoricalCrossentropy(ignore_class=-1)
    assert loss(labels, y_pred) == pytest.approx(per_sample.sum() / keep.sum())
    np.testing.assert_allclose(
        losses.SparseCategoricalCrossentropy(ignore_class=-1, reduction=None)(labels, y_pred),
        per_sample,
    )
    assert losses.SparseCategoricalCrossentropy(ignore_class=-1, reduction="sum")(
        labels, y_pred
    ) == pytest.approx(per_sample.sum())


@pytest.mark.parametrize("from_logits", [True, False])
def test_sparse_crossentropy_gradient_with_integer_labels(rng, from_logits):
    labels = np.array([2, 0, 1])
    logits = rng.normal(size=(3, 3))
    if not from_logits:  # probabilities, away from the clipping bounds
        logits = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    yp = graphc.placeholder((3, 3), "float64")
    loss = losses.SparseCategoricalCrossentropy(from_logits=from_logits, ignore_class=1)
    f = graphc.Graph([yp], loss(graphc.constant(labels.astype(np.int32)), yp))
    np.testing.assert_allclose(
        graphc.grad(f, 0)(logits), graphc.numeric_grad(f, [logits], 0), rtol=1e-6, atol=1e-8
    )


def test_sparse_crossentropy_checks_label_shapes():
    with pytest.raises(graphc.ShapeError, match="class axis"):
        losses.sparse_categorical_crossentropy(
            graphc.placeholder((None, 2), "int32"), graphc.placeholder((None, 3))
        )


def test_check_sparse_labels():
    losses.check_sparse_labels(np.array([0, 1, 2]), 3)
    losses.check_sparse_labels(np.array([[0.0], [2.0]]), 3)
    losses.check_sparse_labels(np.array([0, 255, 1]), 3, ignore_class=255)
    with pytest.raises(ValueError, match="label 5 is out of range for 3 classes"):
        losses.check_sparse_labels(np.array([0, 5]), 3)
    with pytest.raises(ValueError, match="label -1 is out of range"):
        losses.check_sparse_labels(np.array([-1]), 3)
    with pytest.raises(ValueError, match="class indices, got 1.5"):
        losses.check_sparse_labels(np.array([1.5]), 3)


def test_hinge_keeps_labels_that_are_not_all_binary():
    y_true = np.array([[0.0, 1.0, 0.5]])
    y_pred = np.array([[0.3, -0.2, 0.8]])
    expected = np.mean(np.maximum(1 - y_true * y_pred, 0), -1)
    np.testing.assert_allclose(losses.Hinge(reduction=None)(y_true, y_pred), expected)


def test_cosine_similarity_of_a_zero_vector_is_zero():
    out = losses.CosineSimilarity(reduction=None)(np.zeros((1, 2)), np.array([[1.0, 2.0]]))
    np.testing.assert_allclose(out, [0.0])


# --- registry, configs, custom losses ----------------------------------------------------------


def test_get_resolves_names_aliases_classes_and_configs():
    assert isinstance(losses.get("BinaryCrossentropy"), losses.BinaryCrossentropy)
    mse = losses.get("mse")
    assert isinstance(mse, losses.LossFunctionWrapper) and mse.name == "mse"
    assert mse.fn is losses.mean_squared_error
    assert losses.get("kld").fn is losses.kl_divergence
    assert isinstance(losses.get(losses.Huber), losses.Huber)
    huber = losses.Huber(delta=2.0)
    assert losses.get(huber) is huber
    rebuilt = losses.get({"class_name": "CategoricalCrossentropy", "config": {"from_logits": True}})
    assert rebuilt.from_logits and rebuilt.name == "categorical_crossentropy"
    assert losses.get(None) is None
    with pytest.raises(ValueError, match="Could not locate loss 'msee'"):
        losses.get("msee")
    with pytest.raises(ValueError, match="Could not interpret"):
        losses.get(3)


def test_custom_loss_functions_are_wrapped():
    def mean_pred(y_true, y_pred):
        return graphc.mean(y_pred - 0 * y_true, axis=-1)

    loss = losses.get(mean_pred)
    assert loss.name == "mean_pred"
    assert loss(np.zeros((2, 2)), np.array([[1.0, 3.0], [5.0, 7.0]])) == pytest.approx(4.0)


def test_configs_round_trip():
    original = losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1, name="bce")
    config = original.get_config()
    assert config == {
        "name": "bce",
        "reduction": "sum_over_batch_size",
        "from_logits": True,
        "label_smoothing": 0.1,
        "axis": -1,
    }
    again = losses.deserialize(losses.serialize(original))
    assert type(again) is losses.BinaryCrossentropy and again.get_config() == config
    wrapper = losses.LossFunctionWrapper(losses.huber, name="h", delta=0.5)
    restored = losses.LossFunctionWrapper.from_config(wrapper.get_config())
    assert restored.fn is losses.huber and restored._fn_kwargs == {"delta": 0.5}


def test_default_names_match_keras():
    names = {
        losses.MeanSquaredError: "mean_squared_error",
        losses.MeanAbsoluteError: "mean_absolute_error",
        losses.BinaryCrossentropy: "binary_crossentropy",
        losses.CategoricalCrossentropy: "categorical_crossentropy",
        losses.SparseCategoricalCrossentropy: "sparse_categorical_crossentropy",
        losses.Huber: "huber_loss",
        losses.KLDivergence: "kl_divergence",
        losses.Hinge: "hinge",
        losses.CategoricalHinge: "categorical_hinge",
        losses.LogCosh: "log_cosh",
        losses.Poisson: "poisson",
        losses.CosineSimilarity: "cosine_similarity",
    }
    for cls, name in names.items():
        assert cls().name == name
