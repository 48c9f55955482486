"""Metrics: Keras 3 running results, the graph/numpy split, AUC against Keras' algorithm."""

from __future__ import annotations

import numpy as np
import pytest

import graphc
from graphc.frontend import losses, metrics


def _batches(*arrays, size):
    n = len(arrays[0])
    for start in range(0, n, size):
        yield tuple(a[start : start + size] for a in arrays)


def _run(metric, *arrays, size=None, sample_weight=None):
    """Feed `arrays` to `metric` in batches of `size` (all at once without a size)."""
    metric.reset_state()
    if sample_weight is not None:
        arrays = (*arrays, sample_weight)
    for batch in _batches(*arrays, size=size or len(arrays[0])):
        if sample_weight is not None:
            metric.update_state(*batch[:-1], sample_weight=batch[-1])
        else:
            metric.update_state(*batch)
    return metric.result()


# --- reductions --------------------------------------------------------------------------------


def test_mean_and_sum_match_keras_examples():
    assert metrics.Mean()([1.0, 3.0, 5.0, 7.0]) == 4.0
    assert metrics.Mean()([1.0, 3.0, 5.0, 7.0], sample_weight=[1, 1, 0, 0]) == 2.0
    assert metrics.Sum()([1.0, 3.0, 5.0, 7.0]) == 16.0
    assert metrics.Sum()([1.0, 3.0, 5.0, 7.0], sample_weight=[1, 1, 0, 0]) == 4.0


def test_mean_averages_extra_axes_per_sample_and_weights_samples(rng):
    values = rng.normal(size=(6, 3))
    weights = rng.uniform(0.0, 2.0, 6)
    expected = np.sum(values.mean(-1) * weights) / weights.sum()
    assert _run(metrics.Mean(), values, size=4, sample_weight=weights) == pytest.approx(
        expected, rel=1e-6
    )
    full = rng.uniform(0.0, 2.0, (6, 3))
    expected = np.sum(np.mean(values * full, -1)) / np.sum(full.mean(-1))
    assert _run(metrics.Mean(), values, sample_weight=full) == pytest.approx(expected, rel=1e-6)


def test_mean_of_a_scalar_counts_once():
    m = metrics.Mean()
    m.update_state(2.0)
    m.update_state(np.array([4.0, 6.0]))
    assert m.result() == pytest.approx(4.0)
    assert metrics.Mean().result() == 0.0


def test_mean_metric_wrapper_runs_custom_graph_functions():
    def mean_pred(y_true, y_pred):
        return graphc.mean(y_pred, axis=-1)

    m = metrics.MeanMetricWrapper(mean_pred, name="mean_pred")
    y_pred = np.array([[1.0, 3.0], [5.0, 5.0], [0.0, 2.0]])
    assert _run(m, np.zeros_like(y_pred), y_pred, size=2) == pytest.approx(np.mean(y_pred))
    assert m.name == "mean_pred" and not hasattr(m, "_direction")


@pytest.mark.parametrize(
    "metric, loss",
    [
        (metrics.MeanSquaredError(), losses.MeanSquaredError()),
        (metrics.MeanAbsoluteError(), losses.MeanAbsoluteError()),
        (metrics.BinaryCrossentropy(from_logits=True), losses.BinaryCrossentropy(from_logits=True)),
        (metrics.Hinge(), losses.Hinge()),
    ],
    ids=["mse", "mae", "bce", "hinge"],
)
def test_loss_metrics_average_per_sample_losses(rng, metric, loss):
    y_true = rng.integers(0, 2, (7, 3)).astype(float)
    y_pred = rng.normal(size=(7, 3))
    assert _run(metric, y_true, y_pred, size=3) == pytest.approx(loss(y_true, y_pred), rel=1e-5)
    assert metric._direction == "down"


# --- accuracies --------------------------------------------------------------------------------


