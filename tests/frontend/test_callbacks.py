"""Callbacks against a fake model and hand-written logs: Keras 3 behaviour, epoch by epoch."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

from graphc.frontend import callbacks, metrics


class FakeOptimizer:
    def __init__(self, learning_rate: float = 0.1):
        self.learning_rate = learning_rate


class FakeModel:
    """The model interface callbacks use; "training" sets the weights to the epoch number."""

    def __init__(self, learning_rate: float = 0.1, metric_list=None):
        self.stop_training = False
        self.optimizer = FakeOptimizer(learning_rate)
        self._weights = [np.zeros(2), np.zeros(1)]
        self.saved: list[str] = []
        self.saved_weights: list[str] = []
        if metric_list is not None:
            self.metrics = metric_list

    def train_epoch(self, epoch: int) -> None:
        self._weights = [np.full(2, float(epoch)), np.full(1, float(epoch))]

    def get_weights(self) -> list[np.ndarray]:
        return [w.copy() for w in self._weights]

    def set_weights(self, weights) -> None:
        self._weights = [np.array(w) for w in weights]

    def save(self, path: str) -> None:
        self.saved.append(path)

    def save_weights(self, path: str) -> None:
        self.saved_weights.append(path)


def fit(model, callback_list, epoch_logs, batches=1, batch_logs=None):
    """Drive callbacks like `fit`: returns the History; stops when the model asks to."""
    cbs = callbacks.CallbackList(
        callback_list, add_history=True, model=model, epochs=len(epoch_logs)
    )
    cbs.on_train_begin()
    logs = None
    for epoch, logs in enumerate(epoch_logs):
        cbs.on_epoch_begin(epoch)
        for batch in range(batches):
            cbs.on_train_batch_begin(batch)
            model.train_epoch(epoch)
            cbs.on_train_batch_end(batch, batch_logs(epoch, batch) if batch_logs else {})
        logs = dict(logs)
        cbs.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    cbs.on_train_end(logs)
    return model.history


# --- History and CallbackList ------------------------------------------------------------------


def test_history_collects_epoch_logs():
    model = FakeModel()
    history = fit(model, [], [{"loss": 3.0, "acc": 0.1}, {"loss": 2.0, "acc": 0.5}])
    assert history.history == {"loss": [3.0, 2.0], "acc": [0.1, 0.5]}
    assert history.epoch == [0, 1]
    assert model.history is history


def test_callback_list_passes_model_params_and_python_floats():
    seen = []

    class Recorder(callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append((batch, logs, self.params, self.model))

    model = FakeModel()
    recorder = Recorder()
    cbs = callbacks.CallbackList([recorder], model=model, epochs=3, steps=2)
    cbs.on_train_batch_end(0, {"loss": np.float32(0.5), "metrics": {"acc": np.float64(1.0)}})
    batch, logs, params, owner = seen[0]
    assert logs == {"acc": 1.0, "loss": 0.5} and type(logs["loss"]) is float
    assert params == {"epochs": 3, "steps": 2} and owner is model
    late = Recorder()
    cbs.append(late)
    assert late.model is model and late.params == {"epochs": 3, "steps": 2}


def test_train_batch_hooks_fall_back_to_the_batch_aliases():
    calls = []

    class Old(callbacks.Callback):
        def on_batch_begin(self, batch, logs=None):
            calls.append(("begin", batch))

        def on_batch_end(self, batch, logs=None):
            calls.append(("end", batch))

    fit(FakeModel(), [Old()], [{"loss": 1.0}], batches=2)
    assert calls == [("begin", 0), ("end", 0), ("begin", 1), ("end", 1)]


def test_existing_history_is_not_duplicated():
    history = callbacks.History()
    cbs = callbacks.CallbackList([history], add_history=True)
    assert cbs.callbacks == [history]


# --- EarlyStopping -----------------------------------------------------------------------------


def _losses(*values, key="val_loss"):
    return [{"loss": 1.0, key: v} for v in values]


def test_early_stopping_stops_after_patience_and_restores_best_weights():
    model = FakeModel()
    stop = callbacks.EarlyStopping(patience=2, restore_best_weights=True)
    history = fit(model, [stop], _losses(1.0, 0.8, 0.9, 0.85, 0.95, 0.7))
    assert history.epoch == [0, 1, 2, 3]
    assert stop.stopped_epoch == 3 and stop.best == 0.8 and stop.best_epoch == 1
    np.testing.assert_array_equal(model.get_weights()[0], [1.0, 1.0])


def test_early_stopping_patience_zero_and_min_delta():
    stop = callbacks.EarlyStopping(patience=0, min_delta=0.1)
    history = fit(FakeModel(), [stop], _losses(1.0, 0.85, 0.8, 0.5))
    # 0.85 improves on 1.0 by more than 0.1; 0.8 does not improve on 0.85 by more than 0.1
    assert history.epoch == [0, 1, 2]


def test_early_stopping_without_restore_keeps_the_last_weights():
    model = FakeModel()
    history = fit(model, [callbacks.EarlyStopping(patience=1)], _losses(1.0, 2.0, 3.0))
    assert history.epoch == [0, 1]
    np.testing.assert_array_equal(model.get_weights()[1], [1.0])


def test_early_stopping_maximizes_metrics_that_go_up():
    for monitor in ("val_accuracy", "val_acc", "val_auc", "val_precision"):
        stop = callbacks.EarlyStopping(monitor=monitor, patience=1)
        history = fit(FakeModel(), [stop], _losses(0.5, 0.7, 0.6, 0.65, 0.9, key=monitor))
        assert history.epoch == [0, 1, 2], monitor
    explicit = callbacks.EarlyStopping(monitor="score", mode="max", patience=1)
    assert fit(FakeModel(), [explicit], _losses(1, 2, 1, 1, key="score")).epoch == [0, 1, 2]


def test_early_stopping_auto_mode_reads_the_models_metrics():
    custom = metrics.MeanMetricWrapper(lambda t, p: p, name="goodness")
    custom._direction = "up"
    model = FakeModel(metric_list=[custom])
    stop = callbacks.EarlyStopping(monitor="goodness", patience=0)
    assert fit(model, [stop], _losses(1.0, 2.0, 1.5, key="goodness")).epoch == [0, 1, 2]
    errors = callbacks.EarlyStopping(monitor="val_mae", patience=0)
    assert fit(FakeModel(), [errors], _losses(1.0, 2.0, key="val_mae")).epoch == [0, 1]
    output_loss = callbacks.EarlyStopping(monitor="val_dense_1_loss", patience=0)
    assert fit(FakeModel(), [output_loss], _losses(1.0, 2.0, key="val_dense_1_loss")).epoch == [
        0,
        1,
    ]
    unknown = callbacks.EarlyStopping(monitor="val_mystery")
    with pytest.raises(ValueError, match="maximized or minimized"):
        fit(FakeModel(), [unknown], _losses(1.0, key="val_mystery"))


def test_early_stopping_baseline_and_warm_up():
    model = FakeModel()
    stop = callbacks.EarlyStopping(
        monitor="loss", baseline=0.5, patience=2, restore_best_weights=True
    )
    history = fit(model, [stop], [{"loss": v} for v in (0.9, 0.8, 0.85, 0.7, 0.6)])
    assert history.epoch == [0, 1, 2]  # never beats the baseline: stops after patience
    np.testing.assert_array_equal(model.get_weights()[1], [1.0])
    warm = callbacks.EarlyStopping(monitor="loss", start_from_epoch=2, patience=0)
    history = fit(FakeModel(), [warm], [{"loss": v} for v in (1.0, 2.0, 3.0, 4.0, 5.0)])
    assert history.epoch == [0, 1, 2, 3]


def test_early_stopping_warns_when_the_quantity_is_missing():
    stop = callbacks.EarlyStopping(patience=0)
    with pytest.warns(UserWarning, match="val_loss"):
        history = fit(FakeModel(), [stop], [{"loss": 1.0}] * 3)
    assert history.epoch == [0, 1, 2]


# --- ModelCheckpoint ---------------------------------------------------------------------------


def test_model_checkpoint_formats_the_path_and_saves_every_epoch(tmp_path):
    model = FakeModel()
    path = os.path.join(tmp_path, "weights.{epoch:02d}-{val_loss:.2f}.keras")
    fit(model, [callbacks.ModelCheckpoint(path)], _losses(0.5, 0.634, 0.4))
    names = [os.path.basename(p) for p in model.saved]
    assert names == ["weights.01-0.50.keras", "weights.02-0.63.keras", "weights.03-0.40.keras"]


def test_model_checkpoint_save_best_only_saves_on_improvement(tmp_path):
    model = FakeModel()
    path = os.path.join(tmp_path, "ckpt", "weights.{epoch:02d}-{val_loss:.2f}.weights.h5")
    check = callbacks.ModelCheckpoint(path, save_best_only=True, save_weights_only=True)
    fit(model, [check], _losses(0.5, 0.6, 0.4, 0.4))
    names = [os.path.basename(p) for p in model.saved_weights]
    assert names == ["weights.01-0.50.weights.h5", "weights.03-0.40.weights.h5"]
    assert model.saved == [] and os.path.isdir(os.path.join(tmp_path, "ckpt"))
    assert check.best == 0.4


def test_model_checkpoint_max_mode_and_initial_threshold(tmp_path):
    model = FakeModel()
    path = os.path.join(tmp_path, "best.keras")
    check = callbacks.ModelCheckpoint(
        path, monitor="val_accuracy", save_best_only=True, initial_value_threshold=0.6
    )
    fit(model, [check], _losses(0.5, 0.7, 0.65, 0.8, key="val_accuracy"))
    assert model.saved == [path, path]


def test_model_checkpoint_every_n_batches(tmp_path):
    model = FakeModel()
    path = os.path.join(tmp_path, "m-{epoch}-{batch}.keras")
    fit(model, [callbacks.ModelCheckpoint(path, save_freq=3)], _losses(1.0, 1.0), batches=4)
    names = [os.path.basename(p) for p in model.saved]
    # batches seen: 3 in epoch 1 -> save; 1 + 2 in epoch 2 -> save at its second batch
    assert names == ["m-1-3.keras", "m-2-2.keras"]
    with pytest.raises(ValueError, match="save_freq"):
        callbacks.ModelCheckpoint(path, save_freq="batch")


def test_model_checkpoint_needs_the_logged_keys(tmp_path):
    path = os.path.join(tmp_path, "{val_auc:.2f}.keras")
    with pytest.raises(KeyError, match="Failed to format"):
        fit(FakeModel(), [callbacks.ModelCheckpoint(path)], _losses(1.0))


# --- learning rate -----------------------------------------------------------------------------


def test_learning_rate_scheduler_sets_the_rate_from_the_schedule():
    model = FakeModel(learning_rate=0.1)
    seen = []

    def schedule(epoch, lr):
        seen.append((epoch, lr))
        return lr if epoch == 0 else lr * 0.5

    history = fit(model, [callbacks.LearningRateScheduler(schedule)], [{"loss": 1.0}] * 3)
    assert seen == [(0, 0.1), (1, 0.1), (2, 0.05)]
    assert model.optimizer.learning_rate == pytest.approx(0.025)
    assert history.history["learning_rate"] == pytest.approx([0.1, 0.05, 0.025])


def test_learning_rate_scheduler_old_api_and_bad_outputs():
    model = FakeModel()
    fit(model, [callbacks.LearningRateScheduler(lambda epoch: 0.5**epoch)], [{}] * 3)
    assert model.optimizer.learning_rate == 0.25
    with pytest.raises(ValueError, match="should be a float"):
        fit(FakeModel(), [callbacks.LearningRateScheduler(lambda epoch, lr: "fast")], [{}])


def test_reduce_lr_on_plateau_with_patience_cooldown_and_min_lr():
    model = FakeModel(learning_rate=0.1)
    reduce = callbacks.ReduceLROnPlateau(
        monitor="loss", factor=0.5, patience=2, cooldown=2, min_lr=0.03
    )
    rates = []
    record = callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: rates.append(model.optimizer.learning_rate)
    )
    history = fit(model, [reduce, record], [{"loss": 1.0}] * 8)
    # epoch 0 sets the best; 1, 2 stall -> halve; 3 is in cooldown, 4 ends it (as in Keras, the
    # epoch that ends a cooldown already counts as a stall), 5 stalls -> 0.025, kept at 0.03
    assert rates == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.05, 0.03, 0.03, 0.03])
    assert history.history["learning_rate"] == pytest.approx(
        [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.03, 0.03]
    )


def test_reduce_lr_on_plateau_improvements_reset_the_wait_and_acc_is_maximized():
    model = FakeModel(learning_rate=1.0)
    reduce = callbacks.ReduceLROnPlateau(monitor="val_acc", patience=2)
    fit(model, [reduce], _losses(0.1, 0.2, 0.2, 0.3, 0.3, 0.3, key="val_acc"))
    assert model.optimizer.learning_rate == pytest.approx(0.1)
    small = callbacks.ReduceLROnPlateau(monitor="loss", patience=1, min_delta=0.5)
    model = FakeModel(learning_rate=1.0)
    fit(model, [small], [{"loss": v} for v in (3.0, 2.6, 1.0)])
    # 2.6 is not 0.5 below 3.0: reduced once; 1.0 is an improvement
    assert model.optimizer.learning_rate == pytest.approx(0.1)
    with pytest.raises(ValueError, match="factor"):
        callbacks.ReduceLROnPlateau(factor=1.0)


# --- CSVLogger, TerminateOnNaN, LambdaCallback -------------------------------------------------


def _lines(path: str) -> list[str]:
    with open(path, encoding="utf-8") as file:
        return file.read().splitlines()


def test_csv_logger_writes_a_header_and_one_row_per_epoch(tmp_path):
    path = os.path.join(tmp_path, "log.csv")
    logger = callbacks.CSVLogger(path)
    rows_during_training = []
    peek = callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: rows_during_training.append(len(_lines(path)))
    )
    logs = [{"loss": 0.5, "accuracy": 0.25}, {"loss": 0.25, "accuracy": 0.5}]
    fit(FakeModel(), [logger, peek], logs)
    assert _lines(path) == ["epoch,accuracy,loss", "0,0.25,0.5", "1,0.5,0.25"]
    assert rows_during_training == [2, 3]  # flushed after every epoch
    fit(FakeModel(), [callbacks.CSVLogger(path, append=True)], [{"loss": 0.125, "accuracy": 1.0}])
    assert _lines(path)[-1] == "0,1.0,0.125"
    assert len(_lines(path)) == 4


def test_csv_logger_separator_missing_values_and_arrays(tmp_path):
    path = os.path.join(tmp_path, "log.tsv")
    model = FakeModel()
    model.metrics_names = ["loss", "val_loss"]
    logs = [{"loss": 1.0, "thresholds": np.array([0.5, 0.7])}, {"loss": 2.0, "val_loss": 3.0}]
    fit(model, [callbacks.CSVLogger(path, separator="\t")], logs)
    lines = _lines(path)
    assert lines[0] == "epoch\tloss\tthresholds\tval_loss"
    first = lines[1].split("\t")
    assert first[:2] == ["0", "1.0"] and first[3] == "NA" and "[0.5, 0.7]" in first[2]
    assert lines[2].split("\t") == ["1", "2.0", "NA", "3.0"]


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_terminate_on_nan_stops_at_a_bad_batch_loss(bad):
    model = FakeModel()
    terminate = callbacks.TerminateOnNaN()

    def batch_logs(epoch, batch):
        return {"loss": bad if (epoch, batch) == (1, 1) else 1.0}

    history = fit(model, [terminate], [{"loss": 1.0}] * 4, batches=3, batch_logs=batch_logs)
    assert model.stop_training and history.epoch == [0, 1]


def test_terminate_on_nan_can_raise():
    terminate = callbacks.TerminateOnNaN(raise_error=True)
    terminate.set_model(FakeModel())
    terminate.on_train_batch_end(0, {"loss": 1.0})
    with pytest.raises(RuntimeError, match="NaN or Inf loss encountered at batch 4"):
        terminate.on_train_batch_end(4, {"loss": float("nan")})


def test_lambda_callback_calls_what_it_was_given():
    calls = []
    cb = callbacks.LambdaCallback(
        on_train_begin=lambda logs: calls.append("train_begin"),
        on_epoch_begin=lambda epoch, logs: calls.append(("epoch_begin", epoch)),
        on_train_batch_end=lambda batch, logs: calls.append(("batch_end", batch)),
        on_epoch_end=lambda epoch, logs: calls.append(("epoch_end", epoch, logs["loss"])),
        on_train_end=lambda logs: calls.append("train_end"),
        on_test_end=lambda logs: calls.append("test_end"),
    )
    fit(FakeModel(), [cb], [{"loss": 0.5}], batches=2)
    cb.on_test_end({})
    assert calls == [
        "train_begin",
        ("epoch_begin", 0),
        ("batch_end", 0),
        ("batch_end", 1),
        ("epoch_end", 0, 0.5),
        "train_end",
        "test_end",
    ]
    with pytest.raises(TypeError, match="unknown hook"):
        callbacks.LambdaCallback(on_epoch_finish=print)
