"""Callbacks, as `keras.callbacks`: hooks the training loop calls around epochs and batches.

Pure Python, with Keras 3's names, arguments, defaults and behaviour. A callback talks to the
model through a small interface: `model.stop_training` (a bool attribute), `get_weights()` /
`set_weights(weights)`, `model.optimizer.learning_rate` (a settable float) and `save(path)` /
`save_weights(path)`; `model.metrics` (Metric objects, optionally grouped in objects with a
`.metrics` list) and `model.metrics_names` are consulted when present.

The trainer calls a `CallbackList` (History is always added by `fit`):

>>> class FakeModel:
...     stop_training = False
>>> history = History()
>>> callbacks = CallbackList([history], model=FakeModel(), epochs=2)
>>> callbacks.on_train_begin()
>>> for epoch in range(2):
...     callbacks.on_epoch_begin(epoch)
...     callbacks.on_epoch_end(epoch, {"loss": 1.0 / (epoch + 1)})
>>> callbacks.on_train_end()
>>> history.history, history.epoch
({'loss': [1.0, 0.5]}, [0, 1])
"""

from __future__ import annotations

import collections
import csv
import math
import os
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from graphc.frontend import metrics

__all__ = [
    "Callback",
    "CallbackList",
    "History",
    "EarlyStopping",
    "ModelCheckpoint",
    "LearningRateScheduler",
    "ReduceLROnPlateau",
    "CSVLogger",
    "TerminateOnNaN",
    "LambdaCallback",
]

Logs = dict[str, Any] | None


class Callback:
    """Base class of callbacks: every hook does nothing until a subclass overrides it.

    `on_batch_begin`/`on_batch_end` are Keras' backwards-compatible aliases: the train-batch
    hooks call them by default.
    """

    def __init__(self) -> None:
        self.params: dict[str, Any] | None = None
        self.model: Any = None

    def set_params(self, params: dict[str, Any]) -> None:
        self.params = params

    def set_model(self, model: Any) -> None:
        self.model = model

    def on_batch_begin(self, batch: int, logs: Logs = None) -> None:
        """Alias of `on_train_batch_begin`, kept for older callbacks."""

    def on_batch_end(self, batch: int, logs: Logs = None) -> None:
        """Alias of `on_train_batch_end`, kept for older callbacks."""

    def on_epoch_begin(self, epoch: int, logs: Logs = None) -> None:
        """Called at the start of each training epoch."""

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        """Called at the end of each epoch with its results (and `val_` results)."""

    def on_train_batch_begin(self, batch: int, logs: Logs = None) -> None:
        """Called before each training batch."""
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch: int, logs: Logs = None) -> None:
        """Called after each training batch with the running results of the epoch."""
        self.on_batch_end(batch, logs=logs)

    def on_test_batch_begin(self, batch: int, logs: Logs = None) -> None:
        """Called before each batch of `evaluate` (and of validation in `fit`)."""

    def on_test_batch_end(self, batch: int, logs: Logs = None) -> None:
        """Called after each batch of `evaluate` (and of validation in `fit`)."""

    def on_predict_batch_begin(self, batch: int, logs: Logs = None) -> None:
        """Called before each batch of `predict`."""

    def on_predict_batch_end(self, batch: int, logs: Logs = None) -> None:
        """Called after each batch of `predict`."""

    def on_train_begin(self, logs: Logs = None) -> None:
        """Called once at the start of `fit`."""

    def on_train_end(self, logs: Logs = None) -> None:
        """Called once at the end of `fit` with the last epoch's logs."""

    def on_test_begin(self, logs: Logs = None) -> None:
        """Called at the start of `evaluate` (and of validation in `fit`)."""

    def on_test_end(self, logs: Logs = None) -> None:
        """Called at the end of `evaluate` (and of validation in `fit`)."""

    def on_predict_begin(self, logs: Logs = None) -> None:
        """Called at the start of `predict`."""

    def on_predict_end(self, logs: Logs = None) -> None:
        """Called at the end of `predict`."""


def _pythonify_logs(logs: Mapping[str, Any]) -> dict[str, Any]:
    """Logs with numbers as Python floats (nested dicts flattened), sorted by key, as Keras."""
    result: dict[str, Any] = {}
    for key, value in sorted(logs.items()):
        if isinstance(value, Mapping):
            result.update(_pythonify_logs(value))
            continue
        try:
            value = float(value)
        except (TypeError, ValueError):
            pass
        result[key] = value
    return result


