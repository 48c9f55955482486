"""Metrics, as `keras.metrics`, split into a graph part and a numpy part.

A Keras metric updates its variables inside the training step. Here the step is one compiled
graphc graph, so a metric has two halves:

- `batch_statistics(...)` builds graph ops giving sufficient statistics of one batch (for
  `Mean`: the weighted sum and the count; for `Precision`: true and false positives per
  threshold). The training step returns them as extra outputs.
- `accumulate(stats)` adds those arrays into the metric's numpy state (float64), and
  `result()` computes the metric from the state, exactly as Keras' `result()` does.

Eager use works as in Keras: `m.update_state(y_true, y_pred, sample_weight=None)` with arrays
runs `batch_statistics` through the interpreter, then `accumulate`; `m.result()`,
`m.reset_state()`. Batch statistics are computed in the metric's `dtype` (float32 by default,
Keras' floatx); the running state is float64.

Metrics wrapping a function take `(y_true, y_pred, sample_weight=None)`; `Mean` and `Sum` take
`(values, sample_weight=None)`, as in Keras.

Inside a training or evaluation step being traced (an overridden `train_step`), `update_state`
records the batch statistics as step outputs (`graphc.frontend.trainer.record_metric`), and
`result()` returns a `StepResult`: a stand-in for the running value, which the step returns in
its logs as Keras' "customizing what happens in fit" guide does.

>>> m = BinaryAccuracy()
>>> m.update_state([[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]])
>>> m.result()
0.75
"""

from __future__ import annotations

import abc
import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from graphc import dtypes, nn
from graphc.core import Value, as_value, constant
from graphc.errors import DTypeError, ShapeError
from graphc.frontend import backend, losses
from graphc.frontend.engine.naming import to_snake_case, unique_name
from graphc.frontend.losses import evaluate_on_arrays, squeeze_or_expand_to_same_rank
from graphc.frontend.utils.serialization import (
    deserialize_keras_object,
    get_registered_object,
    serialize_keras_object,
)
from graphc.primitives import reduce, shape
from graphc.primitives.cast import cast
from graphc.primitives.compare import equal, not_equal, where
from graphc.primitives.elementwise import logical_and, logical_or, maximum, minimum

__all__ = [
    "Metric",
    "StepResult",
    "Mean",
    "Sum",
    "MeanMetricWrapper",
    "Accuracy",
    "BinaryAccuracy",
    "CategoricalAccuracy",
    "SparseCategoricalAccuracy",
    "TopKCategoricalAccuracy",
    "SparseTopKCategoricalAccuracy",
    "MeanSquaredError",
    "MeanAbsoluteError",
    "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError",
    "BinaryCrossentropy",
    "CategoricalCrossentropy",
    "SparseCategoricalCrossentropy",
    "KLDivergence",
    "Poisson",
    "Hinge",
    "SquaredHinge",
    "CategoricalHinge",
    "TruePositives",
    "FalsePositives",
    "TrueNegatives",
    "FalseNegatives",
    "Precision",
    "Recall",
    "AUC",
    "accuracy",
    "binary_accuracy",
    "categorical_accuracy",
    "sparse_categorical_accuracy",
    "top_k_categorical_accuracy",
    "sparse_top_k_categorical_accuracy",
    "resolve_accuracy",
    "get",
    "serialize",
    "deserialize",
]

#: The value `Precision`/`Recall` compare against when only `top_k` is set (Keras' NEG_INF).
NEG_INF = -1e10


