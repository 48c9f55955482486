"""Weight constraints, as `keras.constraints`: projections applied after each optimizer step.

A constraint maps a weight to its projection. It works on numpy arrays (an optimizer applying
it after an update) and on graphc Values (a training graph applying it in the step), with the
same formulas, so both paths agree.

>>> MaxNorm(max_value=1.0)(np.array([[3.0], [4.0]])).round(4).ravel().tolist()
[0.6, 0.8]
"""

from __future__ import annotations

from typing import Any

import numpy as np

import graphc
from graphc.core import Value, unwrap_symbolic
from graphc.frontend.utils.serialization import deserialize_keras_object, serialize_keras_object

EPSILON = 1e-7


def _ops(w: Any) -> Any:
    """graphc for symbolic weights, numpy for arrays: both spell these functions alike."""
    return graphc if isinstance(unwrap_symbolic(w), Value) else np


def _norms(w: Any, axis: Any) -> Any:
    xp = _ops(w)
    return xp.sqrt(xp.sum(w * w, axis=axis, keepdims=True))


class Constraint:
    """Base class: `__call__(w)` returns the projected weight; `get_config` its arguments."""

    def __call__(self, w: Any) -> Any:
        return w

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Constraint:
        return cls(**config)


class MaxNorm(Constraint):
    """Rescale each slice along `axis` so its L2 norm is at most `max_value`."""

    def __init__(self, max_value: float = 2.0, axis: Any = 0):
        self.max_value, self.axis = max_value, axis

    def __call__(self, w: Any) -> Any:
        xp = _ops(w)
        norms = _norms(w, self.axis)
        desired = xp.minimum(xp.maximum(norms, 0.0), self.max_value)
        return w * (desired / (norms + EPSILON))

    def get_config(self) -> dict[str, Any]:
        return {"max_value": self.max_value, "axis": self.axis}


class MinMaxNorm(Constraint):
    """Move each slice's L2 norm toward [min_value, max_value] at the given `rate`."""

    def __init__(
        self, min_value: float = 0.0, max_value: float = 1.0, rate: float = 1.0, axis: Any = 0
    ):
        self.min_value, self.max_value, self.rate, self.axis = min_value, max_value, rate, axis

    def __call__(self, w: Any) -> Any:
        xp = _ops(w)
        norms = _norms(w, self.axis)
        clipped = xp.minimum(xp.maximum(norms, self.min_value), self.max_value)
        desired = self.rate * clipped + (1 - self.rate) * norms
        return w * (desired / (norms + EPSILON))

    def get_config(self) -> dict[str, Any]:
        return {
            "min_value": self.min_value,
            "max_value": self.max_value,
            "rate": self.rate,
            "axis": self.axis,
        }


class NonNeg(Constraint):
    """Zero out negative weights."""

    def __call__(self, w: Any) -> Any:
        xp = _ops(w)
        return xp.where(w >= 0, w, 0.0)


class UnitNorm(Constraint):
    """Scale each slice along `axis` to unit L2 norm."""

    def __init__(self, axis: Any = 0):
        self.axis = axis

    def __call__(self, w: Any) -> Any:
        return w / (_norms(w, self.axis) + EPSILON)

    def get_config(self) -> dict[str, Any]:
        return {"axis": self.axis}


max_norm, min_max_norm, non_neg, unit_norm = MaxNorm, MinMaxNorm, NonNeg, UnitNorm
ALL_OBJECTS: dict[str, type] = {
    "MaxNorm": MaxNorm,
    "MinMaxNorm": MinMaxNorm,
    "NonNeg": NonNeg,
    "UnitNorm": UnitNorm,
    "max_norm": MaxNorm,
    "min_max_norm": MinMaxNorm,
    "non_neg": NonNeg,
    "unit_norm": UnitNorm,
}


def serialize(constraint: Any) -> Any:
    """A constraint as JSON data."""
    return serialize_keras_object(constraint)


def deserialize(config: Any, custom_objects: dict[str, Any] | None = None) -> Any:
    """The constraint described by `config`."""
    return deserialize_keras_object(config, ALL_OBJECTS, custom_objects, "constraint")


def get(identifier: Any) -> Any:
    """A constraint from a name, a config, an instance or a callable (None stays None).

    >>> type(get("non_neg")).__name__
    'NonNeg'
    """
    if identifier is None or isinstance(identifier, Constraint):
        return identifier
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret constraint identifier: {identifier!r}")