class CallbackList(Callback):
    """Calls every callback of a list in order; the trainer's one entry point.

    Args:
        callbacks: the callbacks, in call order.
        add_history: append a `History` unless the list already has one.
        model: the model, given to each callback with `set_model`.
        **params: training parameters (epochs, steps, verbose, ...) given with `set_params`.
    """

    def __init__(
        self,
        callbacks: Iterable[Callback] | None = None,
        add_history: bool = False,
        model: Any = None,
        **params: Any,
    ):
        super().__init__()
        self.callbacks: list[Callback] = list(callbacks or [])
        self._history = next((c for c in self.callbacks if isinstance(c, History)), None)
        if self._history is None and add_history:
            self._history = History()
            self.callbacks.append(self._history)
        self.set_model(model)
        self.set_params(params)

    def append(self, callback: Callback) -> None:
        """Add a callback at the end (the trainer adds its progress bar this way)."""
        self.callbacks.append(callback)
        if self.model is not None:
            callback.set_model(self.model)
        if self.params:
            callback.set_params(self.params)

    def set_params(self, params: dict[str, Any]) -> None:
        self.params = params
        if params:
            for callback in self.callbacks:
                callback.set_params(params)

    def set_model(self, model: Any) -> None:
        if model is None:
            return
        super().set_model(model)
        if self._history is not None:
            model.history = self._history
        for callback in self.callbacks:
            callback.set_model(model)

    def _each(self, hook: str, *args: Any) -> None:
        for callback in self.callbacks:
            getattr(callback, hook)(*args)

    def on_batch_begin(self, batch: int, logs: Logs = None) -> None:
        self._each("on_batch_begin", batch, logs or {})

    def on_batch_end(self, batch: int, logs: Logs = None) -> None:
        self._each("on_batch_end", batch, _pythonify_logs(logs or {}))

    def on_epoch_begin(self, epoch: int, logs: Logs = None) -> None:
        self._each("on_epoch_begin", epoch, logs or {})

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        # One dict for all callbacks, so additions (e.g. "learning_rate") reach later ones.
        self._each("on_epoch_end", epoch, logs if logs is not None else {})

    def on_train_batch_begin(self, batch: int, logs: Logs = None) -> None:
        self._each("on_train_batch_begin", batch, logs or {})

    def on_train_batch_end(self, batch: int, logs: Logs = None) -> None:
        self._each("on_train_batch_end", batch, _pythonify_logs(logs or {}))

    def on_test_batch_begin(self, batch: int, logs: Logs = None) -> None:
        self._each("on_test_batch_begin", batch, logs or {})

    def on_test_batch_end(self, batch: int, logs: Logs = None) -> None:
        self._each("on_test_batch_end", batch, _pythonify_logs(logs or {}))

    def on_predict_batch_begin(self, batch: int, logs: Logs = None) -> None:
        self._each("on_predict_batch_begin", batch, logs or {})

    def on_predict_batch_end(self, batch: int, logs: Logs = None) -> None:
        self._each("on_predict_batch_end", batch, logs or {})

    def on_train_begin(self, logs: Logs = None) -> None:
        self._each("on_train_begin", logs or {})

    def on_train_end(self, logs: Logs = None) -> None:
        self._each("on_train_end", logs or {})

    def on_test_begin(self, logs: Logs = None) -> None:
        self._each("on_test_begin", logs or {})

    def on_test_end(self, logs: Logs = None) -> None:
        self._each("on_test_end", logs or {})

    def on_predict_begin(self, logs: Logs = None) -> None:
        self._each("on_predict_begin", logs or {})

    def on_predict_end(self, logs: Logs = None) -> None:
        self._each("on_predict_end", logs or {})


class History(Callback):
    """Records each epoch's logs: `history.history` maps names to lists, `history.epoch`
    lists the epoch indices. `fit` always adds one and returns it."""

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list[Any]] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs: Logs = None) -> None:
        self.epoch = []

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
        if self.model is not None:
            self.model.history = self


# --- monitoring a quantity ---------------------------------------------------------------------


def _model_metrics(model: Any) -> list[Any]:
    """The model's Metric objects, looking inside containers that hold a `.metrics` list."""
    found: list[Any] = []
    for metric in getattr(model, "metrics", None) or []:
        inner = getattr(metric, "metrics", None)
        found.extend(inner if isinstance(inner, list) else [metric])
    return found