def test_accuracy_over_batches_equals_accuracy_over_the_concatenation(rng):
    y_true = rng.integers(0, 3, (10, 1))
    y_pred = rng.integers(0, 3, (10, 1))
    expected = np.mean(y_true == y_pred)
    assert _run(metrics.Accuracy(), y_true, y_pred, size=3) == pytest.approx(expected)
    assert _run(metrics.Accuracy(), y_true, y_pred) == pytest.approx(expected)


def test_accuracy_keras_examples():
    y_true, y_pred = [[1], [2], [3], [4]], [[0], [2], [3], [4]]
    assert metrics.Accuracy()(y_true, y_pred) == pytest.approx(0.75)
    assert metrics.Accuracy()(y_true, y_pred, sample_weight=[1, 1, 0, 0]) == pytest.approx(0.5)


def test_binary_accuracy_thresholds_and_weights(rng):
    y_true = rng.integers(0, 2, (9, 2))
    y_pred = rng.uniform(size=(9, 2))
    weights = rng.uniform(size=9)
    for threshold in (0.5, 0.7):
        hits = np.mean(y_true == (y_pred > threshold), -1)
        m = metrics.BinaryAccuracy(threshold=threshold)
        assert _run(m, y_true, y_pred, size=4) == pytest.approx(hits.mean(), rel=1e-6)
        assert _run(m, y_true, y_pred, size=4, sample_weight=weights) == pytest.approx(
            np.sum(hits * weights) / weights.sum(), rel=1e-6
        )
    with pytest.raises(ValueError, match="threshold"):
        metrics.BinaryAccuracy(threshold=1.0)


def test_binary_accuracy_rank_one_labels_against_column_predictions():
    m = metrics.BinaryAccuracy()
    assert m(np.array([1, 0, 1]), np.array([[0.9], [0.8], [0.2]])) == pytest.approx(1 / 3)


def test_categorical_and_sparse_accuracy(rng):
    labels = rng.integers(0, 4, 11)
    y_pred = rng.normal(size=(11, 4))
    expected = np.mean(labels == y_pred.argmax(-1))
    one_hot = np.eye(4)[labels]
    assert _run(metrics.CategoricalAccuracy(), one_hot, y_pred, size=5) == pytest.approx(expected)
    sparse = metrics.SparseCategoricalAccuracy()
    assert _run(sparse, labels, y_pred, size=5) == pytest.approx(expected)
    assert _run(sparse, labels[:, None], y_pred, size=5) == pytest.approx(expected)
    assert _run(sparse, labels.astype(float), y_pred, size=5) == pytest.approx(expected)
    weighted = metrics.SparseCategoricalAccuracy()(
        [[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]], sample_weight=[0.7, 0.3]
    )
    assert weighted == pytest.approx(0.3)


def test_top_k_accuracy_counts_ties_as_in(rng):
    y_pred = np.array([[0.1, 0.5, 0.5, 0.2], [0.4, 0.3, 0.2, 0.1], [0.0, 0.1, 0.2, 0.3]])
    labels = np.array([2, 2, 0])
    # ranks of the label: row 0 ties for first, row 1 is third, row 2 is last
    for k, expected in [(1, 1 / 3), (2, 1 / 3), (3, 2 / 3), (4, 1.0)]:
        sparse = metrics.SparseTopKCategoricalAccuracy(k=k)
        assert sparse(labels, y_pred) == pytest.approx(expected)
        dense = metrics.TopKCategoricalAccuracy(k=k)
        assert dense(np.eye(4)[labels], y_pred) == pytest.approx(expected)
    assert metrics.SparseTopKCategoricalAccuracy(k=1)(labels[:, None], y_pred) == pytest.approx(
        1 / 3
    )
    random_labels = rng.integers(0, 4, 20)
    random_pred = rng.normal(size=(20, 4))
    ranks = np.sum(random_pred > random_pred[np.arange(20), random_labels][:, None], -1)
    top2 = metrics.SparseTopKCategoricalAccuracy(k=2)
    assert _run(top2, random_labels, random_pred, size=6) == pytest.approx(np.mean(ranks < 2))


