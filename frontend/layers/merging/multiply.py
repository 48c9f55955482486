"""`Multiply`: Multiplies a list of inputs elementwise."""

from __future__ import annotations

import functools
import operator
from collections.abc import Sequence
from typing import Any

from graphc.core import Value
from graphc.frontend.layers.merging.base_merge import Merge


class Multiply(Merge):
    """Multiplies a list of inputs elementwise.

    Input shape: a list of tensors whose shapes broadcast together.
    Output shape: the broadcast shape.

    >>> import numpy as np
    >>> Multiply()([np.array([[1.0, 4.0]]), np.array([[3.0, 2.0]])]).tolist()
    [[3.0, 8.0]]
    """

    def merge(self, values: list[Value]) -> Value:
        return functools.reduce(operator.mul, values)


def multiply(inputs: Sequence[Any], **kwargs: Any) -> Any:
    """Functional interface to `Multiply`: `multiply([a, b])` is `Multiply()([a, b])`."""
    return Multiply(**kwargs)(inputs)
