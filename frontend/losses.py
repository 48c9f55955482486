"""Loss functions and classes, as `keras.losses`: graphc composites on symbolic tensors.

A loss is written with graphc ops, so the training step differentiates it with `graphc.grad`
like any other part of the graph. Names, arguments, defaults and formulas are Keras 3's:

- functions (`mean_squared_error`, `binary_crossentropy`, ...) give one value per sample: the
  last axis (or `axis`) is reduced, so `(batch, d)` inputs give a `(batch,)` result;
- classes (`MeanSquaredError`, `BinaryCrossentropy`, ...) wrap a function and add the
  reduction: `loss(y_true, y_pred, sample_weight=None)` returns a scalar Value when given
  Values (or weights), and a float (an array for `reduction="none"`) when given numpy arrays,
  evaluated through the interpreter; `loss.call(y_true, y_pred)` is the per-sample Value.

Reductions (Keras 3): "sum_over_batch_size" (the default) and "mean" divide the weighted sum by
the number of loss elements, not by the sum of the weights; "sum" sums; "none"/None keep the
per-sample values; "mean_with_sample_weight" divides by the sum of the weights.

Numerics: probabilities are clipped to [eps, 1 - eps] with eps = `backend.epsilon()` = 1e-7;
cross-entropies from logits use the stable forms (log_softmax, softplus). The computation runs
in `dtype` when given, else in y_pred's float dtype (float32 for model outputs; Keras would use
floatx, float32, for float64 inputs too, which is why gradient checks can run in float64 here).

Sparse labels: `sparse_categorical_crossentropy` expects integer class indices (floats are cast
to int32). A label outside [0, num_classes) selects no class, so its loss term is 0: the graph
cannot raise at run time, so the trainer validates labels first with `check_sparse_labels`.

>>> import numpy as np
>>> round(MeanSquaredError()(np.array([[0.0, 1.0]]), np.array([[1.0, 1.0]])), 4)
0.5
"""

from __future__ import annotations

import abc
import inspect
import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from graphc import dtypes, nn
from graphc.core import Value, as_value, placeholder, unwrap_symbolic
from graphc.errors import DTypeError, ShapeError
from graphc.frontend import backend
from graphc.frontend.engine.naming import to_snake_case, unique_name
from graphc.frontend.utils.serialization import (
    deserialize_keras_object,
    serialize_keras_object,
)
from graphc.graph import Graph
from graphc.primitives import reduce, shape
from graphc.primitives.cast import cast
from graphc.primitives.compare import equal, not_equal, where
from graphc.primitives.elementwise import abs, log, logical_or, maximum, minimum, sqrt

__all__ = [
    "Loss",
    "LossFunctionWrapper",
    "MeanSquaredError",
    "MeanAbsoluteError",
    "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError",
    "BinaryCrossentropy",
    "CategoricalCrossentropy",
    "SparseCategoricalCrossentropy",
    "Huber",
    "LogCosh",
    "KLDivergence",
    "Poisson",
    "CosineSimilarity",
    "Hinge",
    "SquaredHinge",
    "CategoricalHinge",
    "mean_squared_error",
    "mean_absolute_error",
    "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error",
    "binary_crossentropy",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
    "huber",
    "log_cosh",
    "kl_divergence",
    "poisson",
    "cosine_similarity",
    "hinge",
    "squared_hinge",
    "categorical_hinge",
    "reduce_weighted_values",
    "squeeze_or_expand_to_same_rank",
    "check_sparse_labels",
    "get",
    "serialize",
    "deserialize",
]

REDUCTIONS = ("sum_over_batch_size", "sum", "none", None, "mean", "mean_with_sample_weight")


# --- small graph helpers -----------------------------------------------------------------------


def _is_symbolic(x: Any) -> bool:
    return isinstance(unwrap_symbolic(x), Value)


def _float_prediction(y_pred: Any) -> Value:
    """y_pred as a float Value: floats keep their dtype, other dtypes become floatx."""
    y_pred = as_value(y_pred)
    if y_pred.dtype in dtypes.FLOATS:
        return y_pred
    return cast(y_pred, backend.floatx())


def _prepare(y_true: Any, y_pred: Any) -> tuple[Value, Value]:
    """(y_true, y_pred) as Values of y_pred's float dtype, as every Keras loss starts."""
    y_pred = _float_prediction(y_pred)
    return cast(as_value(y_true), y_pred.dtype), y_pred


def _clip(x: Value, low: float, high: float) -> Value:
    return minimum(maximum(x, low), high)


def _square(x: Value) -> Value:
    return x * x


def _divide_no_nan(x: Any, y: Any) -> Value:
    """x / y, and 0 where y == 0 (no nan or inf leaks, nor into gradients)."""
    y = as_value(y)
    zero = equal(y, 0)
    return where(zero, 0.0, x / where(zero, 1.0, y))


def _num_elements(x: Value, dtype: Any) -> Value | int:
    """The number of elements of `x`: a static int, or a Value when the batch size counts."""
    static = math.prod(d for d in x.shape if d is not None)
    count: Value | int = static
    for axis, dim in enumerate(x.shape):
        if dim is None:
            count = count * cast(shape.dim_size(x, axis), dtype)
    return count