def _divide_no_nan(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    return np.where(y == 0, 0.0, x / np.where(y == 0, 1.0, y))


# --- the base class ----------------------------------------------------------------------------


def _tracing_step() -> bool:
    """Whether a training or evaluation step is being traced (imported late: the trainer
    imports this module)."""
    from graphc.frontend.trainer.step import current_step

    return current_step() is not None


class StepResult:
    """What `Metric.result()` returns while a training or evaluation step is being traced.

    The step is traced once, on graph Values, and the metric's state lives outside the graph
    (it accumulates the step's outputs after each batch), so its value is not known yet.
    Return this stand-in in the step's logs, as Keras' guide returns `metric.result()`; the
    trainer reads the metric's running result after each batch. It is not a graph Value: for a
    log computed in the graph, return a scalar Value instead.

    Args:
        metric: the metric whose result this stands for.
    """

    __slots__ = ("metric",)

    def __init__(self, metric: Metric):
        self.metric = metric

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(
            f"the result of metric {self.metric.name!r} inside a traced step is a stand-in "
            "read after each batch, not a number or a graph Value: return it in the step's logs "
            "as it is, or log a scalar graph Value computed in the step"
        )

    __float__ = __int__ = __array__ = _refuse
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _refuse
    __truediv__ = __rtruediv__ = __neg__ = __lt__ = __le__ = __gt__ = __ge__ = _refuse

    def __repr__(self) -> str:
        return f"StepResult({self.metric.name!r})"


def _deferred_in_step(result: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a metric's `result` so it returns a `StepResult` while a step is being traced."""

    @functools.wraps(result)
    def wrapper(self: Metric, *args: Any, **kwargs: Any) -> Any:
        if _tracing_step():
            return StepResult(self)
        return result(self, *args, **kwargs)

    return wrapper


class Metric(abc.ABC):
    """Base class: graph-side `batch_statistics`, numpy-side `accumulate` and `result`.

    Subclasses declare their state with `add_state(name, shape)` (zeros, float64) in the order
    `batch_statistics` returns the matching statistics; `accumulate` adds each statistic into
    its state.

    Args:
        name: the metric's name (the key in training logs); by default the snake-case class
            name, made unique.
        dtype: the float dtype batch statistics are computed in (default float32).

    >>> import graphc
    >>> class Count(Metric):
    ...     def __init__(self, name="count"):
    ...         super().__init__(name=name)
    ...         self.add_state("count")
    ...     def batch_statistics(self, values, sample_weight=None):
    ...         return (graphc.sum(graphc.cast(values > 0, self.dtype)),)
    ...     def result(self):
    ...         return float(self.state("count"))
    >>> m = Count()
    >>> m.update_state([1.0, -2.0, 3.0]); m.update_state([4.0]); m.result()
    3.0
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "result" in vars(cls):
            cls.result = _deferred_in_step(vars(cls)["result"])

    def __init__(self, name: str | None = None, dtype: Any = None):
        self.name = name or unique_name(to_snake_case(type(self).__name__))
        self._dtype = dtypes.as_dtype(dtype or backend.floatx())
        if self._dtype not in dtypes.FLOATS:
            raise DTypeError(f"{type(self).__name__}: dtype must be a float dtype, got {dtype!r}")
        self._states: dict[str, np.ndarray] = {}

    @property
    def dtype(self) -> str:
        return self._dtype.name

    def add_state(self, name: str, shape: Sequence[int] = ()) -> None:
        """Declare a float64 state array of `shape`, zero-initialized."""
        self._states[name] = np.zeros(tuple(shape), np.float64)

    def state(self, name: str) -> np.ndarray:
        """The current value of one state array (read-only view)."""
        view = self._states[name].view()
        view.flags.writeable = False
        return view

    @property
    def variables(self) -> list[np.ndarray]:
        """Copies of the state arrays, in declaration order."""
        return [array.copy() for array in self._states.values()]

    @abc.abstractmethod
    def batch_statistics(self, *args: Any, sample_weight: Any = None) -> tuple[Value, ...]:
        """Graph ops giving this batch's statistics, one per state, in declaration order."""

    def accumulate(self, stats: Sequence[Any]) -> None:
        """Add one batch's statistics (arrays, as returned by the step) into the state."""
        stats = list(stats)
        if len(stats) != len(self._states):
            raise ValueError(
                f"{type(self).__name__} '{self.name}': expected {len(self._states)} "
                f"statistics ({', '.join(self._states)}), got {len(stats)}"
            )
        for (name, state), stat in zip(self._states.items(), stats):
            array = np.asarray(stat, np.float64)
            if array.shape != state.shape:
                raise ShapeError(
                    f"{type(self).__name__} '{self.name}': statistic {name!r} must have shape "
                    f"{state.shape}, got {array.shape}"
                )
            state += array

    @abc.abstractmethod
    def result(self) -> float | np.ndarray:
        """The metric's value from the accumulated state (a `StepResult` while a step is
        being traced)."""

    def reset_state(self) -> None:
        """Zero the state (done by the trainer at the start of each epoch)."""
        for state in self._states.values():
            state[...] = 0.0

    def update_state(self, *args: Any, sample_weight: Any = None) -> None:
        """Update the state with one batch, as Keras' `update_state`.

        While a training or evaluation step is being traced, the batch statistics become
        outputs of the step, accumulated after each batch (`record_metric`); otherwise they
        are computed now from the arrays (through the interpreter) and accumulated.
        """
        if _tracing_step():
            from graphc.frontend.trainer.step import record_metric

            record_metric(self, *args, sample_weight=sample_weight)
            return
        count = len(args)

        def statistics(*values: Any) -> list[Value]:
            return list(self.batch_statistics(*values[:count], sample_weight=values[count]))

        self.accumulate(evaluate_on_arrays(statistics, [*args, sample_weight]))

    def __call__(self, *args: Any, sample_weight: Any = None) -> float | np.ndarray:
        """Update with one batch and return the running result, as Keras' `Metric.__call__`."""
        self.update_state(*args, sample_weight=sample_weight)
        return self.result()

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Metric:
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r}>"


# --- reductions: Sum, Mean, MeanMetricWrapper --------------------------------------------------


def _samplewise(
    values: Any, sample_weight: Any, reduce_fn: Callable[..., Value], dtype: np.dtype
) -> tuple[Value, Value | None]:
    """Weighted values reduced to one per sample, and the matching weights (Keras' rule)."""
    values = cast(as_value(values), dtype)
    weights = None
    if sample_weight is not None:
        weights = cast(as_value(sample_weight), dtype)
        values, weights = squeeze_or_expand_to_same_rank(values, weights)
        weight_ndim = weights.ndim
        if values.ndim > weight_ndim:
            values = reduce_fn(values, axis=tuple(range(weight_ndim, values.ndim)))
        weights = shape.broadcast_to(weights, values.shape)
        values = values * weights
        if weight_ndim > 1:
            weights = reduce_fn(weights, axis=tuple(range(1, weight_ndim)))
    if values.ndim > 1:
        values = reduce_fn(values, axis=tuple(range(1, values.ndim)))
    return values, weights


class Sum(Metric):
    """The (weighted) sum of the values seen.

    >>> m = Sum()
    >>> m.update_state([1.0, 3.0, 5.0, 7.0], sample_weight=[1.0, 1.0, 0.0, 0.0])
    >>> m.result()
    4.0
    """

    def __init__(self, name: str = "sum", dtype: Any = None):
        super().__init__(name=name, dtype=dtype)
        self.add_state("total")

    def batch_statistics(self, values: Any, sample_weight: Any = None) -> tuple[Value, ...]:
        values, _ = _samplewise(values, sample_weight, reduce.sum, self._dtype)
        return (reduce.sum(values),)

    def result(self) -> float:
        return float(self._states["total"])


class Mean(Metric):
    """The (weighted) mean of the values seen: total / count.

    Each sample counts once (or with its weight); values with extra axes are averaged per
    sample first.

    >>> m = Mean()
    >>> m.update_state([1.0, 3.0, 5.0, 7.0], sample_weight=[1.0, 1.0, 0.0, 0.0])
    >>> m.result()
    2.0
    """

    def __init__(self, name: str = "mean", dtype: Any = None):
        super().__init__(name=name, dtype=dtype)
        self.add_state("total")
        self.add_state("count")

    def batch_statistics(self, values: Any, sample_weight: Any = None) -> tuple[Value, ...]:
        return self._mean_statistics(values, sample_weight)

    def _mean_statistics(self, values: Any, sample_weight: Any) -> tuple[Value, ...]:
        values, weights = _samplewise(values, sample_weight, reduce.mean, self._dtype)
        if weights is not None:
            count = reduce.sum(weights)
        elif values.ndim >= 1:
            count = cast(shape.dim_size(values, 0), self._dtype)
        else:
            count = constant(1, self._dtype)
        return reduce.sum(values), count

    def result(self) -> float:
        return float(_divide_no_nan(self._states["total"], self._states["count"]))


class MeanMetricWrapper(Mean):
    """The mean of a per-sample function `fn(y_true, y_pred, **kwargs)` written in graphc ops.

    >>> import graphc
    >>> def mean_pred(y_true, y_pred):
    ...     return graphc.mean(y_pred, axis=-1)
    >>> m = MeanMetricWrapper(mean_pred, name="mean_pred")
    >>> m.update_state([[0.0, 0.0]], [[1.0, 3.0]]); m.update_state([[0.0, 0.0]], [[5.0, 5.0]])
    >>> m.result()
    3.5
    """

    def __init__(
        self, fn: Callable[..., Any], name: str | None = None, dtype: Any = None, **kwargs: Any
    ):
        super().__init__(name=name, dtype=dtype)
        if not callable(fn):
            raise TypeError(f"MeanMetricWrapper: fn must be callable, got {fn!r}")
        self._fn = fn
        self._fn_kwargs = kwargs
        if any(fn is loss_fn for loss_fn in losses.ALL_OBJECTS.values()):
            self._direction = "down"

    def batch_statistics(
        self, y_true: Any, y_pred: Any, sample_weight: Any = None
    ) -> tuple[Value, ...]:
        values = as_value(self._fn(y_true, y_pred, **self._fn_kwargs))
        return self._mean_statistics(values, sample_weight)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "fn": serialize_keras_object(self._fn), **self._fn_kwargs}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Metric:
        config = dict(config)
        if isinstance(config.get("fn"), str):
            config["fn"] = deserialize_keras_object(config["fn"], _FUNCTIONS, None, "metric")
        return cls(**config)