# --- confusion metrics -------------------------------------------------------------------------


def _confusion(y_true, y_pred, thresholds, weights=None):
    """(tp, fp, tn, fn) per threshold, predictions above the threshold being positive."""
    t = (np.ravel(y_true) != 0)[None, :]
    p = np.ravel(y_pred)[None, :] > np.asarray(thresholds)[:, None]
    w = np.ones(t.shape[1]) if weights is None else np.ravel(weights)
    return tuple(np.sum(c * w, -1) for c in (t & p, ~t & p, ~t & ~p, t & ~p))


def test_precision_and_recall_default_to_a_half(rng):
    y_true = rng.integers(0, 2, 50)
    y_pred = rng.uniform(size=50).astype(np.float32)
    tp, fp, _, fn = _confusion(y_true, y_pred, [0.5])
    assert _run(metrics.Precision(), y_true, y_pred, size=16) == pytest.approx(
        float((tp / (tp + fp))[0]), rel=1e-6
    )
    assert _run(metrics.Recall(), y_true, y_pred, size=16) == pytest.approx(
        float((tp / (tp + fn))[0]), rel=1e-6
    )


def test_precision_keras_examples():
    assert metrics.Precision()([0, 1, 1, 1], [1, 0, 1, 1]) == pytest.approx(2 / 3)
    m = metrics.Precision()
    assert m([0, 1, 1, 1], [1, 0, 1, 1], sample_weight=[0, 0, 1, 0]) == pytest.approx(1.0)
    assert metrics.Precision(top_k=2)([0, 0, 1, 1], [1, 1, 1, 1]) == 0.0
    assert metrics.Precision(top_k=4)([0, 0, 1, 1], [1, 1, 1, 1]) == pytest.approx(0.5)
    assert metrics.Recall()([0, 1, 1, 1], [1, 0, 1, 1]) == pytest.approx(2 / 3)


def test_confusion_metrics_with_several_thresholds_and_weights(rng):
    y_true = rng.integers(0, 2, (20, 3))
    y_pred = rng.uniform(size=(20, 3)).astype(np.float32)
    weights = rng.uniform(size=20).astype(np.float32)
    thresholds = [0.2, 0.45, 0.9]
    tp, fp, tn, fn = _confusion(y_true, y_pred, thresholds, np.repeat(weights, 3))
    options = dict(size=7, sample_weight=weights)
    np.testing.assert_allclose(
        _run(metrics.Precision(thresholds), y_true, y_pred, **options), tp / (tp + fp), rtol=1e-5
    )
    np.testing.assert_allclose(
        _run(metrics.Recall(thresholds), y_true, y_pred, **options), tp / (tp + fn), rtol=1e-5
    )
    for cls, expected in [
        (metrics.TruePositives, tp),
        (metrics.FalsePositives, fp),
        (metrics.TrueNegatives, tn),
        (metrics.FalseNegatives, fn),
    ]:
        np.testing.assert_allclose(
            _run(cls(thresholds), y_true, y_pred, **options), expected, rtol=1e-5
        )


def test_evenly_spaced_thresholds_clip_predictions_like_keras():
    # [0, 0.5, 1] is evenly spaced: Keras buckets clipped predictions, so 1.5 is not > 1.
    m = metrics.TruePositives(thresholds=[0.0, 0.5, 1.0])
    np.testing.assert_allclose(m([1, 1, 1], [1.5, 0.5, 0.25]), [3.0, 1.0, 0.0])
    uneven = metrics.TruePositives(thresholds=[0.0, 0.5, 0.9])
    np.testing.assert_allclose(uneven([1, 1, 1], [1.5, 0.5, 0.25]), [3.0, 1.0, 1.0])


