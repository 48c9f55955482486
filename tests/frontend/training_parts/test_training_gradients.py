"""`gradients(loss, variables)` on graph Values, and metric recording inside and outside a step."""

from __future__ import annotations

import numpy as np
import pytest

import graphc
from graphc.frontend import metrics
from graphc.frontend.trainer import gradients, record_metric
from graphc.frontend.trainer.step import StepTrace, current_step
from graphc.frontend.variables import Variable


def test_gradients_match_finite_differences():
    rng = np.random.default_rng(0)
    w = Variable(rng.normal(size=(3, 2)), name="w", dtype="float64")
    b = Variable(rng.normal(size=(2,)), name="b", dtype="float64")
    x = graphc.constant(rng.normal(size=(5, 3)))
    loss = graphc.mean(graphc.tanh(x @ w + b) ** 2)
    gw, gb = gradients(loss, [w, b])
    inputs = [w.symbol, b.symbol]
    numeric = graphc.numeric_grad(graphc.Graph(inputs, loss), [w.numpy(), b.numpy()])
    got_w, got_b = graphc.Graph(inputs, [gw, gb])(w.numpy(), b.numpy())
    np.testing.assert_allclose(got_w, numeric[0], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(got_b, numeric[1], rtol=1e-6, atol=1e-9)


def test_unrelated_variables_get_none_and_the_loss_must_be_a_float_scalar():
    w = Variable(np.ones(2, np.float32), name="w")
    other = Variable(np.ones(2, np.float32), name="other")
    x = graphc.placeholder((None, 2), name="x")
    grad_w, grad_other = gradients(graphc.sum(x * w), [w, other])
    assert grad_w is not None and grad_other is None
    with pytest.raises(graphc.ShapeError, match="must be a scalar"):
        gradients(x * w, [w])
    with pytest.raises(graphc.DTypeError, match="must be a float"):
        gradients(graphc.sum(graphc.cast(x, "int32")), [w])
    with pytest.raises(TypeError, match="graph Value"):
        gradients(1.0, [w])


def test_record_metric_in_a_step_and_eagerly():
    mean = metrics.Mean()
    values = graphc.placeholder((None,), name="values")
    with StepTrace(training=False, seed=None, data=[values]) as step:
        assert current_step() is step
        record_metric(mean, values)
    assert current_step() is None
    ((metric, stats),) = step.metric_records
    assert metric is mean and len(stats) == 2
    total, count = graphc.Graph([values], stats)(np.array([1.0, 2.0, 6.0], np.float32))
    mean.accumulate([total, count])
    assert mean.result() == 3.0
    record_metric(mean, np.array([7.0]))  # outside a step: update_state on arrays
    assert mean.result() == 4.0


def test_step_trace_only_checks_labels_coming_from_the_batch():
    labels = graphc.placeholder((None,), "int64", name="labels")
    with StepTrace(training=True, seed=None, data=[None, labels]) as step:
        step.check_labels(labels, 10, None)
        step.check_labels(labels + 1, 10, None)
    assert step.label_checks == [(1, 10, None)]