def _direction(monitor: str, model: Any) -> str | None:
    """The direction ("up" or "down") of a monitored quantity in "auto" mode, else None.

    As Keras 3: losses go down ("loss", and "<output>_loss" of multi-output models); a metric
    of the model with that name says its own direction. A name that is not one of the model's
    metrics is looked up as a metric identifier ("val_auc" -> AUC, up; "val_mae" ->
    MeanAbsoluteError, down), which covers models that do not list their metrics.
    """
    name = monitor.removeprefix("val_")
    if name == "loss" or name.endswith("_loss"):  # the total loss, or one output's loss
        return "down"
    for metric in _model_metrics(model):
        if getattr(metric, "name", None) == name and hasattr(metric, "_direction"):
            return metric._direction
    try:
        return getattr(metrics.get(name), "_direction", None)
    except (ValueError, TypeError):
        return None


class MonitorCallback(Callback):
    """Base of callbacks that watch a logged quantity and act when it improves or stalls.

    Args:
        monitor: the logs key to watch ("val_loss" by default).
        mode: "min", "max", or "auto" (from the name: see `_direction`).
        baseline: the initial best value (None: the first value always improves).
        min_delta: the smallest change that counts as an improvement.
    """

    def __init__(
        self, monitor: str = "val_loss", mode: str = "auto", baseline: Any = None, min_delta=0
    ):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            warnings.warn(
                f"{type(self).__name__} mode '{mode}' is unknown, fallback to auto mode.",
                stacklevel=2,
            )
            mode = "auto"
        self.monitor = monitor
        self.mode = mode
        self.best = baseline
        self.min_delta = abs(min_delta)
        self.monitor_op: Callable[[Any, Any], Any] | None = None

    def _set_monitor_op(self) -> None:
        if self.mode == "min":
            direction = "down"
        elif self.mode == "max":
            direction = "up"
        else:
            direction = _direction(self.monitor, self.model)
        if direction is None:
            raise ValueError(
                f"{type(self).__name__} callback received monitor={self.monitor}, but it "
                f"cannot determine automatically whether that metric should be maximized or "
                f"minimized. Pass `mode='max'` in order to monitor based on the highest metric "
                f"value, or pass `mode='min'` in order to use the lowest value."
            )
        self.monitor_op = np.less if direction == "down" else np.greater
        if self.monitor_op is np.less:
            self.min_delta *= -1
        if self.best is None:
            self.best = np.inf if self.monitor_op is np.less else -np.inf

    def _is_improvement(self, monitor_value: Any, reference_value: Any) -> bool:
        if reference_value is None:
            return True
        return bool(self.monitor_op(monitor_value - self.min_delta, reference_value))