def test_precision_class_id_and_top_k(rng):
    y_true = np.eye(4)[rng.integers(0, 4, 30)]
    y_pred = rng.uniform(size=(30, 4)).astype(np.float32)
    tp, fp, _, fn = _confusion(y_true[:, 2], y_pred[:, 2], [0.5])
    assert _run(metrics.Precision(class_id=2), y_true, y_pred, size=8) == pytest.approx(
        float((tp / (tp + fp))[0]), rel=1e-6
    )
    order = np.argsort(-y_pred, axis=-1, kind="stable")
    top = np.zeros_like(y_pred, dtype=bool)
    np.put_along_axis(top, order[:, :2], True, axis=-1)
    hits = np.sum(top & (y_true != 0))
    assert _run(metrics.Precision(top_k=2), y_true, y_pred, size=8) == pytest.approx(
        hits / top.sum(), rel=1e-6
    )
    assert _run(metrics.Recall(top_k=2), y_true, y_pred, size=8) == pytest.approx(
        hits / (y_true != 0).sum(), rel=1e-6
    )
    with pytest.raises(graphc.ShapeError, match="class_id"):
        metrics.Precision(class_id=0)([1, 0], [0.3, 0.6])


def test_top_k_filter_breaks_ties_by_index():
    m = metrics.Precision(top_k=1)
    # all four predictions tie: only index 0 is kept, as top_k would
    assert m([[1, 0, 0, 0]], [[0.5, 0.5, 0.5, 0.5]]) == 1.0
    assert metrics.Precision(top_k=1)([[0, 1, 0, 0]], [[0.5, 0.5, 0.5, 0.5]]) == 0.0


def test_thresholds_must_lie_in_the_unit_interval():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        metrics.Precision(thresholds=[0.5, 1.5])


# --- AUC ---------------------------------------------------------------------------------------


def _divide_no_nan(x, y):
    return np.where(y == 0, 0.0, x / np.where(y == 0, 1.0, y))


def keras_auc(y_true, y_pred, num_thresholds=200, curve="ROC", method="interpolation", w=None):
    """Keras' AUC, written independently: bucket by ceil(p (T-1)) - 1, reverse cumulative sums,
    then the Riemann sum (the PR interpolation of Davis & Goadrich for PR + interpolation)."""
    t_count = num_thresholds
    p = np.clip(np.ravel(y_pred).astype(np.float32), 0, 1)
    labels = (np.ravel(y_true) != 0).astype(np.float64)
    w = np.ones_like(labels) if w is None else np.ravel(w).astype(np.float64)
    buckets = np.maximum(np.ceil(p * np.float32(t_count - 1)) - 1, 0).astype(int)
    tp = np.cumsum(np.bincount(buckets, labels * w, t_count)[::-1])[::-1]
    fp = np.cumsum(np.bincount(buckets, (1 - labels) * w, t_count)[::-1])[::-1]
    fn = np.sum(labels * w) - tp
    tn = np.sum((1 - labels) * w) - fp
    if curve == "PR" and method == "interpolation":
        dtp = tp[:-1] - tp[1:]
        pos = tp + fp
        slope = _divide_no_nan(dtp, np.maximum(pos[:-1] - pos[1:], 0))
        intercept = tp[1:] - slope * pos[1:]
        ratio = np.where(
            (pos[:-1] > 0) & (pos[1:] > 0), _divide_no_nan(pos[:-1], np.maximum(pos[1:], 0)), 1
        )
        return np.sum(
            _divide_no_nan(
                slope * (dtp + intercept * np.log(ratio)), np.maximum(tp[1:] + fn[1:], 0)
            )
        )
    recall = _divide_no_nan(tp, tp + fn)
    if curve == "ROC":
        x, y = _divide_no_nan(fp, fp + tn), recall
    else:
        x, y = recall, _divide_no_nan(tp, tp + fp)
    pick = {
        "interpolation": lambda a, b: (a + b) / 2,
        "minoring": np.minimum,
        "majoring": np.maximum,
    }
    return np.sum((x[:-1] - x[1:]) * pick[method](y[:-1], y[1:]))


