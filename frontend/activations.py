"""Activation functions by name, as `keras.activations`: graphc composites on symbolic tensors.

Each function takes a Value (or anything graphc ops accept) and builds graph ops; `get`
resolves the names layers accept (`Dense(10, activation="relu")`), and `serialize` gives the
name a config stores.

>>> import graphc
>>> x = graphc.placeholder((None, 3))
>>> get("softmax")(x).shape, serialize(get("relu"))
((None, 3), 'relu')
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphc import nn
from graphc.core import Value
from graphc.frontend.utils.serialization import deserialize_keras_object, serialize_keras_object
from graphc.primitives.compare import where
from graphc.primitives.elementwise import minimum


def relu(
    x: Any, negative_slope: float = 0.0, max_value: float | None = None, threshold: float = 0.0
) -> Value:
    """max(x, 0), with Keras' options: a slope below `threshold`, a cap at `max_value`.

    f(x) = max_value if x >= max_value; x if threshold <= x < max_value;
    negative_slope * (x - threshold) otherwise.
    """
    if negative_slope == 0.0 and threshold == 0.0:  # +0.0 below zero, as Keras' relu6
        out = nn.relu(x)
        return out if max_value is None else minimum(out, max_value)
    x = nn.linear(x)
    out = where(x >= threshold, x, negative_slope * (x - threshold))
    return out if max_value is None else minimum(out, max_value)


def leaky_relu(x: Any, negative_slope: float = 0.2) -> Value:
    """x for x >= 0, negative_slope * x otherwise."""
    return nn.leaky_relu(x, negative_slope)


def relu6(x: Any) -> Value:
    """min(max(x, 0), 6)."""
    return nn.relu6(x)


def softmax(x: Any, axis: int = -1) -> Value:
    """exp(x) / sum(exp(x)) along `axis`, computed stably."""
    return nn.softmax(x, axis=axis)


def log_softmax(x: Any, axis: int = -1) -> Value:
    """log(softmax(x)) along `axis`, computed stably."""
    return nn.log_softmax(x, axis=axis)


def elu(x: Any, alpha: float = 1.0) -> Value:
    """x for x > 0, alpha * (exp(x) - 1) otherwise."""
    return nn.elu(x, alpha)


def selu(x: Any) -> Value:
    """Scaled elu with the self-normalizing constants."""
    return nn.selu(x)


def softplus(x: Any) -> Value:
    """log(1 + exp(x)), computed without overflow."""
    return nn.softplus(x)


def softsign(x: Any) -> Value:
    """x / (1 + |x|)."""
    return nn.softsign(x)


def silu(x: Any) -> Value:
    """x * sigmoid(x), also called swish."""
    return nn.silu(x)


def gelu(x: Any, approximate: bool = False) -> Value:
    """x * Phi(x), Phi the standard normal CDF (the tanh form with `approximate=True`)."""
    return nn.gelu(x, approximate)


def tanh(x: Any) -> Value:
    """The hyperbolic tangent."""
    return nn.tanh(x)


def sigmoid(x: Any) -> Value:
    """1 / (1 + exp(-x))."""
    return nn.sigmoid(x)


def hard_sigmoid(x: Any) -> Value:
    """relu6(x + 3) / 6, Keras 3's piecewise-linear sigmoid."""
    return nn.hard_sigmoid(x)


def hard_silu(x: Any) -> Value:
    """x * hard_sigmoid(x), also called hard_swish."""
    return nn.hard_silu(x)


def exponential(x: Any) -> Value:
    """exp(x)."""
    return nn.exponential(x)


def mish(x: Any) -> Value:
    """x * tanh(softplus(x)) (Misra, 2019)."""
    return x * nn.tanh(nn.softplus(x))


def linear(x: Any) -> Value:
    """The identity."""
    return nn.linear(x)


swish = silu
hard_swish = hard_silu

#: Every activation by name (the aliases swish and hard_swish resolve to silu and hard_silu).
ALL_OBJECTS: dict[str, Callable[..., Value]] = {
    fn.__name__: fn
    for fn in (
        relu,
        leaky_relu,
        relu6,
        softmax,
        log_softmax,
        elu,
        selu,
        softplus,
        softsign,
        silu,
        gelu,
        tanh,
        sigmoid,
        hard_sigmoid,
        hard_silu,
        exponential,
        mish,
        linear,
    )
}
ALL_OBJECTS.update({"swish": silu, "hard_swish": hard_silu})


def serialize(activation: Callable[..., Any]) -> Any:
    """The name of a built-in or registered activation; an object's config otherwise.

    >>> serialize(swish)
    'silu'
    """
    if getattr(activation, "__name__", None) in ALL_OBJECTS and (
        ALL_OBJECTS[activation.__name__] is activation
    ):
        return activation.__name__
    return serialize_keras_object(activation)


def deserialize(config: Any, custom_objects: dict[str, Any] | None = None) -> Callable[..., Any]:
    """The activation named or described by `config`."""
    return deserialize_keras_object(config, ALL_OBJECTS, custom_objects, "activation")


def get(identifier: Any) -> Callable[..., Any]:
    """An activation from a name, a config or a callable; None means `linear`.

    >>> get(None) is linear, get("swish") is silu
    (True, True)
    >>> get("rleu")
    Traceback (most recent call last):
    ...
    ValueError: Could not locate activation 'rleu'. ... Known names: elu, exponential, ...
    """
    if identifier is None:
        return linear
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret activation function identifier: {identifier!r}")
