"""`Minimum`: Takes the elementwise minimum of a list of inputs."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from graphc.core import Value
from graphc.frontend.layers.merging.base_merge import Merge
from graphc.primitives import elementwise


class Minimum(Merge):
    """Takes the elementwise minimum of a list of inputs.

    Input shape: a list of tensors whose shapes broadcast together.
    Output shape: the broadcast shape.

    >>> import numpy as np
    >>> Minimum()([np.array([[1.0, 4.0]]), np.array([[3.0, 2.0]])]).tolist()
    [[1.0, 2.0]]
    """

    def merge(self, values: list[Value]) -> Value:
        return functools.reduce(elementwise.minimum, values)


def minimum(inputs: Sequence[Any], **kwargs: Any) -> Any:
    """Functional interface to `Minimum`: `minimum([a, b])` is `Minimum()([a, b])`."""
    return Minimum(**kwargs)(inputs)