class _FunctionMetric(MeanMetricWrapper):
    """A Keras metric class around a fixed function; its arguments are the function's kwargs."""

    def get_config(self) -> dict[str, Any]:
        return {**Metric.get_config(self), **self._fn_kwargs}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Metric:
        return cls(**config)


# --- accuracy functions and classes ------------------------------------------------------------


def accuracy(y_true: Any, y_pred: Any) -> Value:
    """mean(y_true == y_pred, axis=-1) as floats: how often predictions equal labels.

    >>> m = Accuracy()
    >>> m.update_state([[1], [2], [3], [4]], [[0], [2], [3], [4]])
    >>> m.result()
    0.75
    """
    y_pred = as_value(y_pred)
    y_true = cast(as_value(y_true), y_pred.dtype)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    return reduce.mean(cast(equal(y_true, y_pred), backend.floatx()), axis=-1)


def binary_accuracy(y_true: Any, y_pred: Any, threshold: float = 0.5) -> Value:
    """mean(y_true == (y_pred > threshold), axis=-1) as floats.

    >>> m = BinaryAccuracy()
    >>> m.update_state([[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]], sample_weight=[1, 0, 0, 1])
    >>> m.result()
    0.5
    """
    y_true, y_pred = squeeze_or_expand_to_same_rank(as_value(y_true), as_value(y_pred))
    predicted = cast(y_pred > threshold, y_true.dtype)
    return reduce.mean(cast(equal(y_true, predicted), backend.floatx()), axis=-1)


def _matches(labels: Value, predicted: Value, original_shape: tuple, reshape: bool) -> Value:
    if predicted.dtype != labels.dtype:
        predicted = cast(predicted, labels.dtype)
    matches = cast(equal(labels, predicted), backend.floatx())
    return shape.reshape(matches, original_shape) if reshape else matches


def categorical_accuracy(y_true: Any, y_pred: Any) -> Value:
    """1.0 where argmax(y_true) == argmax(y_pred) (one-hot labels, probabilities or logits).

    >>> m = CategoricalAccuracy()
    >>> m.update_state([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
    >>> m.result()
    0.5
    """
    labels = reduce.argmax(as_value(y_true), axis=-1)
    y_pred = as_value(y_pred)
    original_shape = labels.shape
    squeeze = labels.ndim == y_pred.ndim
    if squeeze:
        labels = shape.squeeze(labels, -1)
    return _matches(labels, reduce.argmax(y_pred, axis=-1), original_shape, squeeze)


def sparse_categorical_accuracy(y_true: Any, y_pred: Any) -> Value:
    """1.0 where the integer label == argmax(y_pred); labels `(batch,)` or `(batch, 1)`.

    >>> m = SparseCategoricalAccuracy()
    >>> m.update_state([[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]], sample_weight=[0.7, 0.3])
    >>> round(m.result(), 6)
    0.3
    """
    labels, y_pred = as_value(y_true), as_value(y_pred)
    original_shape = labels.shape
    squeeze = labels.ndim == y_pred.ndim and labels.ndim > 0 and labels.shape[-1] == 1
    if squeeze:
        labels = shape.squeeze(labels, -1)
    matches = _matches(labels, reduce.argmax(y_pred, axis=-1), original_shape, squeeze)
    if matches.ndim > 1 and matches.shape[-1] == 1:
        matches = shape.squeeze(matches, -1)
    return matches


def in_top_k(targets: Value, predictions: Value, k: int) -> Value:
    """Whether each target class is among the k largest predictions (ties count as in).

    As TensorFlow's in_top_k: true when fewer than k classes score strictly higher than the
    target, false for targets outside [0, num_classes).

    >>> import graphc, numpy as np
    >>> scores = graphc.constant(np.array([[0.1, 0.5, 0.5], [0.6, 0.3, 0.1]]))
    >>> graphc.Graph([], in_top_k(graphc.constant(np.array([2, 2])), scores, 1))()
    array([ True, False])
    """
    num_classes = predictions.shape[-1]
    hot = nn.one_hot(targets, num_classes, dtype="bool")
    target_score = reduce.sum(where(hot, predictions, 0.0), axis=-1, keepdims=True)
    higher = reduce.sum(cast(predictions > target_score, dtypes.int32), axis=-1)
    in_range = reduce.sum(cast(hot, dtypes.int32), axis=-1) > 0
    return logical_and(higher < k, in_range)