@pytest.mark.parametrize("curve", ["ROC", "PR"])
@pytest.mark.parametrize("method", ["interpolation", "minoring", "majoring"])
def test_auc_matches_keras_algorithm(rng, curve, method):
    y_true = rng.integers(0, 2, 60)
    y_pred = np.clip(y_true * 0.3 + rng.uniform(size=60) * 0.8, 0, 1).astype(np.float32)
    weights = rng.uniform(size=60)
    m = metrics.AUC(curve=curve, summation_method=method)
    expected = keras_auc(y_true, y_pred, curve=curve, method=method, w=weights)
    result = _run(m, y_true, y_pred, size=25, sample_weight=weights)
    assert result == pytest.approx(expected, rel=1e-5, abs=1e-7)
    assert 0.5 < result <= 1.0


def test_auc_of_a_perfectly_separable_set_is_one():
    y_true = np.array([0, 0, 0, 1, 1, 1])
    y_pred = np.array([0.05, 0.2, 0.3, 0.7, 0.8, 0.99])
    assert metrics.AUC()(y_true, y_pred) == pytest.approx(1.0)
    assert metrics.AUC(curve="PR")(y_true, y_pred) == pytest.approx(1.0)
    assert metrics.AUC(from_logits=True)(y_true, np.log(y_pred / (1 - y_pred))) == pytest.approx(
        1.0
    )


def test_auc_keras_example_and_custom_thresholds():
    m = metrics.AUC(num_thresholds=3)
    assert m([0, 0, 1, 1], [0, 0.5, 0.3, 0.9]) == pytest.approx(0.75)
    m.reset_state()
    assert m([0, 0, 1, 1], [0, 0.5, 0.3, 0.9], sample_weight=[1, 0, 0, 1]) == pytest.approx(1.0)
    custom = metrics.AUC(thresholds=[0.5])
    assert custom.thresholds == pytest.approx([-1e-7, 0.5, 1 + 1e-7])
    assert custom([0, 0, 1, 1], [0, 0.5, 0.3, 0.9]) == pytest.approx(0.75)
    assert custom.get_config()["thresholds"] == [0.5]


def test_multi_label_auc_averages_label_aucs(rng):
    y_true = rng.integers(0, 2, (40, 3))
    y_pred = rng.uniform(size=(40, 3)).astype(np.float32)
    per_label = [keras_auc(y_true[:, j], y_pred[:, j]) for j in range(3)]
    m = metrics.AUC(multi_label=True)
    assert _run(m, y_true, y_pred, size=15) == pytest.approx(np.mean(per_label), rel=1e-5)
    weighted = metrics.AUC(multi_label=True, num_labels=3, label_weights=[1.0, 0.0, 3.0])
    assert _run(weighted, y_true, y_pred) == pytest.approx(
        (per_label[0] + 3 * per_label[2]) / 4, rel=1e-5
    )
    flat = metrics.AUC()
    assert _run(flat, y_true, y_pred) == pytest.approx(keras_auc(y_true, y_pred), rel=1e-5)


# --- the graph / numpy split -------------------------------------------------------------------


def test_batch_statistics_run_in_a_batched_graph_and_accumulate(rng):
    y_true = graphc.placeholder((None, 3), "float32", name="y_true")
    y_pred = graphc.placeholder((None, 3), "float32", name="y_pred")
    data_true = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 10)]
    data_pred = rng.uniform(size=(10, 3)).astype(np.float32)
    for metric in (metrics.CategoricalAccuracy(), metrics.AUC(), metrics.Precision()):
        stats = metric.batch_statistics(y_true, y_pred)
        step = graphc.Graph([y_true, y_pred], list(stats))
        for t, p in _batches(data_true, data_pred, size=4):
            metric.accumulate(step(t, p))
        graph_result = metric.result()
        assert graph_result == pytest.approx(_run(metric, data_true, data_pred, size=4))


def test_accumulate_checks_statistics():
    m = metrics.Mean()
    with pytest.raises(ValueError, match="expected 2 statistics"):
        m.accumulate([np.float32(1.0)])
    with pytest.raises(graphc.ShapeError, match="'count' must have shape"):
        m.accumulate([np.float32(1.0), np.zeros(2)])


