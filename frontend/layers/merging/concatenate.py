"""`Concatenate`: joins a list of inputs along one axis."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from graphc.core import Value
from graphc.errors import ShapeError
from graphc.frontend.layers.merging.base_merge import Merge
from graphc.primitives.shape import broadcast_to
from graphc.primitives.shape import concatenate as concatenate_values


class Concatenate(Merge):
    """Concatenates a list of inputs along `axis`.

    All other axes must match. Masks: along the last axis the output step is valid where all
    inputs are; along another axis the masks are concatenated too.

    Args:
        axis: the concatenation axis (default -1); it may not be the batch axis.

    Input shape: a list of tensors of equal rank. Output shape: the same with the `axis`
    sizes summed.

    >>> from graphc.frontend import Input
    >>> Concatenate()([Input((3,)), Input((5,))]).shape
    (None, 8)
    """

    def __init__(self, axis: int = -1, **kwargs: Any):
        super().__init__(**kwargs)
        self.axis = axis

    def merge(self, values: list[Value]) -> Value:
        return concatenate_values(values, axis=self.axis)

    def compute_output_shape(self, input_shape: Sequence[tuple]) -> tuple:
        shapes = [tuple(s) for s in self._check_inputs(input_shape)]
        rank = len(shapes[0])
        axis = self.axis % rank if rank else 0
        others = {s[:axis] + s[axis + 1 :] for s in shapes}
        if any(len(s) != rank for s in shapes) or len(others) != 1:
            raise ShapeError(
                f"{self._who()}: a `Concatenate` layer requires inputs with matching shapes "
                f"except for the concatenation axis. Received: input_shape={shapes}"
            )
        sizes = [s[axis] for s in shapes]
        total = None if None in sizes else sum(sizes)
        return (*shapes[0][:axis], total, *shapes[0][axis + 1 :])

    def compute_mask(self, inputs: Any, previous_mask: Any = None) -> Value | None:
        if previous_mask is None or all(m is None for m in previous_mask):
            return None
        rank = inputs[0].ndim
        if self.axis % rank == rank - 1:
            return super().compute_mask(inputs, previous_mask)
        filled = [
            broadcast_to(np.array(True), x.shape[:-1]) if m is None else m
            for x, m in zip(inputs, previous_mask)
        ]
        return concatenate_values(filled, axis=self.axis % rank)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}


def concatenate(inputs: Sequence[Any], axis: int = -1, **kwargs: Any) -> Any:
    """Functional interface to `Concatenate`: `concatenate([a, b], axis)`."""
    return Concatenate(axis=axis, **kwargs)(inputs)