def top_k_categorical_accuracy(y_true: Any, y_pred: Any, k: int = 5) -> Value:
    """1.0 where the one-hot label's class is among the k highest predictions.

    >>> m = TopKCategoricalAccuracy(k=1)
    >>> m.update_state([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
    >>> m.result()
    0.5
    """
    labels = reduce.argmax(as_value(y_true), axis=-1)
    return cast(in_top_k(labels, as_value(y_pred), k), backend.floatx())


def sparse_top_k_categorical_accuracy(y_true: Any, y_pred: Any, k: int = 5) -> Value:
    """1.0 where the integer label is among the k highest predictions.

    >>> m = SparseTopKCategoricalAccuracy(k=1)
    >>> m.update_state([2, 1], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
    >>> m.result()
    0.5
    """
    labels, y_pred = as_value(y_true), as_value(y_pred)
    original_shape = labels.shape
    squeeze = labels.ndim == y_pred.ndim and labels.ndim > 0 and labels.shape[-1] == 1
    if squeeze:
        labels = shape.squeeze(labels, -1)
    matches = cast(in_top_k(cast(labels, dtypes.int32), y_pred, k), backend.floatx())
    return shape.reshape(matches, original_shape) if squeeze else matches


class Accuracy(_FunctionMetric):
    """How often predictions equal labels (`accuracy`)."""

    _direction = "up"

    def __init__(self, name: str = "accuracy", dtype: Any = None):
        super().__init__(accuracy, name=name, dtype=dtype)


class BinaryAccuracy(_FunctionMetric):
    """How often predictions above `threshold` match binary labels (`binary_accuracy`)."""

    _direction = "up"

    def __init__(self, name: str = "binary_accuracy", dtype: Any = None, threshold: float = 0.5):
        if threshold is not None and not 0 < threshold < 1:
            raise ValueError(
                f"Invalid value for argument `threshold`. Expected a value in interval (0, 1). "
                f"Received: threshold={threshold}"
            )
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=threshold)
        self.threshold = threshold


class CategoricalAccuracy(_FunctionMetric):
    """How often the argmax matches one-hot labels (`categorical_accuracy`)."""

    _direction = "up"

    def __init__(self, name: str = "categorical_accuracy", dtype: Any = None):
        super().__init__(categorical_accuracy, name=name, dtype=dtype)


class SparseCategoricalAccuracy(_FunctionMetric):
    """How often the argmax matches integer labels (`sparse_categorical_accuracy`)."""

    _direction = "up"

    def __init__(self, name: str = "sparse_categorical_accuracy", dtype: Any = None):
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)


class TopKCategoricalAccuracy(_FunctionMetric):
    """How often one-hot targets are in the top `k` predictions."""

    _direction = "up"

    def __init__(self, k: int = 5, name: str = "top_k_categorical_accuracy", dtype: Any = None):
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k


