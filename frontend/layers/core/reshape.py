"""`Reshape`: gives each sample a new shape (the batch axis is kept)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from graphc.core import Value
from graphc.frontend.layers.layer import Layer
from graphc.primitives.shape import reshape


class Reshape(Layer):
    """Reshapes each sample to `target_shape`.

    Args:
        target_shape: the per-sample shape (without the batch axis); one entry may be -1,
            inferred from the others.

    Input shape: `(batch, ...)`. Output shape: `(batch, *target_shape)`.

    >>> from graphc.frontend import Input
    >>> Reshape((4, -1))(Input((12,))).shape
    (None, 4, 3)
    """

    def __init__(self, target_shape: Sequence[int], **kwargs: Any):
        super().__init__(**kwargs)
        target = tuple(target_shape)
        if any(isinstance(d, bool) or not isinstance(d, int) or d < -1 for d in target) or (
            target.count(-1) > 1
        ):
            raise ValueError(
                f"Reshape: target_shape must be a tuple of non-negative ints with at most one "
                f"-1. Received: target_shape={target_shape!r}"
            )
        self.target_shape = target

    def call(self, inputs: Value) -> Value:
        return reshape(inputs, self.compute_output_shape(inputs.shape))

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        input_shape = tuple(input_shape)
        size = math.prod(input_shape[1:])
        target = list(self.target_shape)
        known = math.prod(d for d in target if d != -1)
        if -1 in target:
            if known == 0 or size % known:
                self._size_mismatch(input_shape)
            target[target.index(-1)] = size // known
        elif known != size:
            self._size_mismatch(input_shape)
        return (input_shape[0], *target)

    def _size_mismatch(self, input_shape: tuple) -> None:
        raise ValueError(
            f"{self._who()}: the total size of the new array must be unchanged, "
            f"input_shape = {list(input_shape[1:])}, target_shape = {list(self.target_shape)}"
        )

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "target_shape": list(self.target_shape)}
