"""`Maximum`: Takes the elementwise maximum of a list of inputs."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from graphc.core import Value
from graphc.frontend.layers.merging.base_merge import Merge
from graphc.primitives import elementwise


class Maximum(Merge):
    """Takes the elementwise maximum of a list of inputs.

    Input shape: a list of tensors whose shapes broadcast together.
    Output shape: the broadcast shape.

    >>> import numpy as np
    >>> Maximum()([np.array([[1.0, 4.0]]), np.array([[3.0, 2.0]])]).tolist()
    [[3.0, 4.0]]
    """

    def merge(self, values: list[Value]) -> Value:
        return functools.reduce(elementwise.maximum, values)


def maximum(inputs: Sequence[Any], **kwargs: Any) -> Any:
    """Functional interface to `Maximum`: `maximum([a, b])` is `Maximum()([a, b])`."""
    return Maximum(**kwargs)(inputs)