class SparseTopKCategoricalAccuracy(_FunctionMetric):
    """How often integer targets are in the top `k` predictions."""

    _direction = "up"

    def __init__(
        self, k: int = 5, name: str = "sparse_top_k_categorical_accuracy", dtype: Any = None
    ):
        super().__init__(sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k


# --- losses as metrics -------------------------------------------------------------------------


class _LossMetric(_FunctionMetric):
    """The running mean of a loss function (to be minimized)."""

    _direction = "down"


class MeanSquaredError(_LossMetric):
    """The mean of `losses.mean_squared_error` over the samples seen."""

    def __init__(self, name: str = "mean_squared_error", dtype: Any = None):
        super().__init__(losses.mean_squared_error, name=name, dtype=dtype)


class MeanAbsoluteError(_LossMetric):
    """The mean of `losses.mean_absolute_error` over the samples seen."""

    def __init__(self, name: str = "mean_absolute_error", dtype: Any = None):
        super().__init__(losses.mean_absolute_error, name=name, dtype=dtype)


class MeanAbsolutePercentageError(_LossMetric):
    """The mean of `losses.mean_absolute_percentage_error` over the samples seen."""

    def __init__(self, name: str = "mean_absolute_percentage_error", dtype: Any = None):
        super().__init__(losses.mean_absolute_percentage_error, name=name, dtype=dtype)


class MeanSquaredLogarithmicError(_LossMetric):
    """The mean of `losses.mean_squared_logarithmic_error` over the samples seen."""

    def __init__(self, name: str = "mean_squared_logarithmic_error", dtype: Any = None):
        super().__init__(losses.mean_squared_logarithmic_error, name=name, dtype=dtype)


class BinaryCrossentropy(_LossMetric):
    """The mean of `losses.binary_crossentropy` over the samples seen."""

    def __init__(
        self,
        name: str = "binary_crossentropy",
        dtype: Any = None,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
    ):
        super().__init__(
            losses.binary_crossentropy,
            name=name,
            dtype=dtype,
            from_logits=from_logits,
            label_smoothing=label_smoothing,
        )


class CategoricalCrossentropy(_LossMetric):
    """The mean of `losses.categorical_crossentropy` over the samples seen."""

    def __init__(
        self,
        name: str = "categorical_crossentropy",
        dtype: Any = None,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        axis: int = -1,
    ):
        super().__init__(
            losses.categorical_crossentropy,
            name=name,
            dtype=dtype,
            from_logits=from_logits,
            label_smoothing=label_smoothing,
            axis=axis,
        )


class SparseCategoricalCrossentropy(_LossMetric):
    """The mean of `losses.sparse_categorical_crossentropy` over the samples seen."""

    def __init__(
        self,
        name: str = "sparse_categorical_crossentropy",
        dtype: Any = None,
        from_logits: bool = False,
        axis: int = -1,
    ):
        super().__init__(
            losses.sparse_categorical_crossentropy,
            name=name,
            dtype=dtype,
            from_logits=from_logits,
            axis=axis,
        )


class KLDivergence(_LossMetric):
    """The mean of `losses.kl_divergence` over the samples seen."""

    def __init__(self, name: str = "kl_divergence", dtype: Any = None):
        super().__init__(losses.kl_divergence, name=name, dtype=dtype)


class Poisson(_LossMetric):
    """The mean of `losses.poisson` over the samples seen."""

    def __init__(self, name: str = "poisson", dtype: Any = None):
        super().__init__(losses.poisson, name=name, dtype=dtype)


class Hinge(_LossMetric):
    """The mean of `losses.hinge` over the samples seen."""

    def __init__(self, name: str = "hinge", dtype: Any = None):
        super().__init__(losses.hinge, name=name, dtype=dtype)


class SquaredHinge(_LossMetric):
    """The mean of `losses.squared_hinge` over the samples seen."""

    def __init__(self, name: str = "squared_hinge", dtype: Any = None):
        super().__init__(losses.squared_hinge, name=name, dtype=dtype)


class CategoricalHinge(_LossMetric):
    """The mean of `losses.categorical_hinge` over the samples seen."""

    def __init__(self, name: str = "categorical_hinge", dtype: Any = None):
        super().__init__(losses.categorical_hinge, name=name, dtype=dtype)


# --- confusion-matrix statistics ---------------------------------------------------------------


def _parse_thresholds(thresholds: Any, default: float) -> list[float]:
    if thresholds is None:
        return [default]
    values = list(thresholds) if isinstance(thresholds, (list, tuple, np.ndarray)) else [thresholds]
    invalid = [t for t in values if t is None or not 0 <= t <= 1]
    if invalid:
        raise ValueError(f"Threshold values must be in [0, 1]. Received: {invalid}")
    return [float(t) for t in values]


def is_evenly_distributed_thresholds(thresholds: Sequence[float]) -> bool:
    """Whether `thresholds` are i / (n - 1) for i = 0..n-1 (within eps), n >= 3.

    >>> is_evenly_distributed_thresholds([0.0, 0.5, 1.0]), is_evenly_distributed_thresholds([0.5])
    (True, False)
    """
    n = len(thresholds)
    if n < 3:
        return False
    even = np.arange(n, dtype=np.float32) / (n - 1)
    return bool(np.allclose(thresholds, even, atol=backend.epsilon()))


def _filter_top_k(x: Value, k: int) -> Value:
    """Keep the k largest entries of the last axis (lower index first on ties, as top_k);
    set the others to NEG_INF."""
    n = x.shape[-1]
    index = np.arange(n)
    earlier = constant(index[None, :] < index[:, None])  # [i, j]: j comes before i
    rows, cols = shape.expand_dims(x, -1), shape.expand_dims(x, -2)  # x_i and x_j
    beaten_by = logical_or(cols > rows, logical_and(equal(cols, rows), earlier))
    rank = reduce.sum(cast(beaten_by, dtypes.int32), axis=-1)
    keep = cast(rank < k, x.dtype)
    return x * keep + NEG_INF * (1.0 - keep)


def _class_slice(x: Value, class_id: int) -> Value:
    return x[..., class_id : class_id + 1]


def confusion_statistics(
    y_true: Any,
    y_pred: Any,
    thresholds: Sequence[float],
    conditions: Sequence[str],
    *,
    dtype: Any,
    evenly: bool,
    sample_weight: Any = None,
    top_k: int | None = None,
    class_id: int | None = None,
    multi_label: bool = False,
    label_weights: np.ndarray | None = None,
) -> tuple[Value, ...]:
    """Weighted true/false positives/negatives per threshold, in the order of `conditions`.

    A prediction counts as positive at threshold t when it is > t; labels are true when
    non-zero. With evenly spaced thresholds Keras buckets the clipped predictions by
    ceil(p * (T - 1)) - 1 instead; that is "p * (T - 1) > i" at threshold index i, which is
    what is computed then (and index 0 takes everything when the first threshold is below 0).
    Results have shape (T,), or (T, num_labels) with `multi_label`.

    >>> import graphc, numpy as np
    >>> y_true, y_pred = np.array([1.0, 0.0, 1.0]), np.array([0.9, 0.6, 0.2])
    >>> stats = confusion_statistics(y_true, y_pred, [0.5], ("tp", "fp", "fn"),
    ...                              dtype=np.float64, evenly=False)
    >>> [float(s[0]) for s in graphc.Graph([], list(stats))()]
    [1.0, 1.0, 1.0]
    """
    y_pred = cast(as_value(y_pred), dtype)
    y_true = cast(as_value(y_true), dtype)
    y_pred, y_true = squeeze_or_expand_to_same_rank(y_pred, y_true)
    weights = None
    if sample_weight is not None:
        weights = shape.expand_dims(cast(as_value(sample_weight), dtype), -1)
        _, weights = squeeze_or_expand_to_same_rank(y_true, weights, expand_rank_1=False)
    if top_k is not None:
        y_pred = _filter_top_k(y_pred, top_k)
    if class_id is not None:
        if y_pred.ndim == 1:
            raise ShapeError(
                f"When class_id is provided, y_pred must be a 2D array with shape "
                f"(num_samples, num_classes), found shape: {y_pred.shape}"
            )
        y_true, y_pred = _class_slice(y_true, class_id), _class_slice(y_pred, class_id)
    if weights is not None:
        weights = shape.broadcast_to(weights, y_pred.shape)
    if label_weights is not None and not multi_label:
        label_w = shape.broadcast_to(constant(np.asarray(label_weights, dtype)), y_pred.shape)
        weights = label_w if weights is None else weights * label_w

    count = len(thresholds)
    grid = (count,) + (1,) * y_pred.ndim
    predictions = shape.expand_dims(y_pred, 0)
    if evenly:
        clipped = minimum(maximum(predictions, 0.0), 1.0)
        index = np.arange(count, dtype=dtype).reshape(grid)
        positive = clipped * float(count - 1) > constant(index)
        if thresholds[0] < 0.0 or thresholds[-1] > 1.0:
            positive = logical_or(positive, constant(index == 0))
    else:
        positive = predictions > constant(np.asarray(thresholds, dtype).reshape(grid))
    positive = cast(positive, dtype)

    is_true = cast(not_equal(y_true, 0), dtype)
    true_w = is_true if weights is None else is_true * weights
    false_w = 1.0 - is_true if weights is None else (1.0 - is_true) * weights
    kept = 1 if multi_label else 0
    axes = tuple(range(1, positive.ndim - kept))
    data_axes = tuple(range(0, y_pred.ndim - kept))
    tp = reduce.sum(positive * true_w, axis=axes)
    fp = reduce.sum(positive * false_w, axis=axes)
    table = {
        "tp": lambda: tp,
        "fp": lambda: fp,
        "fn": lambda: reduce.sum(true_w, axis=data_axes) - tp,
        "tn": lambda: reduce.sum(false_w, axis=data_axes) - fp,
    }
    return tuple(table[c]() for c in conditions)


class _ConfusionMetric(Metric):
    """A metric whose state is confusion-matrix counts per threshold."""

    _conditions: tuple[str, ...] = ()

    def __init__(
        self,
        thresholds: Any,
        default: float,
        name: str | None,
        dtype: Any,
        top_k: int | None = None,
        class_id: int | None = None,
    ):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        self.thresholds = _parse_thresholds(thresholds, default)
        self._thresholds_distributed_evenly = is_evenly_distributed_thresholds(self.thresholds)
        for condition in self._conditions:
            self.add_state(_STATE_NAMES[condition], (len(self.thresholds),))

    def batch_statistics(
        self, y_true: Any, y_pred: Any, sample_weight: Any = None
    ) -> tuple[Value, ...]:
        return confusion_statistics(
            y_true,
            y_pred,
            self.thresholds,
            self._conditions,
            dtype=self._dtype,
            evenly=self._thresholds_distributed_evenly,
            sample_weight=sample_weight,
            top_k=self.top_k,
            class_id=self.class_id,
        )

    def _per_threshold(self, values: np.ndarray) -> float | np.ndarray:
        return float(values[0]) if len(self.thresholds) == 1 else values

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "thresholds": self.init_thresholds}


