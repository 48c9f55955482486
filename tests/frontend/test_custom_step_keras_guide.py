"""Keras 3's guide "Customizing what happens in `fit()`", run unchanged except for the gradient
tape: `metric.update_state(...)` and `metric.result()` inside a traced `train_step`/`test_step`.

Each custom step must give the numbers of the default step (the same graph, written by hand).
As in the guide, the models subclass `Model` and are built functionally:
`CustomModel(inputs, outputs)`.
"""

from __future__ import annotations

import numpy as np
import pytest

from graphc.frontend import Model, Sequential, layers, losses, metrics, models, optimizers, utils
from graphc.frontend.metrics import StepResult
from graphc.frontend.trainer import gradients


class CustomModel(Model):
    """The guide's first example (its TensorFlow version, with `gradients` for the tape)."""

    def train_step(self, data):
        x, y = data
        y_pred = self(x, training=True)  # Forward pass
        loss = self.compute_loss(y=y, y_pred=y_pred)
        trainable_vars = self.trainable_variables
        grads = gradients(loss, trainable_vars)
        self.optimizer.apply(grads, trainable_vars)
        # Update metrics (includes the metric that tracks the loss)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred)
        # Return a dict mapping metric names to current value
        return {m.name: m.result() for m in self.metrics}


class WeightedModel(Model):
    """The guide's "Supporting sample_weight & class_weight" example."""

    def train_step(self, data):
        if len(data) == 3:
            x, y, sample_weight = data
        else:
            sample_weight = None
            x, y = data
        y_pred = self(x, training=True)
        loss = self.compute_loss(y=y, y_pred=y_pred, sample_weight=sample_weight)
        trainable_vars = self.trainable_variables
        self.optimizer.apply(gradients(loss, trainable_vars), trainable_vars)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred, sample_weight=sample_weight)
        return {m.name: m.result() for m in self.metrics}


class EvaluatedModel(CustomModel):
    """The guide's "Providing your own evaluation step" example."""

    def test_step(self, data):
        x, y = data
        y_pred = self(x, training=False)
        loss = self.compute_loss(y=y, y_pred=y_pred)
        for metric in self.metrics:
            if metric.name != "loss":
                metric.update_state(y, y_pred)
            else:
                metric.update_state(loss)
        return {m.name: m.result() for m in self.metrics}


