"""Weight regularizers (L1, L2, L1L2), as `keras.regularizers`: penalties built as graph ops.

A regularizer is called on a weight (a Variable stands for its symbol) and returns a scalar
Value; `layer.losses` collects them so the training step adds them to the loss.

>>> import graphc
>>> from graphc.frontend.variables import Variable
>>> w = Variable(np.array([[1.0, -2.0]]), name="w")
>>> penalty = L1L2(l1=0.1, l2=0.5)(w)
>>> float(graphc.Graph([w.symbol], penalty)(w.numpy()))
2.8
"""

from __future__ import annotations

from typing import Any

import numpy as np

from graphc.core import Value
from graphc.frontend.utils.serialization import deserialize_keras_object, serialize_keras_object
from graphc.primitives.elementwise import abs as abs_
from graphc.primitives.reduce import sum as sum_


def _validate(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or value < 0:
        raise ValueError(
            f"Invalid value for argument {name}: expected a non-negative float. "
            f"Received: {name}={value!r}"
        )
    return float(value)


class Regularizer:
    """Base class: subclasses implement `__call__(weight) -> scalar Value` and `get_config`."""

    def __call__(self, x: Any) -> Value:
        raise TypeError(f"{type(self).__name__} must define __call__(x)")

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Regularizer:
        return cls(**config)


class L1L2(Regularizer):
    """l1 * sum(|x|) + l2 * sum(x**2); Keras 3's defaults are 0 for both."""

    def __init__(self, l1: float = 0.0, l2: float = 0.0):
        self.l1 = _validate("l1", l1)
        self.l2 = _validate("l2", l2)

    def __call__(self, x: Any) -> Value:
        terms = []
        if self.l1:
            terms.append(self.l1 * sum_(abs_(x)))
        if self.l2:
            terms.append(self.l2 * sum_(x * x))
        if not terms:
            return sum_(x) * 0.0
        return terms[0] if len(terms) == 1 else terms[0] + terms[1]

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    """l1 * sum(|x|), default l1=0.01."""

    def __init__(self, l1: float = 0.01):
        super().__init__(l1=l1)

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1}


class L2(L1L2):
    """l2 * sum(x**2), default l2=0.01."""

    def __init__(self, l2: float = 0.01):
        super().__init__(l2=l2)

    def get_config(self) -> dict[str, Any]:
        return {"l2": self.l2}


l1, l2, l1_l2 = L1, L2, L1L2
ALL_OBJECTS: dict[str, type] = {
    "L1": L1,
    "L2": L2,
    "L1L2": L1L2,
    "l1": L1,
    "l2": L2,
    "l1_l2": L1L2,
}


def serialize(regularizer: Any) -> Any:
    """A regularizer as JSON data."""
    return serialize_keras_object(regularizer)


def deserialize(config: Any, custom_objects: dict[str, Any] | None = None) -> Any:
    """The regularizer described by `config`."""
    return deserialize_keras_object(config, ALL_OBJECTS, custom_objects, "regularizer")


def get(identifier: Any) -> Any:
    """A regularizer from a name ("l1", "l2", "l1_l2"), a config, an instance or a callable.

    >>> get("l2").l2, get(None)
    (0.01, None)
    """
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret regularizer identifier: {identifier!r}")