_STATE_NAMES = {
    "tp": "true_positives",
    "fp": "false_positives",
    "tn": "true_negatives",
    "fn": "false_negatives",
}


class _ConditionCount(_ConfusionMetric):
    """The weighted count of one confusion-matrix condition (threshold 0.5 by default)."""

    def __init__(self, thresholds: Any = None, name: str | None = None, dtype: Any = None):
        super().__init__(thresholds, 0.5, name, dtype)

    def result(self) -> float | np.ndarray:
        return self._per_threshold(self._states[_STATE_NAMES[self._conditions[0]]].copy())


class TruePositives(_ConditionCount):
    """The (weighted) number of true positives: label non-zero and prediction > threshold."""

    _conditions = ("tp",)


class FalsePositives(_ConditionCount):
    """The (weighted) number of false positives: label zero and prediction > threshold."""

    _conditions = ("fp",)


class TrueNegatives(_ConditionCount):
    """The (weighted) number of true negatives: label zero and prediction <= threshold."""

    _conditions = ("tn",)


class FalseNegatives(_ConditionCount):
    """The (weighted) number of false negatives: label non-zero and prediction <= threshold."""

    _conditions = ("fn",)


class _PrecisionRecall(_ConfusionMetric):
    """Precision or recall: tp / (tp + other), per threshold."""

    _direction = "up"

    def __init__(
        self,
        thresholds: Any = None,
        top_k: int | None = None,
        class_id: int | None = None,
        name: str | None = None,
        dtype: Any = None,
    ):
        default = 0.5 if top_k is None else NEG_INF
        super().__init__(thresholds, default, name, dtype, top_k, class_id)

    def result(self) -> float | np.ndarray:
        tp = self._states["true_positives"]
        other = self._states[_STATE_NAMES[self._conditions[1]]]
        return self._per_threshold(_divide_no_nan(tp, tp + other))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "top_k": self.top_k, "class_id": self.class_id}


class Precision(_PrecisionRecall):
    """tp / (tp + fp): how many predicted positives are positive.

    Predictions above the threshold (0.5 by default, `thresholds` to change it or to get one
    value per threshold) are positive. `top_k` counts only the k highest predictions of each
    sample as positive; `class_id` restricts to one class of multi-class predictions.

    >>> m = Precision()
    >>> m.update_state([0, 1, 1, 1], [1, 0, 1, 1])
    >>> round(m.result(), 6)
    0.666667
    """

    _conditions = ("tp", "fp")


class Recall(_PrecisionRecall):
    """tp / (tp + fn): how many positives are predicted positive (see `Precision`).

    >>> m = Recall()
    >>> m.update_state([0, 1, 1, 1], [1, 0, 1, 1], sample_weight=[0, 0, 1, 0])
    >>> m.result()
    1.0
    """

    _conditions = ("tp", "fn")


