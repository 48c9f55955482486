"""`Subtract`: Subtracts the second input from the first, elementwise (exactly two inputs)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graphc.core import Value
from graphc.frontend.layers.merging.base_merge import Merge


class Subtract(Merge):
    """Subtracts the second input from the first, elementwise (exactly two inputs).

    Input shape: a list of tensors whose shapes broadcast together.
    Output shape: the broadcast shape.

    >>> import numpy as np
    >>> Subtract()([np.array([[1.0, 4.0]]), np.array([[3.0, 2.0]])]).tolist()
    [[-2.0, 2.0]]
    """

    num_inputs = 2

    def merge(self, values: list[Value]) -> Value:
        return values[0] - values[1]


def subtract(inputs: Sequence[Any], **kwargs: Any) -> Any:
    """Functional interface to `Subtract`: `subtract([a, b])` is `Subtract()([a, b])`."""
    return Subtract(**kwargs)(inputs)