def test_reset_state_and_variables():
    m = metrics.Mean()
    m.update_state([2.0, 4.0])
    assert [float(v) for v in m.variables] == [6.0, 2.0]
    m.reset_state()
    assert m.result() == 0.0 and [float(v) for v in m.variables] == [0.0, 0.0]


# --- registry ----------------------------------------------------------------------------------


def test_get_names_metrics_by_the_string_given():
    mse = metrics.get("mse")
    assert isinstance(mse, metrics.MeanSquaredError) and mse.name == "mse"
    assert isinstance(metrics.get("binary_accuracy"), metrics.BinaryAccuracy)
    assert isinstance(metrics.get("AUC"), metrics.AUC)
    huber = metrics.get("huber")
    assert isinstance(huber, metrics.MeanMetricWrapper) and huber.name == "huber"
    assert huber._direction == "down"
    precision = metrics.Precision(name="p")
    assert metrics.get(precision) is precision
    restored = metrics.get({"class_name": "BinaryAccuracy", "config": {"threshold": 0.3}})
    assert restored.threshold == 0.3
    assert metrics.get(None) is None
    with pytest.raises(ValueError, match="Could not locate metric 'accuarcy'"):
        metrics.get("accuarcy")
    with pytest.raises(ValueError, match="Could not interpret"):
        metrics.get(1.5)


def test_custom_metric_function_is_wrapped():
    def mean_pred(y_true, y_pred):
        return graphc.mean(y_pred, axis=-1)

    m = metrics.get(mean_pred)
    assert m.name == "mean_pred"
    assert m(np.zeros((2, 2)), np.array([[1.0, 2.0], [3.0, 4.0]])) == pytest.approx(2.5)


@pytest.mark.parametrize(
    "loss, true_shape, pred_shape, expected",
    [
        ("binary_crossentropy", (None, 3), (None, 3), metrics.BinaryAccuracy),
        (losses.BinaryCrossentropy(from_logits=True), (None, 5), (None, 5), metrics.BinaryAccuracy),
        (
            "sparse_categorical_crossentropy",
            (None, 1),
            (None, 10),
            metrics.SparseCategoricalAccuracy,
        ),
        (losses.categorical_crossentropy, (None, 10), (None, 10), metrics.CategoricalAccuracy),
        (
            losses.get("categorical_crossentropy"),
            (None, 10),
            (None, 10),
            metrics.CategoricalAccuracy,
        ),
        ("mse", (None, 1), (None, 1), metrics.BinaryAccuracy),
        ("mse", (None,), (None, 4), metrics.SparseCategoricalAccuracy),
        (None, (None, 1), (None, 4), metrics.SparseCategoricalAccuracy),
        (None, (None, 4), (None, 4), metrics.CategoricalAccuracy),
    ],
)
def test_resolve_accuracy(loss, true_shape, pred_shape, expected):
    metric = metrics.resolve_accuracy(loss, true_shape, pred_shape, name="acc")
    assert type(metric) is expected and metric.name == "acc" and metric._direction == "up"


def test_configs_round_trip():
    auc = metrics.AUC(num_thresholds=50, curve="PR", name="pr_auc")
    again = metrics.deserialize(metrics.serialize(auc))
    assert type(again) is metrics.AUC and again.get_config() == auc.get_config()
    top = metrics.SparseTopKCategoricalAccuracy(k=3, name="top3")
    assert metrics.deserialize(metrics.serialize(top)).get_config() == {
        "name": "top3",
        "dtype": "float32",
        "k": 3,
    }
    wrapper = metrics.MeanMetricWrapper(metrics.binary_accuracy, name="ba", threshold=0.2)
    restored = metrics.MeanMetricWrapper.from_config(wrapper.get_config())
    assert restored._fn is metrics.binary_accuracy and restored._fn_kwargs == {"threshold": 0.2}