class AUC(Metric):
    """Area under the ROC or PR curve, from confusion counts at `num_thresholds` thresholds.

    As Keras: thresholds i / (num_thresholds - 1) for the inner points plus -eps and 1 + eps
    (or the sorted `thresholds` given, plus the same two), and the Riemann sum chosen by
    `summation_method`: "interpolation" (the trapezoid rule for ROC; for PR, Davis &
    Goadrich's interpolation of true and false positives), "minoring" or "majoring".

    >>> m = AUC(num_thresholds=3)
    >>> m.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])
    >>> m.result()
    0.75
    """

    _direction = "up"

    def __init__(
        self,
        num_thresholds: int = 200,
        curve: str = "ROC",
        summation_method: str = "interpolation",
        name: str | None = None,
        dtype: Any = None,
        thresholds: Sequence[float] | None = None,
        multi_label: bool = False,
        num_labels: int | None = None,
        label_weights: Any = None,
        from_logits: bool = False,
    ):
        if curve not in ("ROC", "roc", "PR", "pr"):
            raise ValueError(
                f'Invalid AUC curve value: "{curve}". Expected values are ["PR", "ROC"]'
            )
        methods = {"interpolation", "Interpolation", "majoring", "Majoring", "minoring", "Minoring"}
        if summation_method not in methods:
            raise ValueError(
                f'Invalid AUC summation method value: "{summation_method}". Expected values are '
                f'["interpolation", "majoring", "minoring"]'
            )
        super().__init__(name=name, dtype=dtype)
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            inner = sorted(float(t) for t in thresholds)
            self.num_thresholds = len(inner) + 2
            self._thresholds_distributed_evenly = is_evenly_distributed_thresholds(
                [0.0, *inner, 1.0]
            )
        else:
            if num_thresholds <= 1:
                raise ValueError(
                    f"Argument `num_thresholds` must be an integer > 1. "
                    f"Received: num_thresholds={num_thresholds}"
                )
            self.num_thresholds = num_thresholds
            inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self._thresholds_distributed_evenly = True
        eps = backend.epsilon()
        self._thresholds = [0.0 - eps, *inner, 1.0 + eps]
        self.curve = curve.upper()
        self.summation_method = summation_method.lower()
        self.multi_label = multi_label
        self.num_labels = num_labels
        self.label_weights = None if label_weights is None else np.asarray(label_weights, float)
        self._from_logits = from_logits
        if num_labels and not multi_label:
            raise ValueError("`num_labels` is needed only when `multi_label` is True.")
        self._built = False
        if not multi_label or num_labels:
            self._build(num_labels)

    @property
    def thresholds(self) -> list[float]:
        """The thresholds used, endpoints included."""
        return list(self._thresholds)

    def _build(self, num_labels: int | None) -> None:
        shape_ = (
            (self.num_thresholds,) if not self.multi_label else (self.num_thresholds, num_labels)
        )
        for condition in ("tp", "fp", "tn", "fn"):
            self.add_state(_STATE_NAMES[condition], shape_)
        self._num_labels = num_labels
        self._built = True

    def batch_statistics(
        self, y_true: Any, y_pred: Any, sample_weight: Any = None
    ) -> tuple[Value, ...]:
        y_pred = as_value(y_pred)
        if self.multi_label:
            if y_pred.ndim != 2:
                raise ShapeError(
                    f"`y_pred` must have rank 2 when `multi_label=True`. Found rank "
                    f"{y_pred.ndim}. Full shape received for `y_pred`: {y_pred.shape}"
                )
            if not self._built:
                self._build(y_pred.shape[1])
        if self._from_logits:
            y_pred = nn.sigmoid(y_pred)
        return confusion_statistics(
            y_true,
            y_pred,
            self._thresholds,
            ("tp", "fp", "tn", "fn"),
            dtype=self._dtype,
            evenly=self._thresholds_distributed_evenly,
            sample_weight=sample_weight,
            multi_label=self.multi_label,
            label_weights=None if self.multi_label else self.label_weights,
        )

    def accumulate(self, stats: Sequence[Any]) -> None:
        if not self._built:
            raise ValueError(
                f"AUC '{self.name}': with multi_label=True and no num_labels, the state is "
                f"created by the first batch_statistics call"
            )
        super().accumulate(stats)

    def _average_over_labels(self, by_threshold: np.ndarray) -> float:
        if not self.multi_label:
            return float(np.sum(by_threshold))
        by_label = np.sum(by_threshold, axis=0)
        if self.label_weights is None:
            return float(np.mean(by_label))
        return float(
            _divide_no_nan(np.sum(by_label * self.label_weights), np.sum(self.label_weights))
        )

    def _interpolate_pr_auc(self) -> float:
        tp, fp, fn = (
            self._states[n] for n in ("true_positives", "false_positives", "false_negatives")
        )
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        prec_slope = _divide_no_nan(dtp, np.maximum(dp, 0))
        intercept = tp[1:] - prec_slope * p[1:]
        safe_p_ratio = np.where(
            (p[:-1] > 0) & (p[1:] > 0), _divide_no_nan(p[:-1], np.maximum(p[1:], 0)), 1.0
        )
        increments = _divide_no_nan(
            prec_slope * (dtp + intercept * np.log(safe_p_ratio)),
            np.maximum(tp[1:] + fn[1:], 0),
        )
        return self._average_over_labels(increments)

    def result(self) -> float:
        if not self._built:
            return 0.0
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._interpolate_pr_auc()
        tp, fp, tn, fn = (self._states[_STATE_NAMES[c]] for c in ("tp", "fp", "tn", "fn"))
        recall = _divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = _divide_no_nan(fp, fp + tn), recall
        else:
            x, y = recall, _divide_no_nan(tp, tp + fp)
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = np.minimum(y[:-1], y[1:])
        else:
            heights = np.maximum(y[:-1], y[1:])
        return self._average_over_labels((x[:-1] - x[1:]) * heights)

    def get_config(self) -> dict[str, Any]:
        label_weights = None if self.label_weights is None else self.label_weights.tolist()
        config = {
            **super().get_config(),
            "num_thresholds": self.num_thresholds,
            "curve": self.curve,
            "summation_method": self.summation_method,
            "multi_label": self.multi_label,
            "num_labels": self.num_labels,
            "label_weights": label_weights,
            "from_logits": self._from_logits,
        }
        if self._init_from_thresholds:
            config["thresholds"] = self.thresholds[1:-1]
        return config


# --- registry and resolution -------------------------------------------------------------------

