"""The trainer: compile/fit/evaluate/*_on_batch on compiled steps, against numpy references and
Keras' semantics (return types, logs, frozen layers, BatchNormalization, dropout, multi-io)."""

from __future__ import annotations

import numpy as np
import pytest

import graphc
from graphc.frontend import (
    Input,
    Model,
    Sequential,
    callbacks,
    initializers,
    layers,
    losses,
    metrics,
    optimizers,
    utils,
)


def regression_data(n=64, features=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype(np.float32)
    y = (x @ np.arange(1, features + 1, dtype=np.float32))[:, None] + 0.5
    return x, y


def small_regressor(units=8):
    return Sequential([layers.Input((4,)), layers.Dense(units, activation="relu"), layers.Dense(1)])


def test_fit_decreases_loss_and_returns_history():
    utils.set_random_seed(0)
    x, y = regression_data()
    model = small_regressor()
    model.compile(optimizer=optimizers.Adam(0.05), loss="mse", metrics=["mae"])
    history = model.fit(x, y, batch_size=16, epochs=5, verbose=0)
    assert history is model.history
    assert history.epoch == [0, 1, 2, 3, 4]
    assert sorted(history.history) == ["loss", "mae"]
    assert history.history["loss"][-1] < history.history["loss"][0] / 2
    assert all(isinstance(v, float) for v in history.history["loss"])


def test_one_sgd_step_matches_a_numpy_trainer():
    x, y = regression_data(n=6)
    k1 = np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3)
    b1 = np.array([0.1, -0.2, 0.3], np.float32)
    k2 = np.array([[0.5], [-1.0], [0.25]], np.float32)
    b2 = np.array([0.05], np.float32)
    model = Sequential([layers.Input((4,)), layers.Dense(3, activation="relu"), layers.Dense(1)])
    model.set_weights([k1, b1, k2, b2])
    model.compile(optimizer=optimizers.SGD(0.1), loss="mse")
    loss = model.train_on_batch(x, y)

    h = np.maximum(x @ k1 + b1, 0)
    p = h @ k2 + b2
    dp = 2 * (p - y) / len(x)
    dh = dp @ k2.T * (h > 0)
    expected = [
        k1 - 0.1 * x.T @ dh,
        b1 - 0.1 * dh.sum(0),
        k2 - 0.1 * h.T @ dp,
        b2 - 0.1 * dp.sum(0),
    ]
    assert float(loss) == pytest.approx(float(np.mean((p - y) ** 2)), rel=1e-6)
    for got, want in zip(model.get_weights(), expected):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert model.optimizer.iterations == 1


def test_interpreter_and_compiled_steps_agree():
    x, y = regression_data(n=40)
    results = []
    for jit in (True, False):
        utils.set_random_seed(7)
        model = Sequential(
            [
                layers.Input((4,)),
                layers.Dense(6, activation="tanh"),
                layers.Dropout(0.3),
                layers.Dense(1),
            ]
        )
        model.compile(optimizer="adam", loss="mse", jit_compile=jit)
        model.fit(x, y, batch_size=8, epochs=2, verbose=0)
        results.append(model.get_weights())
    for compiled, interpreted in zip(*results):
        np.testing.assert_allclose(compiled, interpreted, rtol=1e-5, atol=1e-6)


def test_frozen_layer_gets_no_update_and_no_gradient():
    x, y = regression_data()
    model = small_regressor()
    frozen = model.layers[0]
    frozen.trainable = False
    before = frozen.get_weights()
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, epochs=2, verbose=0)
    for got, want in zip(frozen.get_weights(), before):
        np.testing.assert_array_equal(got, want)
    (step,) = model._trainer_state.steps.values()
    updated = {step.state[i].name for i, _ in step.assignments}
    assert "dense/kernel" not in updated and "dense_1/kernel" in updated
    # No gradient computation either: nothing in the step is shaped like the frozen kernel
    # (4, 8) except the kernel itself, so neither x^T @ dh nor the hidden layer's input
    # gradient is built.
    graph = step.graph
    kernel_shaped = [n for n in graph.order if graph.type(n).shape == (4, 8)]
    assert [graph.node_name(n) for n in kernel_shaped] == ["dense/kernel"]