def squeeze_or_expand_to_same_rank(
    x1: Any, x2: Any, expand_rank_1: bool = True
) -> tuple[Value, Value]:
    """Line up ranks that differ by one because of a trailing axis of size 1, as Keras does.

    A rank-1 operand is expanded (when `expand_rank_1`) rather than the other squeezed, so
    `(batch,)` labels meet `(batch, 1)` predictions as `(batch, 1)`.

    >>> import graphc
    >>> a, b = squeeze_or_expand_to_same_rank(graphc.placeholder((None,)),
    ...                                       graphc.placeholder((None, 1)))
    >>> a.shape, b.shape
    ((None, 1), (None, 1))
    """
    x1, x2 = as_value(x1), as_value(x2)
    if x1.ndim == x2.ndim + 1 and x1.shape[-1] == 1:
        if x2.ndim == 1 and expand_rank_1:
            x2 = shape.expand_dims(x2, -1)
        else:
            x1 = shape.squeeze(x1, -1)
    if x2.ndim == x1.ndim + 1 and x2.shape[-1] == 1:
        if x1.ndim == 1 and expand_rank_1:
            x1 = shape.expand_dims(x1, -1)
        else:
            x2 = shape.squeeze(x2, -1)
    return x1, x2


def _l2_normalize(x: Value, axis: int) -> Value:
    # x * min(rsqrt(sum(x^2)), 1/eps) as keras.ops.normalize, written as a maximum under the
    # root so a zero vector gives 0 with a finite gradient instead of 0 * inf.
    eps = backend.epsilon()
    square_sum = reduce.sum(_square(x), axis=axis, keepdims=True)
    return x / sqrt(maximum(square_sum, eps * eps))


# --- loss functions (one value per sample) -----------------------------------------------------


def mean_squared_error(y_true: Any, y_pred: Any) -> Value:
    """mean(square(y_true - y_pred), axis=-1).

    >>> import graphc
    >>> mean_squared_error(graphc.placeholder((None, 3)), graphc.placeholder((None, 3))).shape
    (None,)
    """
    y_true, y_pred = squeeze_or_expand_to_same_rank(*_prepare(y_true, y_pred))
    return reduce.mean(_square(y_true - y_pred), axis=-1)


def mean_absolute_error(y_true: Any, y_pred: Any) -> Value:
    """mean(abs(y_true - y_pred), axis=-1).

    >>> import numpy as np
    >>> round(MeanAbsoluteError()(np.array([[1.0, 2.0]]), np.array([[2.0, 4.0]])), 4)
    1.5
    """
    y_true, y_pred = squeeze_or_expand_to_same_rank(*_prepare(y_true, y_pred))
    return reduce.mean(abs(y_true - y_pred), axis=-1)


def mean_absolute_percentage_error(y_true: Any, y_pred: Any) -> Value:
    """100 * mean(abs((y_true - y_pred) / max(abs(y_true), eps)), axis=-1).

    >>> import numpy as np
    >>> round(MeanAbsolutePercentageError()(np.array([[2.0, 4.0]]), np.array([[1.0, 5.0]])), 4)
    37.5
    """
    y_true, y_pred = squeeze_or_expand_to_same_rank(*_prepare(y_true, y_pred))
    diff = abs((y_true - y_pred) / maximum(abs(y_true), backend.epsilon()))
    return 100.0 * reduce.mean(diff, axis=-1)


def mean_squared_logarithmic_error(y_true: Any, y_pred: Any) -> Value:
    """mean(square(log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1)), axis=-1).

    >>> import numpy as np
    >>> round(MeanSquaredLogarithmicError()(np.array([[0.0]]), np.array([[np.e - 1]])), 4)
    1.0
    """
    y_true, y_pred = squeeze_or_expand_to_same_rank(*_prepare(y_true, y_pred))
    eps = backend.epsilon()
    first = log(maximum(y_pred, eps) + 1.0)
    second = log(maximum(y_true, eps) + 1.0)
    return reduce.mean(_square(first - second), axis=-1)


