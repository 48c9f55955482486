"""Neural-network functions: activations, the softmax family and `one_hot`, as composites.

Nothing here is a primitive: each function builds a small graph of existing ops, so autodiff,
the passes and the backends need no rule for it. The formulas are the numerically stable ones
(softmax subtracts the maximum, softplus never exponentiates a large positive number) and the
names, arguments and defaults are those of `keras.activations` / `keras.ops`, so Keras models
give the same numbers. Integer inputs compute in float64, as numpy's float functions do.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from graphc import dtypes
from graphc.core import Value, as_value, constant
from graphc.dtypes import DTypeLike
from graphc.errors import DTypeError, ShapeError
from graphc.primitives import elementwise, reduce, shape
from graphc.primitives.cast import cast, promote_operands
from graphc.primitives.compare import equal, where
from graphc.primitives.elementwise import erf, exp, expm1, log, log1p, relu, sigmoid, tanh

__all__ = [
    "softmax",
    "log_softmax",
    "logsumexp",
    "softplus",
    "softsign",
    "elu",
    "selu",
    "leaky_relu",
    "relu",
    "relu6",
    "sigmoid",
    "tanh",
    "gelu",
    "silu",
    "swish",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "exponential",
    "linear",
    "one_hot",
]

Axis = int | Sequence[int] | None

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _floating(x: Any, op: str) -> Value:
    """`x` as a float Value: floats keep their dtype, integers and bools become float64."""
    (value,) = promote_operands(x, op=op)
    return cast(value, dtypes.float_dtype_for(value.dtype))


# --- the softmax family ------------------------------------------------------------------------


def softmax(x: Any, axis: Axis = -1) -> Value:
    """softmax(x)_i = exp(x_i) / sum_j exp(x_j) along `axis`.

    The maximum along `axis` is subtracted first, which leaves the result unchanged but keeps
    every exponent <= 0: no overflow for large inputs, and at least one term is 1.

    >>> import graphc
    >>> x = graphc.placeholder((3,), "float64")
    >>> graphc.Graph([x], softmax(x))([1000.0, 1001.0, 1002.0]).round(4)
    array([0.09  , 0.2447, 0.6652])
    """
    x = _floating(x, "softmax")
    e = exp(x - reduce.max(x, axis=axis, keepdims=True))
    return e / reduce.sum(e, axis=axis, keepdims=True)


def log_softmax(x: Any, axis: Axis = -1) -> Value:
    """log_softmax(x)_i = x_i - log(sum_j exp(x_j)) along `axis`, computed shifted by the max.

    Unlike log(softmax(x)), it stays finite where softmax underflows to 0.

    >>> import graphc
    >>> x = graphc.placeholder((2,), "float64")
    >>> graphc.Graph([x], log_softmax(x))([0.0, -1000.0])
    array([    0., -1000.])
    """
    x = _floating(x, "log_softmax")
    shifted = x - reduce.max(x, axis=axis, keepdims=True)
    return shifted - log(reduce.sum(exp(shifted), axis=axis, keepdims=True))


def logsumexp(x: Any, axis: Axis = None, keepdims: bool = False) -> Value:
    """logsumexp(x) = log(sum(exp(x))) over `axis` (all axes by default), without overflow.

    Computed as m + log(sum(exp(x - m))) with m the maximum; where m is infinite (or nan) the
    shift is 0 instead, so all -inf gives -inf and any +inf gives +inf rather than nan.

    >>> import graphc
    >>> x = graphc.placeholder((2,), "float64")
    >>> float(graphc.Graph([x], logsumexp(x))([1000.0, 1000.0]).round(4))
    1000.6931
    """
    x = _floating(x, "logsumexp")
    peak = reduce.max(x, axis=axis, keepdims=True)
    peak = where(elementwise.abs(peak) < math.inf, peak, 0.0)
    total = reduce.sum(exp(x - peak), axis=axis, keepdims=keepdims)
    if peak.shape != total.shape:
        peak = shape.reshape(peak, total.shape)
    return log(total) + peak


# --- activations -------------------------------------------------------------------------------


def softplus(x: Any) -> Value:
    """softplus(x) = log(1 + exp(x)), as max(x, 0) + log1p(exp(-|x|)) so nothing overflows.

    >>> import graphc
    >>> x = graphc.placeholder((3,), "float64")
    >>> graphc.Graph([x], softplus(x))([-1000.0, 0.0, 50.0]).round(4)
    array([ 0.    ,  0.6931, 50.    ])
    """
    x = _floating(x, "softplus")
    return elementwise.maximum(x, 0.0) + log1p(exp(-elementwise.abs(x)))


def softsign(x: Any) -> Value:
    """softsign(x) = x / (1 + |x|).

    >>> import graphc
    >>> x = graphc.placeholder((2,), "float64")
    >>> graphc.Graph([x], softsign(x))([-3.0, 1.0])
    array([-0.75,  0.5 ])
    """
    x = _floating(x, "softsign")
    return x / (1.0 + elementwise.abs(x))


def elu(x: Any, alpha: float = 1.0) -> Value:
    """elu(x) = x for x > 0, alpha * (exp(x) - 1) otherwise.

    The exponential only ever sees min(x, 0), so large positive inputs cannot overflow it
    (which would otherwise turn the gradient of the unused branch into nan).

    >>> import graphc
    >>> x = graphc.placeholder((2,), "float64")
    >>> graphc.Graph([x], elu(x))([-1.0, 2.0]).round(4)
    array([-0.6321,  2.    ])
    """
    x = _floating(x, "elu")
    positive = x > 0
    return where(positive, x, alpha * expm1(where(positive, 0.0, x)))


def selu(x: Any) -> Value:
    """selu(x) = scale * elu(x, alpha) with the self-normalizing constants of Klambauer et al.

    scale = 1.0507009873554805 and alpha = 1.6732632423543772.

    >>> import graphc
    >>> x = graphc.placeholder((2,), "float64")
    >>> graphc.Graph([x], selu(x))([-1.0, 1.0]).round(4)
    array([-1.1113,  1.0507])
    """
    return SELU_SCALE * elu(_floating(x, "selu"), SELU_ALPHA)


def leaky_relu(x: Any, negative_slope: float = 0.2) -> Value:
    """leaky_relu(x) = x for x >= 0, negative_slope * x otherwise (Keras 3's default 0.2).

    >>> import graphc
    >>> x = graphc.placeholder((2,), "float64")
    >>> graphc.Graph([x], leaky_relu(x))([-2.0, 3.0])
    array([-0.4,  3. ])
    """
    x = _floating(x, "leaky_relu")
    return where(x >= 0, x, negative_slope * x)


def relu6(x: Any) -> Value:
    """relu6(x) = min(max(x, 0), 6).

    The derivative is 1 strictly between 0 and 6 and 0 elsewhere, including both corners.

    >>> import graphc
    >>> x = graphc.placeholder((3,), "float64")
    >>> graphc.Graph([x], relu6(x))([-1.0, 3.0, 9.0])
    array([0., 3., 6.])
    """
    x = _floating(x, "relu6")
    return where(x >= 6, 6.0, relu(x))


def gelu(x: Any, approximate: bool = False) -> Value:
    """gelu(x) = x * Phi(x) = 0.5 * x * (1 + erf(x / sqrt(2))), Phi the normal CDF.

    With `approximate=True`, the tanh form 0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715
    * x**3))). The default is exact, as `keras.activations.gelu`.

    >>> import graphc
    >>> x = graphc.placeholder((2,), "float64")
    >>> graphc.Graph([x], gelu(x))([-1.0, 1.0]).round(4)
    array([-0.1587,  0.8413])
    >>> graphc.Graph([x], gelu(x, approximate=True))([-1.0, 1.0]).round(4)
    array([-0.1588,  0.8412])
    """
    x = _floating(x, "gelu")
    if approximate:
        inner = math.sqrt(2 / math.pi) * (x + 0.044715 * (x * x * x))
        return 0.5 * x * (1.0 + tanh(inner))
    return 0.5 * x * (1.0 + erf(x * (1 / math.sqrt(2))))


def silu(x: Any) -> Value:
    """silu(x) = x * sigmoid(x) (also called swish).

    >>> import graphc
    >>> x = graphc.placeholder((2,), "float64")
    >>> graphc.Graph([x], silu(x))([-1.0, 1.0]).round(4)
    array([-0.2689,  0.7311])
    """
    x = _floating(x, "silu")
    return x * sigmoid(x)


swish = silu


def hard_sigmoid(x: Any) -> Value:
    """hard_sigmoid(x) = relu6(x + 3) / 6, Keras 3's piecewise-linear sigmoid.

    >>> import graphc
    >>> x = graphc.placeholder((3,), "float64")
    >>> graphc.Graph([x], hard_sigmoid(x))([-4.0, 0.0, 1.5])
    array([0.  , 0.5 , 0.75])
    """
    return relu6(_floating(x, "hard_sigmoid") + 3.0) / 6.0


def hard_silu(x: Any) -> Value:
    """hard_silu(x) = x * hard_sigmoid(x) (also called hard_swish).

    >>> import graphc
    >>> x = graphc.placeholder((3,), "float64")
    >>> graphc.Graph([x], hard_silu(x))([-4.0, 1.5, 4.0])
    array([-0.   ,  1.125,  4.   ])
    """
    x = _floating(x, "hard_silu")
    return x * hard_sigmoid(x)


hard_swish = hard_silu


def exponential(x: Any) -> Value:
    """exponential(x) = exp(x), the activation of that name in Keras.

    >>> import graphc
    >>> exponential(graphc.placeholder((2,)))
    <Value exp : f32[2]>
    """
    return exp(x)


def linear(x: Any) -> Value:
    """linear(x) = x: the identity activation (no node is added).

    >>> import graphc
    >>> x = graphc.placeholder((2,))
    >>> linear(x) is x
    True
    """
    return as_value(x)


# --- encodings ---------------------------------------------------------------------------------


def one_hot(indices: Any, num_classes: int, dtype: DTypeLike = "float32") -> Value:
    """one_hot(i)[..., c] = 1 if i == c else 0, a new last axis of size `num_classes`.

    Built as a comparison against the constant 0..num_classes-1, so indices outside that
    range (negative ones included) give a row of zeros, as in Keras and TensorFlow.

    >>> import graphc
    >>> i = graphc.placeholder((None,), "int32")
    >>> graphc.Graph([i], one_hot(i, 3))([2, 0, 5])
    array([[0., 0., 1.],
           [1., 0., 0.],
           [0., 0., 0.]], dtype=float32)
    """
    (index,) = promote_operands(indices, op="one_hot")
    if index.dtype not in dtypes.INTEGERS:
        raise DTypeError(f"one_hot: expected integer indices, got {index.type}")
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)):
        raise ShapeError(f"one_hot: num_classes must be an int, got {num_classes!r}")
    if num_classes < 0:
        raise ShapeError(f"one_hot: num_classes must be >= 0, got {num_classes}")
    classes = constant(np.arange(num_classes, dtype=index.dtype))
    hits = equal(shape.reshape(index, (*index.shape, 1)), classes)
    return cast(hits, dtype)
