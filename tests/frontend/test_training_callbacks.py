"""The callbacks of the issue inside a real `model.fit` (compiled steps, real weights, real
files): EarlyStopping's restore_best_weights, ModelCheckpoint's save_best_only with
`model.save`, ReduceLROnPlateau feeding the compiled step, CSVLogger with validation logs;
and `initial_epoch` with the exact Keras 3 progress lines.

(LearningRateScheduler, LambdaCallback and TerminateOnNaN run inside fit in
test_trainer.py; every callback's own logic is in test_callbacks.py.) One model, compiled
once, serves every test so the step is traced and compiled once.
"""

from __future__ import annotations

import csv
import re

import numpy as np
import pytest

from graphc.frontend import Sequential, callbacks, layers, models, optimizers, utils


@pytest.fixture(scope="module")
def trained():
    """A compiled regressor, its data and its initial weights."""
    utils.set_random_seed(3)
    rng = np.random.default_rng(3)
    x = rng.normal(size=(48, 3)).astype(np.float32)
    y = (x @ np.array([1.0, -2.0, 0.5], np.float32))[:, None]
    model = Sequential([layers.Input((3,)), layers.Dense(4, activation="tanh"), layers.Dense(1)])
    model.compile(optimizer=optimizers.SGD(0.05), loss="mse", metrics=["mae"])
    return model, x, y, model.get_weights()


def fit(trained, callback_list, epochs, learning_rate=0.05, **kwargs):
    model, x, y, initial = trained
    model.set_weights(initial)
    model.optimizer.learning_rate = learning_rate
    weights = []
    keep = callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: weights.append(model.get_weights())
    )
    history = model.fit(
        x,
        y,
        batch_size=16,
        epochs=epochs,
        shuffle=False,
        verbose=0,
        callbacks=[*callback_list, keep],
        **kwargs,
    )
    return history, weights


def test_early_stopping_restores_the_best_weights(trained):
    model = trained[0]
    # Only the first epoch counts as an improvement (min_delta is huge): training stops after
    # `patience` more epochs and the weights go back to those at the end of epoch 0.
    stop = callbacks.EarlyStopping(
        monitor="loss", min_delta=1e9, patience=2, restore_best_weights=True
    )
    history, weights = fit(trained, [stop], epochs=10)
    assert history.epoch == [0, 1, 2] and stop.stopped_epoch == 2
    for restored, best, last in zip(model.get_weights(), weights[0], weights[2]):
        np.testing.assert_array_equal(restored, best)
        assert not np.array_equal(restored, last)


def test_model_checkpoint_saves_only_improvements_with_model_save(trained, tmp_path):
    model = trained[0]
    path = tmp_path / "model.{epoch:02d}.graphc"
    check = callbacks.ModelCheckpoint(path, monitor="loss", save_best_only=True)
    # Epoch 0 trains; epochs 1 and 2 run with learning rate 0 on the same batches (no
    # shuffling): epoch 1's loss is lower than epoch 0's running average, epoch 2's equals
    # epoch 1's, which is not an improvement.
    freeze = callbacks.LearningRateScheduler(lambda epoch, lr: 0.05 if epoch == 0 else 0.0)
    history, weights = fit(trained, [freeze, check], epochs=3)
    losses = history.history["loss"]
    assert losses[1] < losses[0] and losses[2] == losses[1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.01.graphc", "model.02.graphc"]
    restored = models.load_model(tmp_path / "model.02.graphc")
    for got, want in zip(restored.get_weights(), weights[1]):
        np.testing.assert_array_equal(got, want)
    assert restored.optimizer.iterations == model.optimizer.iterations - 3


def test_reduce_lr_on_plateau_changes_the_rate_the_compiled_step_uses(trained):
    model = trained[0]
    reduce = callbacks.ReduceLROnPlateau(monitor="loss", min_delta=1e9, patience=1, factor=0.5)
    history, weights = fit(trained, [reduce], epochs=3, learning_rate=0.04)
    # As Keras, the logs hold the rate the epoch ran with; the reduction comes after.
    assert history.history["learning_rate"] == pytest.approx([0.04, 0.04, 0.02])
    assert model.optimizer.learning_rate == pytest.approx(0.01)
    # Epoch 3 ran at 0.02: an epoch at that rate from the same weights is identical.
    again = Sequential.from_config(model.get_config())
    again.compile(optimizer=optimizers.SGD(0.02), loss="mse", metrics=["mae"])
    again.set_weights(weights[1])
    again.fit(trained[1], trained[2], batch_size=16, shuffle=False, verbose=0)
    for got, want in zip(again.get_weights(), weights[2]):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


def test_csv_logger_writes_the_epoch_logs_of_fit(trained, tmp_path):
    path = tmp_path / "log.csv"
    history, _ = fit(trained, [callbacks.CSVLogger(path)], epochs=2, validation_split=0.25)
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["epoch", "loss", "mae", "val_loss", "val_mae"]
    assert [row[0] for row in rows[1:]] == ["0", "1"]
    for column, name in enumerate(rows[0][1:], start=1):
        logged = [float(row[column]) for row in rows[1:]]
        assert logged == pytest.approx(history.history[name], rel=1e-6)


def test_initial_epoch_and_the_keras_progress_lines(trained, capsys):
    history, _ = fit(trained, [], epochs=3, initial_epoch=1)
    assert history.epoch == [1, 2]
    model, x, y, _ = trained
    number, timing = r"\d+\.\d{4}", r"\d+s \d+(us|ms|s)/step"
    model.fit(x, y, batch_size=16, epochs=2, initial_epoch=1, verbose=1, validation_split=0.25)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Epoch 2/2"
    bar = rf"3/3 ━{{20}} {timing} - loss: {number} - mae: {number}"
    assert re.fullmatch(rf"{bar} - val_loss: {number} - val_mae: {number}", lines[1]), lines
    model.fit(x, y, batch_size=16, epochs=1, verbose=2)
    (line,) = capsys.readouterr().out.splitlines()  # no "Epoch 1/1" line for one epoch
    assert re.fullmatch(rf"3/3 - \d+s - \d+(us|ms|s)/step - loss: {number} - mae: {number}", line)