def test_batchnorm_moving_statistics_follow_the_batches():
    rng = np.random.default_rng(1)
    x = rng.normal(3.0, 2.0, size=(32, 4)).astype(np.float32)
    y = rng.normal(size=(32, 1)).astype(np.float32)
    model = Sequential([layers.Input((4,)), layers.BatchNormalization(), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.train_on_batch(x, y)
    bn = model.layers[0]
    np.testing.assert_allclose(bn.moving_mean.numpy(), 0.01 * x.mean(0), rtol=1e-5)
    np.testing.assert_allclose(bn.moving_variance.numpy(), 0.99 + 0.01 * x.var(0), rtol=1e-5)


def test_dropout_is_active_in_training_and_reproducible():
    x, y = regression_data(n=32)

    def train(seed):
        utils.set_random_seed(seed)
        model = Sequential(
            [layers.Input((4,)), layers.Dense(16), layers.Dropout(0.5), layers.Dense(1)]
        )
        model.compile(optimizer="sgd", loss="mse")
        model.fit(x, y, batch_size=8, epochs=2, verbose=0)
        return model

    a, b, c = train(3), train(3), train(4)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    assert not np.array_equal(a.get_weights()[0], c.get_weights()[0])

    a.compile(optimizer=optimizers.SGD(0.0), loss="mse")
    train_losses = {float(a.train_on_batch(x, y)) for _ in range(3)}
    test_loss = float(a.test_on_batch(x, y))
    assert len(train_losses) == 3  # a new dropout mask at every step
    assert test_loss not in train_losses


def test_multi_input_multi_output_dict_model():
    utils.set_random_seed(0)
    a, b = Input((4,), name="a"), Input((3,), name="b")
    hidden = layers.Dense(8, activation="relu")(layers.Concatenate()([a, b]))
    outputs = {
        "value": layers.Dense(1, name="value")(hidden),
        "label": layers.Dense(3, activation="softmax", name="label")(hidden),
    }
    model = Model({"a": a, "b": b}, outputs)
    model.compile(
        optimizer=optimizers.Adam(0.02),
        loss={"value": "mse", "label": "sparse_categorical_crossentropy"},
        loss_weights={"value": 1.0, "label": 0.5},
        metrics={"label": ["accuracy"]},
    )
    rng = np.random.default_rng(0)
    xa, xb = rng.normal(size=(96, 4)), rng.normal(size=(96, 3))
    targets = {"value": xa.sum(1, keepdims=True), "label": (xb[:, 0] > 0).astype(int)}
    history = model.fit({"a": xa, "b": xb}, targets, batch_size=16, epochs=8, verbose=0)
    assert sorted(history.history) == ["label_accuracy", "label_loss", "loss", "value_loss"]
    logs = {k: v[-1] for k, v in history.history.items()}
    assert logs["loss"] == pytest.approx(logs["value_loss"] + 0.5 * logs["label_loss"], rel=1e-4)
    assert history.history["loss"][-1] < history.history["loss"][0]
    result = model.evaluate({"a": xa, "b": xb}, targets, verbose=0, return_dict=True)
    assert sorted(result) == sorted(history.history)
    prediction = model.predict({"a": xa, "b": xb}, verbose=0)
    assert prediction["label"].shape == (96, 3) and prediction["value"].shape == (96, 1)


def test_custom_train_step_is_traced_once_and_used_by_fit():
    traces = []

    class Custom(Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense = layers.Dense(1)
            self.tracker = metrics.Mean(name="my_loss")
            self.error = metrics.MeanAbsoluteError(name="error")

        def call(self, inputs):
            return self.dense(inputs)

        def train_step(self, data):
            traces.append(1)
            x, y = data
            prediction = self(x, training=True)
            loss = graphc.mean((prediction - y) ** 2) * 2.0
            variables = self.trainable_variables
            self.optimizer.apply(gradients(loss, variables), variables)
            record_metric(self.tracker, loss)
            record_metric(self.error, y, prediction)
            return {"my_loss": self.tracker, "error": self.error, "last": loss}

    from graphc.frontend.trainer import gradients, record_metric

    x, y = regression_data()
    model = Custom()
    model.compile(optimizer=optimizers.SGD(0.01))
    history = model.fit(x, y, batch_size=16, epochs=3, verbose=0)
    assert len(traces) == 1
    assert sorted(history.history) == ["error", "last", "my_loss"]
    assert history.history["my_loss"][-1] < history.history["my_loss"][0]
    # "last" is the final batch's value, "my_loss" the epoch's running mean.
    assert history.history["last"][0] != history.history["my_loss"][0]


def test_custom_test_step_is_used_by_evaluate_and_validation():
    from graphc.frontend.trainer import record_metric

    class Scored(Sequential):
        def test_step(self, data):
            x, y = data
            error = graphc.abs(self(x, training=False) - y)
            record_metric(self.score, error * 10.0)
            return {"score": self.score, "worst": graphc.max(error)}

    x, y = regression_data(n=32)
    model = Scored([layers.Input((4,)), layers.Dense(1)])
    model.score = metrics.Mean(name="score")
    model.compile(optimizer="sgd", loss="mse")
    error = np.abs(model.predict(x, verbose=0) - y)
    result = model.evaluate(x, y, batch_size=32, verbose=0, return_dict=True)
    assert sorted(result) == ["score", "worst"]
    assert result["score"] == pytest.approx(10 * error.mean(), rel=1e-5)
    assert result["worst"] == pytest.approx(error.max(), rel=1e-5)
    history = model.fit(x, y, epochs=1, verbose=0, validation_data=(x, y))
    assert sorted(history.history) == ["loss", "score", "val_score", "val_worst"]


def test_custom_train_step_in_the_keras_guide_style():
    from graphc.frontend.trainer import gradients, record_metric

    class Guide(Sequential):
        def train_step(self, data):
            x, y = data
            y_pred = self(x, training=True)
            loss = self.compute_loss(y=y, y_pred=y_pred)
            self.optimizer.apply(
                gradients(loss, self.trainable_variables), self.trainable_variables
            )
            for metric in self.metrics:
                if metric.name == "loss":
                    record_metric(metric, loss)
                else:
                    record_metric(metric, y, y_pred)
            return {m.name: m for m in self.metrics}

    x, y = regression_data()
    model = Guide([layers.Input((4,)), layers.Dense(1)])
    model.compile(optimizer=optimizers.SGD(0.01), loss="mse", metrics=["mae"])
    history = model.fit(x, y, epochs=2, verbose=0)
    assert sorted(history.history) == ["loss", "mae"]
    assert history.history["loss"][1] < history.history["loss"][0]


def test_custom_step_returning_a_python_number_is_refused():
    class Stale(Sequential):
        def train_step(self, data):
            super().train_step(data)
            return {"loss": 0.5}

    model = Stale([layers.Input((4,)), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(TypeError, match=r"return `metric.result\(\)` or the Metric object itself"):
        model.fit(*regression_data(), verbose=0)


def test_custom_loss_function_and_metric_function():
    def mean_pred(y_true, y_pred):
        return graphc.mean(y_pred, axis=-1)

    def scaled_mse(y_true, y_pred):
        return graphc.mean((y_true - y_pred) ** 2, axis=-1) * 3.0

    x, y = regression_data(n=32)
    model = small_regressor()
    model.compile(optimizer="sgd", loss=scaled_mse, metrics=[mean_pred, "mse"])
    result = model.evaluate(x, y, verbose=0, return_dict=True)
    prediction = model.predict(x, verbose=0)
    assert sorted(result) == ["loss", "mean_pred", "mse"]
    assert result["mean_pred"] == pytest.approx(float(prediction.mean()), rel=1e-5)
    assert result["loss"] == pytest.approx(3 * result["mse"], rel=1e-5)


def test_loss_subclass_and_regularization_terms():
    class Quartic(losses.Loss):
        def call(self, y_true, y_pred):
            return graphc.mean((y_true - y_pred) ** 4, axis=-1)

    x, y = regression_data(n=16)
    model = Sequential(
        [
            layers.Input((4,)),
            layers.Dense(1, kernel_regularizer="l2", kernel_initializer=initializers.Constant(0.5)),
        ]
    )
    model.compile(optimizer="sgd", loss=Quartic())
    loss = model.evaluate(x, y, verbose=0)
    prediction = model.predict(x, verbose=0)
    penalty = 0.01 * np.sum(model.layers[0].kernel.numpy() ** 2)
    assert loss == pytest.approx(float(np.mean((y - prediction) ** 4)) + penalty, rel=1e-5)


def test_evaluate_and_batch_methods_return_keras_types():
    x, y = regression_data(n=20)
    model = small_regressor()
    model.compile(optimizer="sgd", loss="mse")
    assert isinstance(model.evaluate(x, y, verbose=0), float)
    assert isinstance(model.train_on_batch(x, y), float)  # Keras 3 returns Python floats
    model.compile(optimizer="sgd", loss="mse", metrics=["mae", "mse"])
    listed = model.evaluate(x, y, verbose=0)
    assert isinstance(listed, list) and len(listed) == 3
    assert listed[2] == pytest.approx(listed[0], rel=1e-6)  # loss == mse metric
    as_dict = model.test_on_batch(x, y, return_dict=True)
    assert sorted(as_dict) == ["loss", "mae", "mse"]
    assert model.metrics_names == ["loss", "compile_metrics"]
    np.testing.assert_allclose(model.predict_on_batch(x[:3]), model.predict(x[:3], verbose=0))


def test_train_on_batch_metrics_accumulate_until_reset():
    x, y = regression_data(n=8)
    model = small_regressor()
    model.compile(optimizer=optimizers.SGD(0.0), loss="mse", metrics=["mae"])
    first = model.train_on_batch(x[:4], y[:4], return_dict=True)
    both = model.train_on_batch(x[4:], y[4:], return_dict=True)
    model.reset_metrics()
    alone = model.train_on_batch(x[4:], y[4:], return_dict=True)
    assert float(both["mae"]) == pytest.approx((float(first["mae"]) + float(alone["mae"])) / 2)


def test_sample_weight_class_weight_and_weighted_metrics():
    x, y = regression_data(n=16)
    model = small_regressor()
    model.compile(optimizer="sgd", loss="mse", weighted_metrics=["mae"], metrics=["mae"])
    weights = np.r_[np.ones(8), np.zeros(8)].astype(np.float32)
    weighted = model.evaluate(x, y, sample_weight=weights, verbose=0, return_dict=True)
    first_half = model.evaluate(x[:8], y[:8], verbose=0, return_dict=True)
    # Keras' "sum_over_batch_size": the weighted sum over all 16 samples divided by 16.
    assert weighted["loss"] == pytest.approx(first_half["loss"] / 2, rel=1e-5)
    assert weighted["weighted_mae"] == pytest.approx(first_half["mae"], rel=1e-5)
    assert weighted["mae"] != pytest.approx(weighted["weighted_mae"])

    labels = np.array([0, 1] * 8)
    clf = Sequential([layers.Input((4,)), layers.Dense(2)])
    clf.compile(
        optimizer=optimizers.SGD(0.0),
        loss=losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    zero_ones = clf.fit(x, labels, class_weight={0: 0.0}, batch_size=16, verbose=0)
    ones_only = clf.evaluate(x[1::2], labels[1::2], verbose=0)
    assert zero_ones.history["loss"][0] == pytest.approx(ones_only / 2, rel=1e-5)


def test_validation_split_data_and_frequency():
    x, y = regression_data(n=50)
    model = small_regressor()
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(x, y, validation_split=0.2, epochs=2, batch_size=8, verbose=0)
    assert sorted(history.history) == ["loss", "val_loss"]
    held_out = model.evaluate(x[40:], y[40:], verbose=0)
    assert history.history["val_loss"][-1] == pytest.approx(held_out, rel=1e-5)
    history = model.fit(
        x, y, validation_data=(x[:10], y[:10]), epochs=3, verbose=0, validation_freq=2
    )
    assert len(history.history["val_loss"]) == 1 and len(history.history["loss"]) == 3


def test_datasets_and_generators():
    x, y = regression_data(n=40)

    class Batches:
        def __len__(self):
            return 5

        def __iter__(self):
            for i in range(5):
                yield x[i * 8 : (i + 1) * 8], y[i * 8 : (i + 1) * 8]

    model = small_regressor()
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(Batches(), epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    assert model.optimizer.iterations == 10

    def endless():
        while True:
            yield x[:8], y[:8]

    model.fit(endless(), steps_per_epoch=3, epochs=2, verbose=0)
    assert model.optimizer.iterations == 16
    with pytest.raises(ValueError, match="do not specify `batch_size`"):
        model.fit(Batches(), batch_size=4)


def test_learning_rate_callbacks_and_schedules_need_no_recompile():
    x, y = regression_data(n=32)
    model = small_regressor()
    model.compile(optimizer=optimizers.SGD(0.01), loss="mse")
    scheduler = callbacks.LearningRateScheduler(lambda epoch, lr: 0.0 if epoch == 1 else 0.01)
    seen = []
    model.fit(
        x,
        y,
        epochs=3,
        batch_size=8,
        verbose=0,
        callbacks=[
            scheduler,
            callbacks.LambdaCallback(
                on_epoch_end=lambda epoch, logs: seen.append(model.get_weights()[0].copy())
            ),
        ],
    )
    np.testing.assert_array_equal(seen[0], seen[1])  # epoch 2 ran with lr 0
    assert not np.array_equal(seen[1], seen[2])
    assert len(model._trainer_state.steps) == 1

    decay = optimizers.schedules.PiecewiseConstantDecay([3], [0.05, 0.0])
    model.compile(optimizer=optimizers.SGD(decay), loss="mse")
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)  # 4 steps: the last one has lr 0
    after_four = model.get_weights()[0].copy()
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    np.testing.assert_array_equal(model.get_weights()[0], after_four)


def test_early_stopping_and_batch_callbacks_see_current_weights():
    x, y = regression_data(n=32)
    model = small_regressor()
    model.compile(optimizer="sgd", loss="mse")
    stop = callbacks.EarlyStopping(monitor="loss", min_delta=1e9, patience=1)
    history = model.fit(x, y, epochs=20, verbose=0, callbacks=[stop])
    assert history.epoch == [0, 1]

    kernels = []
    probe = callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: kernels.append(model.layers[-1].kernel.numpy())
    )
    model.fit(x, y, epochs=1, batch_size=16, verbose=0, callbacks=[probe])
    assert len(kernels) == 2 and not np.array_equal(kernels[0], kernels[1])
    np.testing.assert_array_equal(kernels[1], model.layers[-1].kernel.numpy())


def test_subclassed_model_is_built_from_the_first_batch():
    class Two(Model):
        def __init__(self):
            super().__init__()
            self.hidden = layers.Dense(5, activation="relu")
            self.out = layers.Dense(1)

        def call(self, inputs, training=False):
            return self.out(self.hidden(inputs))

    x, y = regression_data()
    model = Two()
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(x, y, epochs=2, verbose=0)
    assert model.built and model.count_params() == 4 * 5 + 5 + 5 + 1
    assert len(history.history["loss"]) == 2


def test_progress_output(capsys):
    x, y = regression_data(n=40)
    model = small_regressor()
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    model.fit(x, y, batch_size=16, epochs=2, verbose=1)
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2"
    assert lines[1].startswith("3/3 ━━━━━━━━━━━━━━━━━━━━ ")
    assert "/step - loss: " in lines[1] and lines[1].index("loss:") < lines[1].index("mae:")
    model.fit(x, y, batch_size=16, epochs=1, verbose=2)
    (line,) = capsys.readouterr().out.strip().splitlines()
    assert line.startswith("3/3 - ") and "/step - loss: " in line
    model.fit(x, y, epochs=1, verbose=0)
    model.evaluate(x, y, verbose=0)
    assert capsys.readouterr().out == ""
    model.evaluate(x, y, verbose=1)
    assert capsys.readouterr().out.startswith("2/2 ━━━━")


# --- bad input ----------------------------------------------------------------------------------


def test_fit_before_compile():
    with pytest.raises(ValueError, match=r"You must call `compile\(\)` before calling `fit\(\)`"):
        small_regressor().fit(*regression_data())


def test_mismatched_sample_counts():
    x, y = regression_data()
    model = small_regressor()
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(graphc.InputError, match="x has 64, y has 60"):
        model.fit(x, y[:60])


def test_sparse_labels_out_of_range():
    x, _ = regression_data(n=10)
    model = Sequential([layers.Input((4,)), layers.Dense(3)])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    labels = np.array([0, 1, 2, 3, 0, 1, 2, 0, 1, 2])
    with pytest.raises(ValueError, match="label 3 is out of range for 3 classes"):
        model.fit(x, labels, verbose=0)

    def batches():
        yield x[:5], labels[:5] % 3
        yield x[5:], labels[5:] - 1

    with pytest.raises(ValueError, match="label -1 is out of range"):
        model.fit(batches(), verbose=0)


def test_nan_loss_stops_with_terminate_on_nan(capsys):
    x, y = regression_data()
    model = small_regressor()
    model.compile(optimizer=optimizers.SGD(1e30), loss="mse")
    history = model.fit(
        x, y * 1e30, epochs=5, batch_size=8, verbose=0, callbacks=[callbacks.TerminateOnNaN()]
    )
    assert len(history.epoch) == 1 and not np.isfinite(history.history["loss"][0])
    assert "Invalid loss, terminating training" in capsys.readouterr().out


def test_no_loss_and_bad_arguments():
    model = small_regressor()
    model.compile(optimizer="sgd")
    with pytest.raises(ValueError, match="No loss to compute"):
        model.fit(*regression_data(), verbose=0)
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        model.fit(*regression_data(), batch_size=0)
    with pytest.raises(ValueError, match="validation_split"):
        model.fit(*regression_data(), validation_split=1.5)
    with pytest.raises(ValueError, match="Could not locate loss"):
        model.compile(optimizer="sgd", loss="msee")
        model.fit(*regression_data(), verbose=0)