def binary_crossentropy(
    y_true: Any,
    y_pred: Any,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> Value:
    """mean(-(y log p + (1 - y) log(1 - p)), axis), p clipped to [eps, 1 - eps].

    With `from_logits`, the stable form softplus(x) - y * x of the same quantity (p = sigmoid
    x). `label_smoothing` squeezes the labels towards 0.5: y * (1 - s) + 0.5 * s.

    >>> import numpy as np
    >>> loss = BinaryCrossentropy(reduction=None)
    >>> loss(np.array([[0.0, 1.0], [0.0, 0.0]]), np.array([[0.6, 0.4], [0.4, 0.6]])).round(3)
    array([0.916, 0.714])
    """
    y_true, y_pred = squeeze_or_expand_to_same_rank(*_prepare(y_true, y_pred))
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        bce = nn.softplus(y_pred) - y_true * y_pred
    else:
        eps = backend.epsilon()
        p = _clip(y_pred, eps, 1.0 - eps)
        bce = -(y_true * log(p) + (1.0 - y_true) * log(1.0 - p))
    return reduce.mean(bce, axis=axis)


def _check_axis(op: str, axis: Any) -> None:
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise ValueError(f"{op}: `axis` must be of type int, got axis={axis!r}")


def _log_probabilities(y_pred: Value, from_logits: bool, axis: int) -> Value:
    """log p along `axis`: log_softmax of logits, or log of the normalized, clipped input."""
    if from_logits:
        return nn.log_softmax(y_pred, axis=axis)
    eps = backend.epsilon()
    output = y_pred / reduce.sum(y_pred, axis=axis, keepdims=True)
    return log(_clip(output, eps, 1.0 - eps))


def _warn_single_class(op: str, y_pred: Value) -> None:
    if y_pred.shape[-1] == 1:
        warnings.warn(
            f"In loss {op}, expected y_pred.shape to be (batch_size, num_classes) with "
            f"num_classes > 1. Received: y_pred.shape={y_pred.shape}. Consider using "
            f"'binary_crossentropy' if you only have 2 classes.",
            SyntaxWarning,
            stacklevel=3,
        )


def categorical_crossentropy(
    y_true: Any,
    y_pred: Any,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> Value:
    """-sum(y_true * log p, axis) for one-hot (or soft) labels.

    p is y_pred normalized to sum 1 along `axis`, then clipped to [eps, 1 - eps]; with
    `from_logits`, log p = log_softmax(y_pred). `label_smoothing` s turns labels into
    y * (1 - s) + s / num_classes (num_classes = the last dimension, as Keras).

    >>> import numpy as np
    >>> y_true = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    >>> y_pred = np.array([[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]])
    >>> CategoricalCrossentropy(reduction=None)(y_true, y_pred).round(4)
    array([0.0513, 2.3026])
    """
    _check_axis("categorical_crossentropy", axis)
    y_true, y_pred = _prepare(y_true, y_pred)
    if y_true.shape != y_pred.shape:
        raise ShapeError(
            f"categorical_crossentropy: y_true and y_pred must have the same shape, got "
            f"{y_true.type} and {y_pred.type}"
        )
    _warn_single_class("categorical_crossentropy", y_pred)
    if label_smoothing:
        num_classes = y_true.shape[-1]
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / num_classes
    log_prob = _log_probabilities(y_pred, from_logits, axis)
    return -reduce.sum(y_true * log_prob, axis=axis)


def _sparse_labels(y_true: Any, y_pred: Value) -> Value:
    """Integer labels with y_pred's rank minus one (a trailing axis of size 1 is squeezed)."""
    labels = as_value(y_true)
    if labels.ndim == y_pred.ndim and labels.ndim > 0 and labels.shape[-1] == 1:
        labels = shape.squeeze(labels, -1)
    if labels.dtype == dtypes.bool_ or labels.dtype in dtypes.FLOATS:
        labels = cast(labels, dtypes.int32)
    return labels


def sparse_categorical_crossentropy(
    y_true: Any,
    y_pred: Any,
    from_logits: bool = False,
    ignore_class: int | None = None,
    axis: int = -1,
) -> Value:
    """-log p[label] for integer labels, p as in `categorical_crossentropy`.

    Labels of shape `(batch,)` or `(batch, 1)` meet predictions `(batch, num_classes)`.
    Samples whose label is `ignore_class` give 0 (and the loss classes leave them out of the
    "sum_over_batch_size" count). A label outside [0, num_classes) also gives 0: validate
    labels with `check_sparse_labels` before the step.

    >>> import numpy as np
    >>> y_pred = np.array([[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]])
    >>> SparseCategoricalCrossentropy(reduction=None)(np.array([1, 2]), y_pred).round(4)
    array([0.0513, 2.3026])
    """
    _check_axis("sparse_categorical_crossentropy", axis)
    y_pred = _float_prediction(y_pred)
    labels = _sparse_labels(y_true, y_pred)
    if y_pred.ndim < 1:
        raise ShapeError(
            f"sparse_categorical_crossentropy: y_pred must be at least rank 1, got {y_pred.type}"
        )
    class_axis = shape.normalize_axis(
        axis, y_pred.ndim, "sparse_categorical_crossentropy", str(y_pred.type)
    )
    if labels.dtype not in dtypes.INTEGERS:
        raise DTypeError(
            f"sparse_categorical_crossentropy: expected integer (or float) labels, got "
            f"{labels.type}"
        )
    if class_axis != y_pred.ndim - 1:
        order = [a for a in range(y_pred.ndim) if a != class_axis] + [class_axis]
        y_pred = shape.transpose(y_pred, order)
    if labels.shape != y_pred.shape[:-1]:
        raise ShapeError(
            f"sparse_categorical_crossentropy: y_true must have the shape of y_pred without "
            f"its class axis, got {labels.type} and {y_pred.type}"
        )
    valid = None
    if ignore_class is not None:
        valid = not_equal(labels, ignore_class)
        labels = where(valid, labels, 0)
    log_prob = _log_probabilities(y_pred, from_logits, -1)
    one_hot = nn.one_hot(labels, y_pred.shape[-1], dtype=y_pred.dtype)
    result = -reduce.sum(one_hot * log_prob, axis=-1)
    return result if valid is None else where(valid, result, 0.0)


def huber(y_true: Any, y_pred: Any, delta: float = 1.0) -> Value:
    """mean over the last axis of 0.5 x^2 where |x| <= delta, else delta (|x| - 0.5 delta).

    x = y_pred - y_true.

    >>> import numpy as np
    >>> round(Huber()(np.array([[0.0, 1.0], [0.0, 0.0]]), np.array([[0.6, 0.4], [0.4, 0.6]])), 3)
    0.155
    """
    y_true, y_pred = squeeze_or_expand_to_same_rank(*_prepare(y_true, y_pred))
    error = y_pred - y_true
    abs_error = abs(error)
    quadratic = 0.5 * _square(error)
    linear = delta * abs_error - 0.5 * delta * delta
    return reduce.mean(where(abs_error <= delta, quadratic, linear), axis=-1)


def log_cosh(y_true: Any, y_pred: Any) -> Value:
    """mean(log(cosh(x)), axis=-1) for x = y_pred - y_true, as x + softplus(-2x) - log 2.

    >>> import numpy as np
    >>> round(LogCosh()(np.array([[0.0, 1.0], [0.0, 0.0]]), np.array([[1.0, 1.0], [0.0, 0.0]])), 3)
    0.108
    """
    y_true, y_pred = squeeze_or_expand_to_same_rank(*_prepare(y_true, y_pred))
    x = y_pred - y_true
    return reduce.mean(x + nn.softplus(-2.0 * x) - math.log(2.0), axis=-1)


def kl_divergence(y_true: Any, y_pred: Any) -> Value:
    """sum(y_true * log(y_true / y_pred), axis=-1), both clipped to [eps, 1].

    >>> import numpy as np
    >>> round(KLDivergence()(np.array([[0.5, 0.5]]), np.array([[0.25, 0.75]])), 4)
    0.1438
    """
    y_true, y_pred = _prepare(y_true, y_pred)
    eps = backend.epsilon()
    y_true = _clip(y_true, eps, 1.0)
    y_pred = _clip(y_pred, eps, 1.0)
    return reduce.sum(y_true * log(y_true / y_pred), axis=-1)


def poisson(y_true: Any, y_pred: Any) -> Value:
    """mean(y_pred - y_true * log(y_pred + eps), axis=-1).

    >>> import numpy as np
    >>> round(Poisson()(np.array([[1.0, 0.0]]), np.array([[1.0, 2.0]])), 4)
    1.5
    """
    y_true, y_pred = _prepare(y_true, y_pred)
    return reduce.mean(y_pred - y_true * log(y_pred + backend.epsilon()), axis=-1)


def cosine_similarity(y_true: Any, y_pred: Any, axis: int = -1) -> Value:
    """-sum(l2_normalize(y_true) * l2_normalize(y_pred), axis): -1 for parallel vectors.

    A zero vector gives 0 whatever the other one is.

    >>> import numpy as np
    >>> y_true = np.array([[0.0, 1.0], [1.0, 1.0], [1.0, 1.0]])
    >>> y_pred = np.array([[1.0, 0.0], [1.0, 1.0], [-1.0, -1.0]])
    >>> CosineSimilarity(reduction=None)(y_true, y_pred).round(4)
    array([-0., -1.,  1.])
    """
    y_true, y_pred = squeeze_or_expand_to_same_rank(*_prepare(y_true, y_pred))
    product = _l2_normalize(y_true, axis) * _l2_normalize(y_pred, axis)
    return -reduce.sum(product, axis=axis)


def convert_binary_labels_to_hinge(y_true: Value) -> Value:
    """Labels in {0, 1} become {-1, 1}; labels with any other value are left as they are.

    The test runs over the whole batch at run time, as Keras' `ops.cond` does.

    >>> import graphc
    >>> y = graphc.placeholder((3,), "float64")
    >>> f = graphc.Graph([y], convert_binary_labels_to_hinge(y))
    >>> f([0.0, 1.0, 1.0]), f([0.0, 1.0, 0.5])
    (array([-1.,  1.,  1.]), array([0. , 1. , 0.5]))
    """
    binary = logical_or(equal(y_true, 0), equal(y_true, 1))
    non_binary = reduce.sum(cast(~binary, dtypes.int64))
    return where(equal(non_binary, 0), 2.0 * y_true - 1.0, y_true)


def _hinge_margin(y_true: Any, y_pred: Any) -> Value:
    y_true, y_pred = squeeze_or_expand_to_same_rank(*_prepare(y_true, y_pred))
    return maximum(1.0 - convert_binary_labels_to_hinge(y_true) * y_pred, 0.0)


def hinge(y_true: Any, y_pred: Any) -> Value:
    """mean(max(1 - y_true * y_pred, 0), axis=-1); labels in {0, 1} are mapped to {-1, 1}.

    >>> import numpy as np
    >>> round(Hinge()(np.array([[0.0, 1.0]]), np.array([[0.5, 0.5]])), 4)
    1.0
    """
    return reduce.mean(_hinge_margin(y_true, y_pred), axis=-1)


def squared_hinge(y_true: Any, y_pred: Any) -> Value:
    """mean(square(max(1 - y_true * y_pred, 0)), axis=-1); {0, 1} labels become {-1, 1}.

    >>> import numpy as np
    >>> round(SquaredHinge()(np.array([[0.0, 1.0]]), np.array([[0.5, 0.5]])), 4)
    1.25
    """
    return reduce.mean(_square(_hinge_margin(y_true, y_pred)), axis=-1)


def categorical_hinge(y_true: Any, y_pred: Any) -> Value:
    """max(neg - pos + 1, 0), pos = sum(y_true * y_pred), neg = max((1 - y_true) * y_pred).

    >>> import numpy as np
    >>> round(CategoricalHinge()(np.array([[0.0, 1.0]]), np.array([[0.3, 0.6]])), 4)
    0.7
    """
    y_true, y_pred = _prepare(y_true, y_pred)
    pos = reduce.sum(y_true * y_pred, axis=-1)
    neg = reduce.max((1.0 - y_true) * y_pred, axis=-1)
    return maximum(neg - pos + 1.0, 0.0)


# --- reductions --------------------------------------------------------------------------------


def _standardize_reduction(reduction: Any) -> Any:
    if reduction not in REDUCTIONS:
        raise ValueError(
            f"Invalid value for argument `reduction`. Expected one of {REDUCTIONS}. "
            f"Received: reduction={reduction!r}"
        )
    return reduction


def _apply_mask(
    sample_weight: Value | None, mask: Value | None, dtype: Any, reduction: Any
) -> Value | None:
    """Fold a loss mask into the sample weights, as Keras.

    For the mean-like reductions the valid entries are scaled by total/valid, so dividing by
    the number of elements afterwards averages over the valid entries only.
    """
    if mask is None:
        return sample_weight
    mask = cast(mask, dtype)
    if reduction in ("mean", "sum_over_batch_size"):
        total = _num_elements(mask, dtype)
        mask = mask * _divide_no_nan(total, reduce.sum(mask))
    if sample_weight is None:
        return mask
    mask, sample_weight = squeeze_or_expand_to_same_rank(mask, cast(sample_weight, dtype))
    return sample_weight * mask


def reduce_values(
    values: Value, sample_weight: Value | None = None, reduction: Any = "sum_over_batch_size"
) -> Value:
    """Sum `values`, then divide as `reduction` says (see the module docstring).

    >>> import graphc, numpy as np
    >>> v = graphc.placeholder((None,), "float64")
    >>> float(graphc.Graph([v], reduce_values(v))(np.array([1.0, 2.0, 6.0])))
    3.0
    """
    if reduction in (None, "none") or values.shape in ((), (0,)):
        return values
    loss = reduce.sum(values)
    if reduction == "sum":
        return loss
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        return _divide_no_nan(loss, reduce.sum(cast(sample_weight, loss.dtype)))
    count = _num_elements(values, loss.dtype)
    if isinstance(count, int):
        return loss / count if count > 0 else loss
    return _divide_no_nan(loss, count)


def reduce_weighted_values(
    values: Any,
    sample_weight: Any = None,
    mask: Any = None,
    reduction: Any = "sum_over_batch_size",
    dtype: Any = None,
) -> Value:
    """Weight per-sample losses by `sample_weight` (and `mask`), then reduce them.

    Weights whose rank differs by one (a trailing axis of size 1) are lined up with the
    values first, as Keras does; then they broadcast.

    >>> import graphc, numpy as np
    >>> v = graphc.placeholder((None,), "float64")
    >>> w = graphc.placeholder((None,), "float64")
    >>> f = graphc.Graph([v, w], reduce_weighted_values(v, w))
    >>> float(f(np.array([1.0, 3.0]), np.array([1.0, 0.0])))
    0.5
    """
    reduction = _standardize_reduction(reduction)
    values = as_value(values)
    if dtype is not None:
        values = cast(values, dtype)
    elif values.dtype not in dtypes.FLOATS:
        values = cast(values, backend.floatx())
    if sample_weight is not None:
        sample_weight = cast(as_value(sample_weight), values.dtype)
    if mask is not None:
        mask = as_value(mask)
    sample_weight = _apply_mask(sample_weight, mask, values.dtype, reduction)
    if sample_weight is not None:
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        values = values * sample_weight
    return reduce_values(values, sample_weight, reduction)


# --- running graph code on arrays --------------------------------------------------------------


def _input_array(x: Any) -> np.ndarray:
    """`x` as an array of a dtype graphs support (float16 -> float32, uint8 -> int32, ...)."""
    array = np.asarray(x)
    if array.dtype in dtypes.SUPPORTED:
        return array
    if array.dtype.kind == "f":
        return array.astype(np.float32 if array.dtype.itemsize <= 4 else np.float64)
    if array.dtype.kind in "iu":
        wide = array.dtype.itemsize == 8 or (array.dtype.kind == "u" and array.dtype.itemsize == 4)
        return array.astype(np.int64 if wide else np.int32)
    raise DTypeError(f"expected numbers, got an array of dtype {array.dtype}")


def evaluate_on_arrays(fn: Callable[..., Any], args: Sequence[Any]) -> Any:
    """Run graph-building `fn` on arrays: trace it on placeholders, evaluate with numpy.

    None arguments are passed through as None. The result is the interpreter's: an array,
    or a list of arrays when `fn` returns several Values.

    >>> import numpy as np
    >>> float(evaluate_on_arrays(lambda x, w: (x * 2.0).sum(), [np.ones(3), None]))
    6.0
    """
    arrays = [None if a is None else _input_array(a) for a in args]
    inputs = [None if a is None else placeholder(a.shape, a.dtype) for a in arrays]
    outputs = fn(*inputs)
    if isinstance(outputs, Value):
        graph_outputs: Value | list[Value] = outputs
    else:
        graph_outputs = list(outputs)
    used = [(p, a) for p, a in zip(inputs, arrays) if p is not None]
    graph = Graph([p for p, _ in used], graph_outputs)
    return graph(*(a for _, a in used))


def _python_result(result: np.ndarray) -> float | np.ndarray:
    return float(result) if np.ndim(result) == 0 else np.asarray(result)


# --- classes -----------------------------------------------------------------------------------


class Loss(abc.ABC):
    """Base class of losses: `call` gives per-sample values, `__call__` weights and reduces.

    Subclass it with a `call(y_true, y_pred)` written in graphc ops, as in Keras.

    Args:
        name: the loss's name; by default the snake-case class name, made unique.
        reduction: "sum_over_batch_size" (default), "sum", "mean", "mean_with_sample_weight",
            or "none"/None.
        dtype: the computation dtype; None follows y_pred's float dtype.

    >>> import graphc
    >>> class Quartic(Loss):
    ...     def call(self, y_true, y_pred):
    ...         return graphc.mean((y_true - y_pred) ** 4, axis=-1)
    >>> loss = Quartic(name="quartic")
    >>> loss(graphc.placeholder((None, 2)), graphc.placeholder((None, 2))).shape
    ()
    >>> import numpy as np
    >>> loss(np.zeros((2, 2)), np.full((2, 2), 2.0))
    16.0
    """

    #: Sparse losses keep integer labels instead of casting y_true to the compute dtype.
    _integer_labels = False

    def __init__(
        self, name: str | None = None, reduction: Any = "sum_over_batch_size", dtype: Any = None
    ):
        self.name = name or unique_name(to_snake_case(type(self).__name__))
        self.reduction = _standardize_reduction(reduction)
        self._dtype = None if dtype is None else dtypes.as_dtype(dtype)

    @property
    def dtype(self) -> str | None:
        """The computation dtype's name, or None to follow y_pred."""
        return None if self._dtype is None else self._dtype.name

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Any:
        """The reduced loss: a Value for symbolic inputs, a float (or array) for arrays."""
        args = (y_true, y_pred, sample_weight)
        if any(_is_symbolic(a) for a in args):
            return self._reduced(*args)
        return _python_result(evaluate_on_arrays(self._reduced, args))

    def _reduced(self, y_true: Any, y_pred: Any, sample_weight: Any) -> Value:
        y_pred = _float_prediction(y_pred)
        if self._dtype is not None:
            y_pred = cast(y_pred, self._dtype)
        y_true = as_value(y_true)
        if not (self._integer_labels and y_true.dtype in dtypes.INTEGERS):
            y_true = cast(y_true, y_pred.dtype)
        values = self.call(y_true, y_pred)
        mask = self.loss_mask(y_true, y_pred)
        return reduce_weighted_values(values, sample_weight, mask, self.reduction, y_pred.dtype)

    @abc.abstractmethod
    def call(self, y_true: Value, y_pred: Value) -> Value:
        """The per-sample loss values, written in graphc ops."""

    def loss_mask(self, y_true: Value, y_pred: Value) -> Value | None:
        """Which loss values count (None: all); see SparseCategoricalCrossentropy."""
        return None

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Loss:
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r} reduction={self.reduction!r}>"


class LossFunctionWrapper(Loss):
    """A loss class around a function `fn(y_true, y_pred, **kwargs)` of per-sample values.

    This is how `get` turns custom loss functions into losses.

    >>> import graphc
    >>> def mean_pred(y_true, y_pred):
    ...     return graphc.mean(y_pred, axis=-1)
    >>> loss = LossFunctionWrapper(mean_pred, name="mean_pred")
    >>> loss.call(graphc.placeholder((None, 3)), graphc.placeholder((None, 3))).shape
    (None,)
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        reduction: Any = "sum_over_batch_size",
        name: str | None = None,
        dtype: Any = None,
        **kwargs: Any,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if not callable(fn):
            raise TypeError(f"LossFunctionWrapper: fn must be callable, got {fn!r}")
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true: Value, y_pred: Value) -> Value:
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return as_value(self.fn(y_true, y_pred, **self._fn_kwargs))

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["fn"] = serialize_keras_object(self.fn)
        config.update(self._fn_kwargs)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Loss:
        config = dict(config)
        if isinstance(config.get("fn"), str):
            config["fn"] = deserialize_keras_object(config["fn"], _FUNCTIONS, None, "loss")
        return cls(**config)

    def __repr__(self) -> str:
        return f"<LossFunctionWrapper({self.fn}, kwargs={self._fn_kwargs})>"


class _BuiltinLoss(LossFunctionWrapper):
    """A Keras loss class: its constructor arguments are the function's keyword arguments."""

    def get_config(self) -> dict[str, Any]:
        return {**Loss.get_config(self), **self._fn_kwargs}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Loss:
        return cls(**config)


class MeanSquaredError(_BuiltinLoss):
    """The mean of squares of errors: `mean_squared_error`, reduced."""

    def __init__(
        self,
        reduction: Any = "sum_over_batch_size",
        name: str = "mean_squared_error",
        dtype: Any = None,
    ):
        super().__init__(mean_squared_error, reduction, name, dtype)


class MeanAbsoluteError(_BuiltinLoss):
    """The mean of absolute errors: `mean_absolute_error`, reduced."""

    def __init__(
        self,
        reduction: Any = "sum_over_batch_size",
        name: str = "mean_absolute_error",
        dtype: Any = None,
    ):
        super().__init__(mean_absolute_error, reduction, name, dtype)


class MeanAbsolutePercentageError(_BuiltinLoss):
    """`mean_absolute_percentage_error`, reduced."""

    def __init__(
        self,
        reduction: Any = "sum_over_batch_size",
        name: str = "mean_absolute_percentage_error",
        dtype: Any = None,
    ):
        super().__init__(mean_absolute_percentage_error, reduction, name, dtype)


class MeanSquaredLogarithmicError(_BuiltinLoss):
    """`mean_squared_logarithmic_error`, reduced."""

    def __init__(
        self,
        reduction: Any = "sum_over_batch_size",
        name: str = "mean_squared_logarithmic_error",
        dtype: Any = None,
    ):
        super().__init__(mean_squared_logarithmic_error, reduction, name, dtype)


class BinaryCrossentropy(_BuiltinLoss):
    """`binary_crossentropy`, reduced: for 0/1 labels and probabilities (or logits)."""

    def __init__(
        self,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        axis: int = -1,
        reduction: Any = "sum_over_batch_size",
        name: str = "binary_crossentropy",
        dtype: Any = None,
    ):
        super().__init__(
            binary_crossentropy,
            reduction,
            name,
            dtype,
            from_logits=from_logits,
            label_smoothing=label_smoothing,
            axis=axis,
        )
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis


class CategoricalCrossentropy(_BuiltinLoss):
    """`categorical_crossentropy`, reduced: for one-hot labels."""

    def __init__(
        self,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        axis: int = -1,
        reduction: Any = "sum_over_batch_size",
        name: str = "categorical_crossentropy",
        dtype: Any = None,
    ):
        super().__init__(
            categorical_crossentropy,
            reduction,
            name,
            dtype,
            from_logits=from_logits,
            label_smoothing=label_smoothing,
            axis=axis,
        )
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis


class SparseCategoricalCrossentropy(_BuiltinLoss):
    """`sparse_categorical_crossentropy`, reduced: for integer labels.

    Samples labelled `ignore_class` are masked: they add nothing, and "sum_over_batch_size"
    divides by the number of the other samples.
    """

    _integer_labels = True

    def __init__(
        self,
        from_logits: bool = False,
        ignore_class: int | None = None,
        reduction: Any = "sum_over_batch_size",
        name: str = "sparse_categorical_crossentropy",
        dtype: Any = None,
    ):
        super().__init__(
            sparse_categorical_crossentropy,
            reduction,
            name,
            dtype,
            from_logits=from_logits,
            ignore_class=ignore_class,
        )
        self.from_logits = from_logits
        self.ignore_class = ignore_class

    def loss_mask(self, y_true: Value, y_pred: Value) -> Value | None:
        if self.ignore_class is None:
            return None
        return not_equal(_sparse_labels(y_true, y_pred), self.ignore_class)


class Huber(_BuiltinLoss):
    """`huber`, reduced: quadratic for errors up to `delta`, linear beyond."""

    def __init__(
        self,
        delta: float = 1.0,
        reduction: Any = "sum_over_batch_size",
        name: str = "huber_loss",
        dtype: Any = None,
    ):
        super().__init__(huber, reduction, name, dtype, delta=delta)


class LogCosh(_BuiltinLoss):
    """`log_cosh`, reduced."""

    def __init__(
        self, reduction: Any = "sum_over_batch_size", name: str = "log_cosh", dtype: Any = None
    ):
        super().__init__(log_cosh, reduction, name, dtype)


class KLDivergence(_BuiltinLoss):
    """`kl_divergence`, reduced."""

    def __init__(
        self, reduction: Any = "sum_over_batch_size", name: str = "kl_divergence", dtype: Any = None
    ):
        super().__init__(kl_divergence, reduction, name, dtype)


class Poisson(_BuiltinLoss):
    """`poisson`, reduced."""

    def __init__(
        self, reduction: Any = "sum_over_batch_size", name: str = "poisson", dtype: Any = None
    ):
        super().__init__(poisson, reduction, name, dtype)


class CosineSimilarity(_BuiltinLoss):
    """`cosine_similarity`, reduced: minimizing it aligns predictions with targets."""

    def __init__(
        self,
        axis: int = -1,
        reduction: Any = "sum_over_batch_size",
        name: str = "cosine_similarity",
        dtype: Any = None,
    ):
        super().__init__(cosine_similarity, reduction, name, dtype, axis=axis)


class Hinge(_BuiltinLoss):
    """`hinge`, reduced."""

    def __init__(
        self, reduction: Any = "sum_over_batch_size", name: str = "hinge", dtype: Any = None
    ):
        super().__init__(hinge, reduction, name, dtype)


class SquaredHinge(_BuiltinLoss):
    """`squared_hinge`, reduced."""

    def __init__(
        self, reduction: Any = "sum_over_batch_size", name: str = "squared_hinge", dtype: Any = None
    ):
        super().__init__(squared_hinge, reduction, name, dtype)


class CategoricalHinge(_BuiltinLoss):
    """`categorical_hinge`, reduced."""

    def __init__(
        self,
        reduction: Any = "sum_over_batch_size",
        name: str = "categorical_hinge",
        dtype: Any = None,
    ):
        super().__init__(categorical_hinge, reduction, name, dtype)


# --- label validation for the trainer ----------------------------------------------------------


def check_sparse_labels(labels: Any, num_classes: int, ignore_class: int | None = None) -> None:
    """Raise ValueError if a sparse label is not a class index in [0, num_classes).

    The graph cannot raise at run time (an out-of-range label just selects no class), so the
    trainer calls this on each batch's labels before running the step.

    >>> check_sparse_labels([0, 2, 1], 3)
    >>> check_sparse_labels([0, 3], 3)
    Traceback (most recent call last):
    ...
    ValueError: sparse_categorical_crossentropy: label 3 is out of range for 3 classes \
(expected 0 <= label < 3)
    """
    array = np.asarray(labels)
    if array.dtype.kind == "f":
        fractional = array[np.isfinite(array) & (array != np.round(array))]
        if fractional.size or not np.all(np.isfinite(array)):
            bad = fractional.flat[0] if fractional.size else array[~np.isfinite(array)].flat[0]
            raise ValueError(
                f"sparse_categorical_crossentropy: labels must be class indices, got {bad}"
            )
    elif array.dtype.kind not in "iub":
        raise ValueError(
            f"sparse_categorical_crossentropy: labels must be integers, got dtype {array.dtype}"
        )
    valid = array if ignore_class is None else array[array != ignore_class]
    outside = valid[(valid < 0) | (valid >= num_classes)]
    if outside.size:
        bad = outside.flat[0]
        label = int(bad) if float(bad).is_integer() else bad
        raise ValueError(
            f"sparse_categorical_crossentropy: label {label} is out of range for "
            f"{num_classes} classes (expected 0 <= label < {num_classes})"
        )


# --- registry ----------------------------------------------------------------------------------

_CLASSES = (
    Loss,
    LossFunctionWrapper,
    MeanSquaredError,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError,
    BinaryCrossentropy,
    CategoricalCrossentropy,
    SparseCategoricalCrossentropy,
    Huber,
    LogCosh,
    KLDivergence,
    Poisson,
    CosineSimilarity,
    Hinge,
    SquaredHinge,
    CategoricalHinge,
)
_FUNCTIONS: dict[str, Callable[..., Value]] = {
    fn.__name__: fn
    for fn in (
        mean_squared_error,
        mean_absolute_error,
        mean_absolute_percentage_error,
        mean_squared_logarithmic_error,
        binary_crossentropy,
        categorical_crossentropy,
        sparse_categorical_crossentropy,
        huber,
        log_cosh,
        kl_divergence,
        poisson,
        cosine_similarity,
        hinge,
        squared_hinge,
        categorical_hinge,
    )
}
_FUNCTIONS.update(
    {
        "bce": binary_crossentropy,
        "BCE": binary_crossentropy,
        "kld": kl_divergence,
        "KLD": kl_divergence,
        "mae": mean_absolute_error,
        "MAE": mean_absolute_error,
        "mse": mean_squared_error,
        "MSE": mean_squared_error,
        "mape": mean_absolute_percentage_error,
        "MAPE": mean_absolute_percentage_error,
        "msle": mean_squared_logarithmic_error,
        "MSLE": mean_squared_logarithmic_error,
    }
)
#: Every built-in loss class and function by name, with Keras' aliases.
ALL_OBJECTS: dict[str, Any] = {**{cls.__name__: cls for cls in _CLASSES}, **_FUNCTIONS}


def serialize(loss: Any) -> Any:
    """A loss as JSON data: a config dict for Loss objects, the name for functions.

    >>> serialize(Huber(delta=2.0))["config"]
    {'name': 'huber_loss', 'reduction': 'sum_over_batch_size', 'delta': 2.0}
    >>> serialize(mean_squared_error)
    'mean_squared_error'
    """
    return serialize_keras_object(loss)


def deserialize(config: Any, custom_objects: dict[str, Any] | None = None) -> Any:
    """The loss class instance or function described by `config` (see `serialize`).

    >>> deserialize({"class_name": "Huber", "config": {"delta": 2.0}}).get_config()["delta"]
    2.0
    """
    return deserialize_keras_object(config, ALL_OBJECTS, custom_objects, "loss")


def get(identifier: Any) -> Loss | None:
    """A Loss from a name, a config, a Loss, a Loss class or a function; None gives None.

    Function names and functions (built-in or custom `f(y_true, y_pred)` in graphc ops) are
    wrapped in `LossFunctionWrapper`, named by the string given or the function's name, as
    Keras' `compile` does.

    >>> get("mse").name, type(get("CategoricalCrossentropy")).__name__
    ('mse', 'CategoricalCrossentropy')
    >>> get("msee")
    Traceback (most recent call last):
    ...
    ValueError: Could not locate loss 'msee'. ... Known names: BCE, BinaryCrossentropy, ...
    """
    if identifier is None:
        return None
    if isinstance(identifier, (str, dict)):
        obj = deserialize(identifier)
    else:
        obj = identifier
    if inspect.isclass(obj) and issubclass(obj, Loss):
        obj = obj()
    if isinstance(obj, Loss):
        return obj
    if callable(obj):
        name = identifier if isinstance(identifier, str) else getattr(obj, "__name__", None)
        return LossFunctionWrapper(obj, name=name)
    raise ValueError(f"Could not interpret loss identifier: {identifier!r}")