class EarlyStopping(MonitorCallback):
    """Stop training when `monitor` has not improved for `patience` epochs.

    Args:
        monitor: the quantity to watch.
        min_delta: changes smaller than this are not improvements.
        patience: epochs without improvement after which training stops.
        verbose: 1 prints a message when stopping or restoring.
        mode: "auto", "min" or "max".
        baseline: training stops if the model does not beat this within `patience` epochs.
        restore_best_weights: at the end, restore the weights of the best epoch.
        start_from_epoch: epochs of warm-up before monitoring starts.

    >>> from types import SimpleNamespace
    >>> model = SimpleNamespace(stop_training=False)
    >>> stop = EarlyStopping(monitor="loss", patience=1)
    >>> stop.set_model(model); stop.on_train_begin()
    >>> for epoch, loss in enumerate([1.0, 0.5, 0.7]):
    ...     stop.on_epoch_end(epoch, {"loss": loss})
    >>> model.stop_training, stop.stopped_epoch, stop.best
    (True, 2, 0.5)
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        min_delta: float = 0,
        patience: int = 0,
        verbose: int = 0,
        mode: str = "auto",
        baseline: float | None = None,
        restore_best_weights: bool = False,
        start_from_epoch: int = 0,
    ):
        super().__init__(monitor, mode, None, min_delta)
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        self.wait = 0
        self.stopped_epoch = 0
        self.best_weights: Any = None
        self.best_epoch = 0

    def on_train_begin(self, logs: Logs = None) -> None:
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        if self.monitor_op is None:
            self._set_monitor_op()
        current = self.get_monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs: Logs = None) -> None:
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(
                    f"Restoring model weights from the end of the best epoch: "
                    f"{self.best_epoch + 1}."
                )
            self.model.set_weights(self.best_weights)

    def get_monitor_value(self, logs: Logs) -> Any:
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            warnings.warn(
                f"Early stopping conditioned on metric `{self.monitor}` which is not available. "
                f"Available metrics are: {','.join(logs)}",
                stacklevel=2,
            )
        return value


class ModelCheckpoint(MonitorCallback):
    """Save the model (or its weights) every epoch, or every `save_freq` batches.

    `filepath` may hold format fields filled from the epoch (1-based) and the logs, e.g.
    "weights.{epoch:02d}-{val_loss:.2f}.keras". With `save_best_only`, saves happen only when
    `monitor` improves (on `initial_value_threshold` too, when given). Saving calls
    `model.save(path)` or, with `save_weights_only`, `model.save_weights(path)`; missing
    directories are created first.

    >>> from types import SimpleNamespace
    >>> saved = []
    >>> model = SimpleNamespace(save=saved.append)
    >>> check = ModelCheckpoint("model.{epoch:02d}-{val_loss:.2f}.keras", save_best_only=True)
    >>> check.set_model(model)
    >>> for epoch, loss in enumerate([0.5, 0.6, 0.4]):
    ...     check.on_epoch_end(epoch, {"val_loss": loss})
    >>> saved
    ['model.01-0.50.keras', 'model.03-0.40.keras']
    """

    def __init__(
        self,
        filepath: str | os.PathLike,
        monitor: str = "val_loss",
        verbose: int = 0,
        save_best_only: bool = False,
        save_weights_only: bool = False,
        mode: str = "auto",
        save_freq: str | int = "epoch",
        initial_value_threshold: float | None = None,
    ):
        super().__init__(monitor, mode, initial_value_threshold)
        if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(save_freq, int)):
            raise ValueError(
                f"Unrecognized save_freq: {save_freq}. Expected save_freq are 'epoch' or "
                f"integer values"
            )
        self.filepath = os.fspath(filepath)
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.save_freq = save_freq
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = 0
        self._current_epoch = 0

    def on_epoch_begin(self, epoch: int, logs: Logs = None) -> None:
        self._current_epoch = epoch

    def on_train_batch_end(self, batch: int, logs: Logs = None) -> None:
        if self._should_save_on_batch(batch):
            self._save_model(self._current_epoch, batch, logs)

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        if self.monitor_op is None:
            self._set_monitor_op()
        if self.save_freq == "epoch":
            self._save_model(epoch, None, logs)

    def _should_save_on_batch(self, batch: int) -> bool:
        if self.save_freq == "epoch":
            return False
        if batch <= self._last_batch_seen:  # a new epoch started
            added = batch + 1
        else:
            added = batch - self._last_batch_seen
        self._batches_seen_since_last_saving += added
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            return True
        return False

    def _get_file_path(self, epoch: int, batch: int | None, logs: Logs) -> str:
        logs = logs or {}
        try:
            if batch is None or "batch" in logs:
                return self.filepath.format(epoch=epoch + 1, **logs)
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1, **logs)
        except KeyError as exc:
            raise KeyError(
                f'Failed to format this callback filepath: "{self.filepath}". Reason: {exc}'
            ) from exc

    def _should_save_model(self, epoch: int, logs: Logs, filepath: str) -> bool:
        logs = logs or {}
        if not self.save_best_only:
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: saving model to {filepath}")
            return True
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Can save best model only with {self.monitor} available.", stacklevel=2)
            return True
        if isinstance(current, np.ndarray) and current.ndim > 0:
            warnings.warn(
                f"Can save best model only when `monitor` is a scalar value. Received: "
                f"{current}. Falling back to `save_best_only=False`.",
                stacklevel=2,
            )
            return True
        best = "None" if self.best is None else f"{self.best:.5f}"
        if self._is_improvement(current, self.best):
            if self.verbose > 0:
                print(
                    f"\nEpoch {epoch + 1}: {self.monitor} improved from {best} to "
                    f"{current:.5f}, saving model to {filepath}"
                )
            self.best = current
            return True
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best}")
        return False

    def _save_model(self, epoch: int, batch: int | None, logs: Logs) -> None:
        if self.monitor_op is None:
            self._set_monitor_op()
        filepath = self._get_file_path(epoch, batch, logs)
        if os.path.isdir(filepath):
            raise OSError(
                f"Please specify a non-directory filepath for ModelCheckpoint. Filepath used "
                f"is an existing directory: {filepath}"
            )
        if not self._should_save_model(epoch, logs, filepath):
            return
        directory = os.path.dirname(filepath)
        if directory:
            os.makedirs(directory, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(filepath)
        else:
            self.model.save(filepath)


# --- the learning rate -------------------------------------------------------------------------


class LearningRateScheduler(Callback):
    """Set the learning rate at the start of each epoch to `schedule(epoch, lr)`.

    `schedule` takes the epoch index (from 0) and the current rate and returns the new rate;
    a one-argument `schedule(epoch)` also works, as in Keras. The rate in effect is logged as
    "learning_rate" at the end of each epoch.

    >>> from types import SimpleNamespace
    >>> model = SimpleNamespace(optimizer=SimpleNamespace(learning_rate=0.1))
    >>> scheduler = LearningRateScheduler(lambda epoch, lr: lr if epoch == 0 else lr / 2)
    >>> scheduler.set_model(model)
    >>> for epoch in range(3):
    ...     scheduler.on_epoch_begin(epoch)
    >>> model.optimizer.learning_rate
    0.025
    """

    def __init__(self, schedule: Callable[..., float], verbose: int = 0):
        super().__init__()
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch: int, logs: Logs = None) -> None:
        optimizer = self.model.optimizer
        if not hasattr(optimizer, "learning_rate"):
            raise ValueError('Optimizer must have a "learning_rate" attribute.')
        try:
            learning_rate = self.schedule(epoch, float(optimizer.learning_rate))
        except TypeError:  # the old one-argument API
            learning_rate = self.schedule(epoch)
        if not isinstance(learning_rate, (float, np.floating)):
            raise ValueError(
                f"The output of the `schedule` function should be a float. Got: {learning_rate}"
            )
        optimizer.learning_rate = float(learning_rate)
        if self.verbose > 0:
            print(
                f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to "
                f"{learning_rate}."
            )

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by `factor` when `monitor` stalls for `patience` epochs.

    After a reduction, `cooldown` epochs pass before stalls count again; the rate never goes
    below `min_lr`. In "auto" mode the quantity is maximized when its name contains "acc" and
    minimized otherwise (Keras' rule for this callback). The current rate is logged as
    "learning_rate".

    >>> from types import SimpleNamespace
    >>> model = SimpleNamespace(optimizer=SimpleNamespace(learning_rate=1.0))
    >>> reduce = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=2)
    >>> reduce.set_model(model); reduce.on_train_begin()
    >>> for epoch in range(5):
    ...     reduce.on_epoch_end(epoch, {"loss": 1.0})
    >>> model.optimizer.learning_rate
    0.25
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        factor: float = 0.1,
        patience: int = 10,
        verbose: int = 0,
        mode: str = "auto",
        min_delta: float = 1e-4,
        cooldown: int = 0,
        min_lr: float = 0.0,
    ):
        super().__init__()
        if factor >= 1.0:
            raise ValueError(
                f"ReduceLROnPlateau does not support a factor >= 1.0. Received factor={factor}"
            )
        self.monitor = monitor
        self.factor = factor
        self.min_lr = min_lr
        self.min_delta = min_delta
        self.patience = patience
        self.verbose = verbose
        self.cooldown = cooldown
        self.mode = mode
        self._reset()

    def _reset(self) -> None:
        if self.mode not in ("auto", "min", "max"):
            warnings.warn(
                f"Learning rate reduction mode {self.mode} is unknown, fallback to auto mode.",
                stacklevel=2,
            )
            self.mode = "auto"
        if self.mode == "min" or (self.mode == "auto" and "acc" not in self.monitor):
            self.monitor_op = lambda a, b: np.less(a, b - self.min_delta)
            self.best = np.inf
        else:
            self.monitor_op = lambda a, b: np.greater(a, b + self.min_delta)
            self.best = -np.inf
        self.cooldown_counter = 0
        self.wait = 0

    def on_train_begin(self, logs: Logs = None) -> None:
        self._reset()

    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        logs = logs if logs is not None else {}
        optimizer = self.model.optimizer
        logs["learning_rate"] = float(optimizer.learning_rate)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(
                f"Learning rate reduction is conditioned on metric `{self.monitor}` which is "
                f"not available. Available metrics are: {','.join(logs)}.",
                stacklevel=2,
            )
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self.monitor_op(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                old_lr = float(optimizer.learning_rate)
                if old_lr > np.float32(self.min_lr):
                    new_lr = max(old_lr * self.factor, self.min_lr)
                    optimizer.learning_rate = new_lr
                    if self.verbose > 0:
                        print(
                            f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate "
                            f"to {new_lr}."
                        )
                    self.cooldown_counter = self.cooldown
                    self.wait = 0


# --- logging and termination -------------------------------------------------------------------


class CSVLogger(Callback):
    """Write one CSV row per epoch: "epoch", then the logs' keys in sorted order.

    With `append=True` rows are added to an existing file (its header is kept). The file is
    flushed after every row, so a crash loses at most the current epoch.
    """

    def __init__(self, filename: str | os.PathLike, separator: str = ",", append: bool = False):
        super().__init__()
        self.sep = separator
        self.filename = os.fspath(filename)
        self.append = append
        self.writer: csv.DictWriter | None = None
        self.keys: list[str] | None = None
        self.append_header = True
        self.csv_file: Any = None

    def on_train_begin(self, logs: Logs = None) -> None:
        if self.append:
            if os.path.exists(self.filename):
                with open(self.filename, encoding="utf-8") as existing:
                    self.append_header = not bool(len(existing.readline()))
            mode = "a"
        else:
            mode = "w"
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.csv_file = open(self.filename, mode, newline="", encoding="utf-8")
        self.writer = None
        self.keys = None

    @staticmethod
    def _handle_value(value: Any) -> Any:
        if isinstance(value, str):
            return value
        if isinstance(value, Iterable) and not (isinstance(value, np.ndarray) and value.ndim == 0):
            return f'"[{", ".join(map(str, value))}]"'
        return value

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            for name in getattr(self.model, "metrics_names", None) or []:
                if name.startswith("val_") and name not in self.keys:
                    self.keys.append(name)
        if self.writer is None:
            separator = self.sep

            class Dialect(csv.excel):
                delimiter = separator

            self.writer = csv.DictWriter(
                self.csv_file, fieldnames=["epoch", *self.keys], dialect=Dialect
            )
            if self.append_header:
                self.writer.writeheader()
        row = collections.OrderedDict({"epoch": epoch})
        row.update((key, self._handle_value(logs.get(key, "NA"))) for key in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs: Logs = None) -> None:
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.writer = None


class TerminateOnNaN(Callback):
    """Stop training (or raise, with `raise_error=True`) when a batch's loss is NaN or inf.

    >>> from types import SimpleNamespace
    >>> model = SimpleNamespace(stop_training=False)
    >>> terminate = TerminateOnNaN()
    >>> terminate.set_model(model)
    >>> terminate.on_train_batch_end(7, {"loss": float("nan")})
    Batch 7: Invalid loss, terminating training
    >>> model.stop_training
    True
    """

    def __init__(self, raise_error: bool = False):
        super().__init__()
        self.raise_error = raise_error

    def on_batch_end(self, batch: int, logs: Logs = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is None or math.isfinite(float(loss)):
            return
        if self.raise_error:
            raise RuntimeError(
                f"NaN or Inf loss encountered at batch {batch}. Loss value: {loss}. "
                f"Terminating training immediately."
            )
        print(f"Batch {batch}: Invalid loss, terminating training")
        self.model.stop_training = True


class LambdaCallback(Callback):
    """A callback built from functions: each given hook replaces the method of that name.

    `on_epoch_begin`/`on_epoch_end` take `(epoch, logs)`, `on_train_begin`/`on_train_end`
    take `(logs)`, the batch hooks `(batch, logs)`; other hooks can be passed by keyword
    (e.g. `on_test_end=...`).

    >>> seen = []
    >>> callback = LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(epoch))
    >>> callback.on_epoch_end(3, {}); seen
    [3]
    """

    def __init__(
        self,
        on_epoch_begin: Callable[..., Any] | None = None,
        on_epoch_end: Callable[..., Any] | None = None,
        on_train_begin: Callable[..., Any] | None = None,
        on_train_end: Callable[..., Any] | None = None,
        on_train_batch_begin: Callable[..., Any] | None = None,
        on_train_batch_end: Callable[..., Any] | None = None,
        **kwargs: Callable[..., Any],
    ):
        super().__init__()
        hooks = {
            "on_epoch_begin": on_epoch_begin,
            "on_epoch_end": on_epoch_end,
            "on_train_begin": on_train_begin,
            "on_train_end": on_train_end,
            "on_train_batch_begin": on_train_batch_begin,
            "on_train_batch_end": on_train_batch_end,
            **kwargs,
        }
        for name, hook in hooks.items():
            if hook is None:
                continue
            if not name.startswith("on_") or not hasattr(Callback, name):
                raise TypeError(f"LambdaCallback: unknown hook {name!r}")
            setattr(self, name, hook)