class LowerLevelModel(Model):
    """The guide's "Going lower-level" example: its own trackers, loss and `metrics`."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.loss_tracker = metrics.Mean(name="loss")
        self.mae_metric = metrics.MeanAbsoluteError(name="mae")
        self.loss_fn = losses.MeanSquaredError()

    def train_step(self, data):
        x, y = data
        y_pred = self(x, training=True)
        loss = self.loss_fn(y, y_pred)
        trainable_vars = self.trainable_variables
        self.optimizer.apply(gradients(loss, trainable_vars), trainable_vars)
        self.loss_tracker.update_state(loss)
        self.mae_metric.update_state(y, y_pred)
        return {"loss": self.loss_tracker.result(), "mae": self.mae_metric.result()}

    @property
    def metrics(self):
        return [self.loss_tracker, self.mae_metric]


def data(n=96, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 32)).astype("float32")
    y = rng.random((n, 1)).astype("float32")
    return x, y


def pair(cls, **compile_kwargs):
    """A model with the custom step and a default-step model with the same weights."""
    inputs = layers.Input((32,))
    custom = cls(inputs, layers.Dense(1)(inputs))  # the guide's construction
    plain = Sequential([layers.Input((32,)), layers.Dense(1)])
    plain.set_weights(custom.get_weights())
    for model in (custom, plain):
        model.compile(optimizer=optimizers.Adam(0.01), **compile_kwargs)
    return custom, plain


def assert_same_history(a, b):
    assert sorted(a.history) == sorted(b.history)
    for name in a.history:
        np.testing.assert_allclose(a.history[name], b.history[name], rtol=1e-6, err_msg=name)


def test_first_example_matches_the_default_step():
    x, y = data()
    custom, plain = pair(CustomModel, loss="mse", metrics=["mae"])
    history = custom.fit(x, y, epochs=3, batch_size=32, shuffle=False, verbose=0)
    assert sorted(history.history) == ["loss", "mae"]
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert_same_history(history, plain.fit(x, y, epochs=3, batch_size=32, shuffle=False, verbose=0))
    np.testing.assert_allclose(custom.get_weights()[0], plain.get_weights()[0], rtol=1e-6)
    # after the step, result() is the number again (the epoch's running value)
    assert custom.metrics[0].result() == pytest.approx(history.history["loss"][-1], rel=1e-6)
    logs = custom.train_on_batch(x[:32], y[:32], return_dict=True)
    assert sorted(logs) == ["loss", "mae"] and all(isinstance(v, float) for v in logs.values())


def test_sample_weight_and_class_weight_example():
    x, y = data()
    sample_weight = np.random.default_rng(1).random(len(x)).astype("float32")
    custom, plain = pair(WeightedModel, loss="mse", metrics=["mae"], weighted_metrics=["mse"])
    fit = dict(epochs=2, batch_size=32, shuffle=False, verbose=0)
    history = custom.fit(x, y, sample_weight=sample_weight, **fit)
    assert sorted(history.history) == ["loss", "mae", "mse"]
    assert_same_history(history, plain.fit(x, y, sample_weight=sample_weight, **fit))
    labels = (y[:, 0] > 0.5).astype("int64")
    history = custom.fit(x, labels[:, None], class_weight={0: 1.0, 1: 3.0}, **fit)
    expected = plain.fit(x, labels[:, None], class_weight={0: 1.0, 1: 3.0}, **fit)
    assert_same_history(history, expected)


def test_own_evaluation_step_example():
    x, y = data()
    custom, plain = pair(EvaluatedModel, loss="mse", metrics=["mae"])
    result = custom.evaluate(x, y, verbose=0, return_dict=True)
    assert result == pytest.approx(plain.evaluate(x, y, verbose=0, return_dict=True), rel=1e-6)
    history = custom.fit(
        x, y, epochs=2, batch_size=32, validation_data=(x, y), shuffle=False, verbose=0
    )
    expected = plain.fit(
        x, y, epochs=2, batch_size=32, validation_data=(x, y), shuffle=False, verbose=0
    )
    assert sorted(history.history) == ["loss", "mae", "val_loss", "val_mae"]
    assert_same_history(history, expected)


def test_lower_level_example_with_its_own_metrics_and_no_compiled_loss():
    x, y = data()
    custom, plain = pair(LowerLevelModel, loss="mse", metrics=["mae"])
    custom.compile(optimizer=optimizers.Adam(0.01))  # as the guide: no loss, no metrics
    history = custom.fit(x, y, epochs=3, batch_size=32, shuffle=False, verbose=0)
    assert_same_history(history, plain.fit(x, y, epochs=3, batch_size=32, shuffle=False, verbose=0))
    # `metrics` is reset at the start of each epoch: the trackers hold the last epoch only
    assert custom.loss_tracker.result() == pytest.approx(history.history["loss"][-1], rel=1e-6)


def test_metric_calls_inside_a_step_and_outside():
    seen = []

    class Probe(Sequential):
        def train_step(self, data):
            x, y = data
            y_pred = self(x, training=True)
            loss = self.compute_loss(y=y, y_pred=y_pred)
            self.optimizer.apply(
                gradients(loss, self.trainable_variables), self.trainable_variables
            )
            result = self.tracker(loss)  # Metric.__call__: update, then result
            seen.append(result)
            with pytest.raises(TypeError, match="stand-in read after each batch"):
                float(result)
            with pytest.raises(TypeError, match="stand-in read after each batch"):
                result * 2.0
            logs = self.compute_metrics(x, y, y_pred)  # the compiled metrics' StepResults
            assert isinstance(logs["mse"], StepResult)
            return logs

    x, y = data()
    model = Probe([layers.Input((32,)), layers.Dense(1)])
    model.tracker = metrics.Mean(name="tracked")
    model.compile(optimizer="sgd", loss="mse", metrics=["mse"])
    history = model.fit(x, y, epochs=1, batch_size=32, shuffle=False, verbose=0)
    assert isinstance(seen[0], StepResult) and seen[0].metric is model.tracker
    assert sorted(history.history) == ["loss", "mse", "tracked"]
    # outside a step, update_state works on arrays as before
    eager = metrics.Mean()
    eager.update_state(np.array([1.0, 3.0]))
    assert eager.result() == 2.0


def test_a_functionally_built_subclass_keeps_its_class_through_saving(tmp_path):
    @utils.register_keras_serializable(package="GuideTest")
    class Saved(CustomModel):
        pass

    inputs = layers.Input((32,))
    model = Saved(inputs, layers.Dense(1)(inputs))
    assert isinstance(model, Saved) and type(model).__name__ == "Saved"
    assert model.name == "saved" and len(model.layers) == 2
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    x, y = data()
    model.fit(x, y, epochs=1, verbose=0)
    for again in (
        models.model_from_json(model.to_json()),
        models.load_model(model.save(tmp_path / "m.graphc") or tmp_path / "m.graphc"),
    ):
        assert isinstance(again, Saved) and type(again).__name__ == "Saved"
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))
    again.fit(x, y, epochs=1, verbose=0)  # the reloaded model trains with the custom step