_CLASSES = (
    Mean,
    Sum,
    MeanMetricWrapper,
    Accuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    TopKCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    MeanSquaredError,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError,
    BinaryCrossentropy,
    CategoricalCrossentropy,
    SparseCategoricalCrossentropy,
    KLDivergence,
    Poisson,
    Hinge,
    SquaredHinge,
    CategoricalHinge,
    TruePositives,
    FalsePositives,
    TrueNegatives,
    FalseNegatives,
    Precision,
    Recall,
    AUC,
)
_FUNCTIONS: dict[str, Callable[..., Value]] = {
    **{name: fn for name, fn in losses._FUNCTIONS.items()},
    **{
        fn.__name__: fn
        for fn in (
            accuracy,
            binary_accuracy,
            categorical_accuracy,
            sparse_categorical_accuracy,
            top_k_categorical_accuracy,
            sparse_top_k_categorical_accuracy,
        )
    },
}
#: Every metric class by class name and snake-case name, with Keras' aliases; classes win over
#: functions of the same name (as in Keras, "binary_accuracy" is the BinaryAccuracy class).
ALL_OBJECTS: dict[str, Any] = {
    **_FUNCTIONS,
    **{cls.__name__: cls for cls in _CLASSES},
    **{to_snake_case(cls.__name__): cls for cls in _CLASSES},
    "acc": Accuracy,
    "bce": BinaryCrossentropy,
    "BCE": BinaryCrossentropy,
    "mse": MeanSquaredError,
    "MSE": MeanSquaredError,
    "mae": MeanAbsoluteError,
    "MAE": MeanAbsoluteError,
    "mape": MeanAbsolutePercentageError,
    "MAPE": MeanAbsolutePercentageError,
    "msle": MeanSquaredLogarithmicError,
    "MSLE": MeanSquaredLogarithmicError,
}


def serialize(metric: Any) -> Any:
    """A metric as JSON data: a config dict for Metric objects, the name for functions.

    >>> serialize(BinaryAccuracy(threshold=0.7))["config"]
    {'name': 'binary_accuracy', 'dtype': 'float32', 'threshold': 0.7}
    """
    return serialize_keras_object(metric)


def deserialize(config: Any, custom_objects: dict[str, Any] | None = None) -> Any:
    """The metric (or metric function) described by `config` (see `serialize`).

    >>> deserialize({"class_name": "AUC", "config": {"curve": "PR"}}).curve
    'PR'
    """
    return deserialize_keras_object(config, ALL_OBJECTS, custom_objects, "metric")


def get(identifier: Any) -> Metric | None:
    """A Metric from a name, a config, a Metric, a Metric class or a function; None gives None.

    As Keras' `compile` does, a metric given by a string is named by that string ("mse" logs
    as "mse"), and functions (built-in or custom `f(y_true, y_pred)` in graphc ops) are wrapped
    in `MeanMetricWrapper`. "accuracy"/"acc" give `Accuracy` here; `compile` resolves them with
    `resolve_accuracy` instead, which looks at the loss and the shapes.

    >>> get("mse").name, type(get("mse")).__name__, type(get(Precision)).__name__
    ('mse', 'MeanSquaredError', 'Precision')
    >>> get("accuarcy")
    Traceback (most recent call last):
    ...
    ValueError: Could not locate metric 'accuarcy'. ... Known names: AUC, Accuracy, ...
    """
    if identifier is None:
        return None
    if isinstance(identifier, str):
        obj = _lookup(identifier)
    elif isinstance(identifier, dict):
        obj = deserialize(identifier)
    else:
        obj = identifier
    if inspect.isclass(obj) and issubclass(obj, Metric):
        obj = obj(name=identifier) if isinstance(identifier, str) else obj()
    if isinstance(obj, Metric):
        return obj
    if callable(obj):
        name = identifier if isinstance(identifier, str) else getattr(obj, "__name__", None)
        return MeanMetricWrapper(obj, name=name)
    raise ValueError(f"Could not interpret metric identifier: {identifier!r}")


def _lookup(name: str) -> Any:
    """The class or function registered or built in under `name`, else a ValueError."""
    found = get_registered_object(name, None, ALL_OBJECTS)
    if found is None:
        raise ValueError(
            f"Could not locate metric {name!r}. Make sure custom classes and functions are "
            f"decorated with @register_keras_serializable() or passed in custom_objects. "
            f"Known names: {', '.join(sorted(ALL_OBJECTS))}."
        )
    return found


def _crossentropy_kind(loss: Any) -> str | None:
    """ "binary", "sparse" or "categorical" when `loss` is that cross-entropy, else None."""
    if isinstance(loss, str):
        loss = losses.ALL_OBJECTS.get(loss)
    if isinstance(loss, losses.LossFunctionWrapper) and not isinstance(loss, losses._BuiltinLoss):
        loss = loss.fn
    kinds = {
        "binary": (losses.binary_crossentropy, losses.BinaryCrossentropy),
        "sparse": (losses.sparse_categorical_crossentropy, losses.SparseCategoricalCrossentropy),
        "categorical": (losses.categorical_crossentropy, losses.CategoricalCrossentropy),
    }
    for kind, (fn, cls) in kinds.items():
        if loss is fn or loss is cls or isinstance(loss, cls):
            return kind
    return None


def resolve_accuracy(
    loss: Any, y_true_shape: Sequence[Any], y_pred_shape: Sequence[Any], name: str = "accuracy"
) -> Metric:
    """The accuracy metric `compile(metrics=["accuracy"])` means, named `name`.

    The loss decides first (binary, sparse or categorical cross-entropy give the matching
    accuracy); otherwise the shapes do, by Keras 3's rule: a last prediction dimension of 1 is
    binary; labels of lower rank than the predictions, or a last label dimension of 1 against
    several classes, are sparse; anything else is categorical.

    >>> type(resolve_accuracy("sparse_categorical_crossentropy", (None,), (None, 10))).__name__
    'SparseCategoricalAccuracy'
    >>> type(resolve_accuracy("mse", (None, 1), (None, 1))).__name__
    'BinaryAccuracy'
    """
    classes = {
        "binary": BinaryAccuracy,
        "sparse": SparseCategoricalAccuracy,
        "categorical": CategoricalAccuracy,
    }
    kind = _crossentropy_kind(loss)
    if kind is None:
        true_shape, pred_shape = tuple(y_true_shape), tuple(y_pred_shape)
        true_last = true_shape[-1] if true_shape else None
        pred_last = pred_shape[-1] if pred_shape else None
        if pred_last == 1:
            kind = "binary"
        elif len(true_shape) < len(pred_shape) or (
            true_last == 1 and pred_last is not None and pred_last > 1
        ):
            kind = "sparse"
        else:
            kind = "categorical"
    return classes[kind](name=name)
