"""`Add`: Adds a list of inputs elementwise."""

from __future__ import annotations

import functools
import operator
from collections.abc import Sequence
from typing import Any

from graphc.core import Value
from graphc.frontend.layers.merging.base_merge import Merge


class Add(Merge):
    """Adds a list of inputs elementwise.

    Input shape: a list of tensors whose shapes broadcast together.
    Output shape: the broadcast shape.

    >>> import numpy as np
    >>> Add()([np.array([[1.0, 4.0]]), np.array([[3.0, 2.0]])]).tolist()
    [[4.0, 6.0]]
    """

    def merge(self, values: list[Value]) -> Value:
        return functools.reduce(operator.add, values)


def add(inputs: Sequence[Any], **kwargs: Any) -> Any:
    """Functional interface to `Add`: `add([a, b])` is `Add()([a, b])`."""
    return Add(**kwargs)(inputs)
